"""What every operation receives: the request as it arrived and what serves it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import anyio.to_thread
from sqlalchemy.engine import Connection, Engine
from starlette.responses import Response

from orderitems.api.deadline import WorkLimits, run_bounded
from orderitems.api.request_body import DecodedBody
from orderitems.settings import Settings

T = TypeVar("T")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Call:
    """One API call: what arrived and what serves it."""

    settings: Settings
    engine: Engine
    #: The body, decoded once by the dispatcher; operations read nothing else of it.
    decoded: DecodedBody
    request_id: str
    prefer_minimal: bool
    #: The server's notion of now; every timestamp an operation writes comes from here.
    clock: Callable[[], datetime] = system_clock
    #: The deadline on database work (408); None only where no server runs (unit tests).
    limits: WorkLimits | None = None

    async def run(self, work: Callable[[Connection], T], *, read: bool = True) -> T:
        """Run database work on a worker thread with a connection of its own.

        Every operation goes through here, so limits on database work apply in one place:
        past the deadline the running statement is cancelled and the call answers 408. A
        ``read`` whose connection is lost under it runs once more on a fresh connection.
        """
        if self.limits is not None:
            return await run_bounded(self.engine, work, self.limits, retry=read)

        def in_thread() -> T:
            with self.engine.connect() as connection:
                return work(connection)

        return await anyio.to_thread.run_sync(in_thread)


Operation = Callable[[Call], Awaitable[Response]]
