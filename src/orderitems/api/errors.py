"""The one map from domain errors to HTTP statuses and the error body (docs/behaviour.md#errors)."""

from __future__ import annotations

import logging

import msgspec
from starlette.responses import Response

from orderitems.domain.errors import (
    DeadlineExceeded,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

STATUS: dict[type[DomainError], int] = {
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    DeadlineExceeded: 408,
    PayloadTooLarge: 413,
    RateLimited: 429,
    RequestTimeout: 408,
    Unavailable: 503,
}


class ErrorBody(msgspec.Struct, rename="pascal"):
    """``ConnectorApiExceptionResult``."""

    message: str
    request_id: str
    details: dict[str, object] | None = None


_encoder = msgspec.json.Encoder()


def status_for(exc: DomainError) -> int:
    return next(STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS)


def error_response(
    status: int, message: str, request_id: str, details: dict[str, object] | None = None
) -> Response:
    body = _encoder.encode(ErrorBody(message=message, request_id=request_id, details=details))
    return Response(body, status_code=status, media_type="application/json")


def domain_error_response(exc: DomainError, request_id: str, *, development: bool) -> Response:
    details: dict[str, object] | None = None
    if development:
        details = {"Field": exc.field, "Problems": exc.problems or [exc.message]}
    response = error_response(status_for(exc), exc.message, request_id, details)
    if isinstance(exc, RateLimited | Unavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def server_error_response(exc: BaseException, request_id: str, *, development: bool) -> Response:
    """A genuine fault: logged with the request id; no stack trace leaves development mode."""
    log.exception("unhandled error rid=%s", request_id, exc_info=exc)
    details: dict[str, object] | None = {"Exception": repr(exc)} if development else None
    return error_response(
        500, f"An unexpected error occurred; quote request id {request_id}.", request_id, details
    )
