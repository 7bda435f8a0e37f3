"""The sandbox's shared state (docs/behaviour.md#faults-and-sandbox): faults, clock, drill,
request log.

In SQL (state/sandbox_sql.py) or Redis (state/redis_state.py), never in a process's memory, so
``serve --workers N`` behaves as one server. Request-log labels come from the main database's
tokens either way.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, TypeVar

import anyio.to_thread
import msgspec
from sqlalchemy.engine import Connection, Engine

from orderitems.state import sandbox_sql as store
from orderitems.state.failures import sql_state
from orderitems.state.records import (
    SYSTEM_CLOCK,
    ClockSetting,
    DrillSetting,
    FaultRule,
    LoggedRequest,
)
from orderitems.state.redis_state import RedisState
from orderitems.store.tokens import token_labels

CLOCK = "clock"
DRILL = "drill"

T = TypeVar("T")


def roll(percent: float) -> bool:
    """A percentage fault applies to this request with probability ``percent`` / 100."""
    return percent >= 100 or random.random() * 100 < percent


async def labelled(database: Engine, entries: list[LoggedRequest]) -> list[LoggedRequest]:
    """Each line with its token's label, read from the main database's tokens."""
    hashes = [e.token_hash for e in entries if e.token_hash is not None]
    if not hashes:
        return entries

    def read() -> dict[bytes, str]:
        with sql_state(), database.connect() as connection:
            return token_labels(connection, hashes)

    found = await anyio.to_thread.run_sync(read)
    return [
        replace(e, token_label=None if e.token_hash is None else found.get(e.token_hash))
        for e in entries
    ]


def _matches(rule: FaultRule, operation: str | None, token_hash: bytes | None) -> bool:
    return (rule.operation is None or rule.operation == operation) and (
        rule.token_hash is None or rule.token_hash == token_hash
    )


#: What a sandboxed request gets: its fault (if any), the clock, and its drill (if any).
Prepared = tuple[FaultRule | None, ClockSetting, DrillSetting | None]


def _drill_for(
    drill: DrillSetting | None, operation: str | None, token_hash: bytes | None
) -> DrillSetting | None:
    return drill if drill is not None and drill.applies_to(operation, token_hash) else None


class SandboxState(Protocol):
    async def prepare(self, operation: str | None, token_hash: bytes | None) -> Prepared:
        """The fault this request gets, if any (used up once when counted), the clock, and
        the drill when one applies to this operation and token."""
        ...

    async def add_fault(self, rule: FaultRule) -> FaultRule: ...
    async def faults(self) -> list[FaultRule]: ...
    async def remove_fault(self, fault_id: int) -> bool: ...
    async def clear_faults(self) -> None: ...
    async def clock(self) -> ClockSetting: ...
    async def set_clock(self, clock: ClockSetting | None) -> None: ...
    async def drill(self) -> DrillSetting | None: ...
    async def set_drill(self, drill: DrillSetting | None) -> None: ...
    async def log(self, entry: LoggedRequest) -> None: ...
    async def requests(self, limit: int) -> list[LoggedRequest]: ...
    async def clear_requests(self) -> None: ...
    async def clear(self) -> None:
        """Forget every fault, the clock, the drill and the log (the sandbox reset)."""
        ...


class DatabaseSandbox:
    """Sandbox state in SQL tables (state/sandbox_sql.py) of ``engine``, the state database;
    request-log labels from ``database``, the main one (the same engine on PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        database: Engine,
        *,
        keep: int,
        chance: Callable[[float], bool] = roll,
    ) -> None:
        self.engine = engine
        self.database = database
        self.keep = keep
        self.chance = chance

    async def _in_transaction(self, work: Callable[..., T], *args: object) -> T:
        def run() -> T:
            with sql_state(), self.engine.begin() as connection:
                return work(connection, *args)

        return await anyio.to_thread.run_sync(run)

    async def prepare(self, operation: str | None, token_hash: bytes | None) -> Prepared:
        def work(connection: Connection) -> Prepared:
            fault = store.take_fault(
                connection, operation=operation, token_hash=token_hash, roll=self.chance
            )
            clock = _decode_clock(store.read_value(connection, CLOCK))
            drill = _decode_drill(store.read_value(connection, DRILL))
            return fault, clock, _drill_for(drill, operation, token_hash)

        return await self._in_transaction(work)

    async def add_fault(self, rule: FaultRule) -> FaultRule:
        return replace(rule, id=await self._in_transaction(store.add_fault, rule))

    async def faults(self) -> list[FaultRule]:
        return await self._in_transaction(store.list_faults)

    async def remove_fault(self, fault_id: int) -> bool:
        return await self._in_transaction(store.remove_fault, fault_id)

    async def clear_faults(self) -> None:
        await self._in_transaction(store.clear_faults)

    async def clock(self) -> ClockSetting:
        return _decode_clock(await self._in_transaction(store.read_value, CLOCK))

    async def set_clock(self, clock: ClockSetting | None) -> None:
        value = None if clock is None or clock == SYSTEM_CLOCK else _encode_clock(clock)
        await self._in_transaction(store.write_value, CLOCK, value)

    async def drill(self) -> DrillSetting | None:
        return _decode_drill(await self._in_transaction(store.read_value, DRILL))

    async def set_drill(self, drill: DrillSetting | None) -> None:
        value = None if drill is None else msgspec.json.encode(drill).decode()
        await self._in_transaction(store.write_value, DRILL, value)

    async def log(self, entry: LoggedRequest) -> None:
        def work(connection: Connection) -> None:
            store.append_request(connection, entry, keep=self.keep)

        await self._in_transaction(work)

    async def requests(self, limit: int) -> list[LoggedRequest]:
        return await labelled(
            self.database, await self._in_transaction(store.recent_requests, limit)
        )

    async def clear_requests(self) -> None:
        await self._in_transaction(store.clear_requests)

    async def clear(self) -> None:
        def work(connection: Connection) -> None:
            store.clear_faults(connection)
            store.clear_requests(connection)
            store.write_value(connection, CLOCK, None)
            store.write_value(connection, DRILL, None)

        await self._in_transaction(work)


def _encode_clock(clock: ClockSetting) -> str:
    return msgspec.json.encode(clock).decode()


def _decode_clock(value: str | None) -> ClockSetting:
    return SYSTEM_CLOCK if value is None else msgspec.json.decode(value, type=ClockSetting)


def _decode_drill(value: str | None) -> DrillSetting | None:
    return None if value is None else msgspec.json.decode(value, type=DrillSetting)


class RedisSandbox:
    """Sandbox state in Redis; request-log labels still come from the database's tokens."""

    def __init__(
        self,
        state: RedisState,
        database: Engine,
        *,
        keep: int,
        chance: Callable[[float], bool] = roll,
    ) -> None:
        self.state = state
        self.database = database
        self.keep = keep
        self.chance = chance

    async def prepare(self, operation: str | None, token_hash: bytes | None) -> Prepared:
        rules, clock, drill = await self.state.faults_clock_and_drill()
        drill = _drill_for(drill, operation, token_hash)
        for rule in rules:
            if rule.remaining == 0 or not _matches(rule, operation, token_hash):
                continue
            if not self.chance(rule.percent):
                continue
            if rule.remaining is None or await self.state.use_once(rule.id):
                return rule, clock, drill
        return None, clock, drill

    async def add_fault(self, rule: FaultRule) -> FaultRule:
        return await self.state.add_fault(rule)

    async def faults(self) -> list[FaultRule]:
        return await self.state.faults()

    async def remove_fault(self, fault_id: int) -> bool:
        return await self.state.remove_fault(fault_id)

    async def clear_faults(self) -> None:
        await self.state.clear_faults()

    async def clock(self) -> ClockSetting:
        return await self.state.clock()

    async def set_clock(self, clock: ClockSetting | None) -> None:
        await self.state.set_clock(clock)

    async def drill(self) -> DrillSetting | None:
        return await self.state.drill()

    async def set_drill(self, drill: DrillSetting | None) -> None:
        await self.state.set_drill(drill)

    async def log(self, entry: LoggedRequest) -> None:
        await self.state.append_request(entry, keep=self.keep)

    async def requests(self, limit: int) -> list[LoggedRequest]:
        return await labelled(self.database, await self.state.recent_requests(limit))

    async def clear_requests(self) -> None:
        await self.state.clear_requests()

    async def clear(self) -> None:
        await self.state.clear_faults()
        await self.state.clear_requests()
        await self.state.set_clock(None)
        await self.state.set_drill(None)
