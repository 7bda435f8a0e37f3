"""What every operation receives: the request as it arrived and what serves it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from starlette.responses import Response

from orderitems.settings import Settings


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: what arrived and what serves it."""

    settings: Settings
    engine: Engine
    body: bytes
    request_id: str
    prefer_minimal: bool


Operation = Callable[[Call], Awaitable[Response]]
