"""What the request log keeps of one request for the console, with its tokens masked.

The console shows what a client sent and what came back; stored bodies hold access and client
tokens, which must never be shown again (docs/behaviour.md#admin-token), except the public
Mews demo tokens, which Mews publishes. Bodies are masked before they are stored, so neither
the log's store nor any answer of the admin API ever holds a secret token.
"""

from __future__ import annotations

import re

import msgspec

from orderitems.api.wire import Wire
from orderitems.fixtures.demo import DEMO_TOKENS

#: Published by Mews for its demo environment (and ours): shown as they are.
PUBLIC_TOKENS = frozenset(
    {token.access_token for token in DEMO_TOKENS} | {token.client_token for token in DEMO_TOKENS}
)
SECRET_NAMES = frozenset({"accesstoken", "clienttoken"})
#: Stored characters of a request body and of a response.
BODY_LIMIT = 8192
EXCERPT_LIMIT = 2048
MASK = "••••"

# A token property in text that is not valid JSON: its name, then its string up to a closing
# quote or the end of the text.
_SECRET_IN_TEXT = re.compile(
    r'("(?:access|client)token"\s*:\s*")((?:[^"\\]|\\.)*)', re.IGNORECASE | re.DOTALL
)


class WindowAtRefusal(Wire, frozen=True):
    """The token's rate-limit window when the limiter refused it (a 429 of its own)."""

    used: int
    limit: int
    window_seconds: float
    oldest_leaves_in_seconds: int


class RequestDetail(Wire, frozen=True):
    request_body: str
    request_bytes: int
    response_excerpt: str
    response_bytes: int
    items: int | None = None
    field: str | None = None
    problems: list[str] | None = None
    window: WindowAtRefusal | None = None


def mask_token(value: str) -> str:
    """A public demo token as it is; any other keeps its last 4 characters of 16 or more."""
    if value in PUBLIC_TOKENS:
        return value
    return MASK + value[-4:] if len(value) >= 16 else MASK


def _mask_values(value: object, found: list[str]) -> object:
    if isinstance(value, dict):
        masked: dict[object, object] = {}
        for key, inner in value.items():
            if isinstance(key, str) and key.lower() in SECRET_NAMES and isinstance(inner, str):
                found.append(inner)
                masked[key] = mask_token(inner)
            else:
                masked[key] = _mask_values(inner, found)
        return masked
    if isinstance(value, list):
        return [_mask_values(inner, found) for inner in value]
    return value


def masked_body(body: bytes) -> str:
    """The body as text, every AccessToken and ClientToken masked, at most ``BODY_LIMIT``."""
    found: list[str] = []
    try:
        text = msgspec.json.encode(_mask_values(msgspec.json.decode(body), found)).decode()
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError, TypeError):
        text = body.decode("utf-8", errors="replace")

        def hide(match: re.Match[str]) -> str:
            found.append(match.group(2))
            return match.group(1) + mask_token(match.group(2))

        text = _SECRET_IN_TEXT.sub(hide, text)
    # The same secret elsewhere in the body (pasted into another property, say) goes too.
    for secret in sorted({s for s in found if len(s) >= 4 and s not in PUBLIC_TOKENS}, key=len):
        text = text.replace(secret, mask_token(secret))
    return text[:BODY_LIMIT]


class _Page(msgspec.Struct):
    OrderItems: list[msgspec.Raw] | None = None


def items_in(response: bytes) -> int | None:
    """How many items a page answer holds; None for any other answer."""
    if not response.startswith(b'{"OrderItems"'):
        return None
    try:
        page = msgspec.json.decode(response, type=_Page)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return None if page.OrderItems is None else len(page.OrderItems)


def request_detail(
    body: bytes,
    response: bytes,
    *,
    field: str | None = None,
    problems: list[str] | None = None,
    window: WindowAtRefusal | None = None,
) -> str:
    """The stored JSON text of one request's detail."""
    excerpt = response[:EXCERPT_LIMIT].decode("utf-8", errors="replace")
    detail = RequestDetail(
        request_body=masked_body(body),
        request_bytes=len(body),
        response_excerpt=excerpt,
        response_bytes=len(response),
        items=items_in(response),
        field=field,
        problems=problems,
        window=window,
    )
    return msgspec.json.encode(detail).decode()


def read_detail(stored: str | None) -> RequestDetail | None:
    if stored is None:
        return None
    try:
        return msgspec.json.decode(stored, type=RequestDetail)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
