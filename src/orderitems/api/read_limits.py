"""How long and how much a client may take to send a request (docs/behaviour.md#limits).

The app reads bodies itself, so it times them (408 with the error body); the request line and
headers arrive before the app is called, so the HTTP server's protocol (``cli/protocol.py``)
enforces those limits, reading them from the ASGI lifespan state the app yields at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderitems.settings import Settings

#: Key of the app's ``ReadLimits`` in the ASGI lifespan state.
READ_LIMITS_STATE = "orderitems.read_limits"


@dataclass(frozen=True, slots=True)
class ReadLimits:
    header_seconds: float
    body_seconds: float
    max_header_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(
            header_seconds=settings.header_timeout_seconds,
            body_seconds=settings.body_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
        )


DEFAULT_READ_LIMITS = ReadLimits.from_settings(Settings())
