"""What the client raises. Every failure the API reports is an ``ApiError``::

    ClientError                 anything this package raises on purpose
    ├── ApiError                the API answered with an error status (status, message, request_id)
    │   ├── BadRequest          400: the request is wrong; never retried
    │   ├── Unauthorized        401: ClientToken or AccessToken refused; never retried
    │   ├── Forbidden           403: a business rule or enterprise scope refused it; never retried
    │   ├── NotFound            404: wrong base URL or path
    │   ├── Timeout             408: still timing out after the client made its batches smaller
    │   ├── RateLimited         429: still limited after the configured retries (retry_after)
    │   └── ServerError         5xx: still failing after the configured retries
    ├── ConnectionFailed        no answer at all (DNS, refused, reset, read timeout) after retries
    └── InvalidResponse         a 2xx answer whose body is not what the operation returns

Quote ``request_id`` to the API's support: it is the ``Request-Id`` the server logged.
"""

from __future__ import annotations

from typing import Any

import msgspec

_decoder = msgspec.json.Decoder()


class ClientError(Exception):
    """Base of everything the client raises on purpose."""


class ApiError(ClientError):
    """The API answered with an error status.

    Attributes:
        status: the HTTP status code.
        message: the error body's ``Message`` (or the status line when the body has none).
        request_id: the error body's ``RequestId``, else the ``Request-Id`` header, else None.
        details: the error body's ``Details`` (filled by development servers only).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        request_id: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(status, message, request_id)
        self.status = status
        self.message = message
        self.request_id = request_id
        self.details = details

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status} {self.message}{rid}"


class BadRequest(ApiError):
    """400: the request is malformed or names something that does not exist."""


class Unauthorized(ApiError):
    """401: a token is unknown, expired or disabled, or may not use this operation."""


class Forbidden(ApiError):
    """403: well formed, but refused (for example an enterprise outside the token's scope)."""


class NotFound(ApiError):
    """404: no such operation at this address; check the base URL."""


class Timeout(ApiError):
    """408: the server could not prepare the data in time, even for the smallest batch."""


class RateLimited(ApiError):
    """429: too many requests, still after every retry the policy allowed.

    Attributes:
        retry_after: seconds the server asked to wait, or None when it did not say.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        request_id: str | None = None,
        details: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, message, request_id=request_id, details=details)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the server failed, still after every retry the policy allowed."""


class ConnectionFailed(ClientError):
    """No HTTP answer at all, still after every retry the policy allowed."""


class InvalidResponse(ClientError):
    """A success status whose body does not have the operation's shape."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    408: Timeout,
    429: RateLimited,
}


def error_for(
    status: int,
    content: bytes,
    *,
    request_id: str | None = None,
    reason: str = "",
    retry_after: float | None = None,
) -> ApiError:
    """The exception for an error answer, reading ``{Message, RequestId, Details}`` if present."""
    message, details = "", None
    try:
        body = _decoder.decode(content) if content else None
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("Message") or "")
        request_id = str(body.get("RequestId") or "") or request_id
        details = body.get("Details")
    if not message:
        text = content.decode("utf-8", "replace").strip()[:200]
        message = text or reason or "no message"
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if kind is RateLimited:
        return RateLimited(
            status, message, request_id=request_id, details=details, retry_after=retry_after
        )
    return kind(status, message, request_id=request_id, details=details)
