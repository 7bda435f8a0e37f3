"""Sandbox state in SQL: injected faults, named values (the clock), the request log.

Used when no Redis is configured, in the state database (state/shared.py). Each change is one
atomic statement (a fault's remaining count is decremented only while positive), so any number
of server processes share it.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.state.records import FaultRule, LoggedRequest
from orderitems.store.schema import request_log, sandbox_faults, sandbox_values


def _fault(row: sa.Row[tuple[object, ...]]) -> FaultRule:
    values = row._mapping
    return FaultRule(**{name: values[name] for name in FaultRule.__dataclass_fields__})


def add_fault(connection: Connection, rule: FaultRule) -> int:
    values = {n: getattr(rule, n) for n in FaultRule.__dataclass_fields__ if n != "id"}
    key = connection.execute(sandbox_faults.insert().values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def list_faults(connection: Connection) -> list[FaultRule]:
    rows = connection.execute(sa.select(sandbox_faults).order_by(sandbox_faults.c.id))
    return [_fault(row) for row in rows]


def remove_fault(connection: Connection, fault_id: int) -> bool:
    result = connection.execute(sandbox_faults.delete().where(sandbox_faults.c.id == fault_id))
    return result.rowcount > 0


def clear_faults(connection: Connection) -> None:
    connection.execute(sandbox_faults.delete())


def take_fault(
    connection: Connection,
    *,
    operation: str | None,
    token_hash: bytes | None,
    roll: Callable[[float], bool],
) -> FaultRule | None:
    """The first live rule that matches and wins its ``roll``; a counted rule is used up once."""
    live = (sandbox_faults.c.remaining.is_(None)) | (sandbox_faults.c.remaining > 0)
    matches_operation: sa.ColumnElement[bool] = sandbox_faults.c.operation.is_(None)
    if operation is not None:
        matches_operation = matches_operation | (sandbox_faults.c.operation == operation)
    matches_token: sa.ColumnElement[bool] = sandbox_faults.c.token_hash.is_(None)
    if token_hash is not None:
        matches_token = matches_token | (sandbox_faults.c.token_hash == token_hash)
    rows = connection.execute(
        sa.select(sandbox_faults)
        .where(live, matches_operation, matches_token)
        .order_by(sandbox_faults.c.id)
    )
    for rule in [_fault(row) for row in rows]:
        if not roll(rule.percent):
            continue
        if rule.remaining is None or _use_once(connection, rule.id):
            return rule
    return None


def _use_once(connection: Connection, fault_id: int) -> bool:
    """Atomic across processes: the decrement happens only while the count is positive."""
    result = connection.execute(
        sandbox_faults.update()
        .where(sandbox_faults.c.id == fault_id, sandbox_faults.c.remaining > 0)
        .values(remaining=sandbox_faults.c.remaining - 1)
    )
    return result.rowcount == 1


def read_value(connection: Connection, name: str) -> str | None:
    return connection.execute(
        sa.select(sandbox_values.c.value).where(sandbox_values.c.name == name)
    ).scalar_one_or_none()


def write_value(connection: Connection, name: str, value: str | None) -> None:
    """Replace (or with None, remove) one named value."""
    connection.execute(sandbox_values.delete().where(sandbox_values.c.name == name))
    if value is not None:
        connection.execute(sandbox_values.insert().values(name=name, value=value))


#: The log is trimmed to its size once in this many lines (so it briefly holds a few more).
TRIM_EVERY = 50


def append_request(connection: Connection, entry: LoggedRequest, *, keep: int) -> None:
    """Log one request; now and then forget all but the newest ``keep``.

    On PostgreSQL the commit does not wait for the disk: a crash may lose the last lines of a
    sandbox's log, and every sandboxed request is spared a flush.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.set_config("synchronous_commit", "off", True)))
    values = {n: getattr(entry, n) for n in LoggedRequest.__dataclass_fields__}
    del values["token_label"]
    key = connection.execute(request_log.insert().values(**values)).inserted_primary_key
    assert key is not None
    if int(key[0]) % TRIM_EVERY == 0:
        connection.execute(request_log.delete().where(request_log.c.id <= int(key[0]) - keep))


def recent_requests(connection: Connection, limit: int) -> list[LoggedRequest]:
    """Newest first, unlabelled (token labels live in the main database's tokens)."""
    rows = connection.execute(sa.select(request_log).order_by(request_log.c.id.desc()).limit(limit))
    names = [n for n in LoggedRequest.__dataclass_fields__ if n != "token_label"]
    return [LoggedRequest(**{n: row._mapping[n] for n in names}) for row in rows]


def clear_requests(connection: Connection) -> None:
    connection.execute(request_log.delete())
