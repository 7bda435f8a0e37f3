"""An operation's request body: its declared media type, and its one decoding.

The dispatcher decodes the body once, before the sandbox and the limiter look at it; the
limiter keys on, the sandbox matches and the operation authenticates with the very same
``AccessToken`` value (docs/behaviour.md#envelope). Nothing else parses the body: an operation
asks the ``DecodedBody`` for its typed request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from orderitems.api.wire import Wire, convert_request, normalise_body
from orderitems.domain.errors import InvalidInput

RequestT = TypeVar("RequestT", bound=Wire)

MEDIA_TYPE = "application/json"
#: The only charset a JSON body may declare (RFC 8259: JSON exchanged between systems is UTF-8).
CHARSETS = frozenset({"utf-8", "utf8"})
_SHOWN = 100


def check_content_type(header: str | None) -> None:
    """``application/json``, with or without ``charset=utf-8``; anything else or nothing is a
    400 (docs/behaviour.md#envelope; ``lenient_content_type`` skips this check)."""
    if header is None or not header.strip():
        raise InvalidInput(
            "Invalid Content-Type: none was given; send the body as JSON with"
            " 'Content-Type: application/json'.",
            field="Content-Type",
        )
    media_type, *parameters = header.split(";")
    if media_type.strip().lower() != MEDIA_TYPE:
        raise InvalidInput(
            f"Invalid Content-Type: {header[:_SHOWN]!r} is not accepted; send the body as JSON"
            " with 'Content-Type: application/json'.",
            field="Content-Type",
        )
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in CHARSETS:
            raise InvalidInput(
                f"Invalid Content-Type: {header[:_SHOWN]!r} declares another charset; the body"
                " must be UTF-8 ('Content-Type: application/json; charset=utf-8').",
                field="Content-Type",
            )


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """A body decoded once: its AccessToken for the limiter and the sandbox, and the typed
    request or the 400 the operation answers with."""

    #: A non-empty string, else None: such a body is the operation's 400, never counted.
    access_token: str | None
    decoded: Wire | None
    error: InvalidInput | None

    def request(self, request_type: type[RequestT]) -> RequestT:
        """The typed request, or the body's 400."""
        if self.error is not None:
            raise self.error
        assert isinstance(self.decoded, request_type), "decoded for another operation"
        return self.decoded


def decode_body(body: bytes, request_type: type[Wire], *, strict: bool) -> DecodedBody:
    """Decode ``body`` as ``request_type``; a problem is kept for the operation to raise.

    The AccessToken is read from the normalised body the typed request is made of, so a body
    whose property names cannot be read one way (two spellings, or under ``strict_json`` an
    unknown one) has none; one whose values are invalid still has it and is counted.
    """
    try:
        normalised = normalise_body(body, request_type, strict=strict)
    except InvalidInput as exc:
        return DecodedBody(access_token=None, decoded=None, error=exc)
    token = normalised.get("AccessToken")
    access_token = token if isinstance(token, str) and token else None
    try:
        request = convert_request(normalised, request_type)
    except InvalidInput as exc:
        return DecodedBody(access_token=access_token, decoded=None, error=exc)
    return DecodedBody(access_token=access_token, decoded=request, error=None)
