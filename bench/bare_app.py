"""The practical ceiling: a bare ASGI app doing only what a getAll page cannot avoid.

Parse the body, run the same two-phase keyset query (keys from the covering index, then the
stored documents by primary key), join the documents into the response. No framework, no
validation beyond decoding, tokens mapped to enterprises from a table read at start-up, no
thread hop (SQLite runs on the event loop; PostgreSQL through an async driver). Served by the
same server software as ours: ``uvicorn --http httptools --loop uvloop`` or Granian.

Environment: ``BARE_DATABASE_URL`` and ``BARE_DRIVER`` (``sqlite``, ``psycopg``, ``asyncpg``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec

from orderitems.domain.query import ItemQuery, TimeInterval
from orderitems.store.dialect import POSTGRESQL, SQLITE
from orderitems.store.items import MAX_MERGED_ENTERPRISES
from orderitems.store.page_plan import CursorItem, Position, plan_page

Scope = dict[str, Any]
Message = dict[str, Any]


class Window(msgspec.Struct, rename="pascal"):
    start_utc: datetime
    end_utc: datetime


class Limitation(msgspec.Struct, rename="pascal"):
    count: int
    cursor: uuid.UUID | None = None


class Body(msgspec.Struct, rename="pascal"):
    access_token: str
    limitation: Limitation
    service_ids: list[uuid.UUID] | None = None
    bill_ids: list[uuid.UUID] | None = None
    service_order_ids: list[uuid.UUID] | None = None
    updated_utc: Window | None = None
    consumed_utc: Window | None = None
    created_utc: Window | None = None


DECODER = msgspec.json.Decoder(Body)


def item_query(body: Body) -> ItemQuery:
    def window(value: Window | None) -> TimeInterval | None:
        return None if value is None else TimeInterval(value.start_utc, value.end_utc)

    def ids(values: list[uuid.UUID] | None) -> frozenset[uuid.UUID] | None:
        return None if values is None else frozenset(values)

    return ItemQuery(
        service_ids=ids(body.service_ids),
        bill_ids=ids(body.bill_ids),
        service_order_ids=ids(body.service_order_ids),
        updated=window(body.updated_utc),
        consumed=window(body.consumed_utc),
        created=window(body.created_utc),
    )


def dollar_placeholders(text: str) -> str:
    """asyncpg numbers its parameters: ``%s`` in turn becomes ``$1``, ``$2``..."""
    parts = text.split("%s")
    return "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], start=1)) + parts[-1]


def page_sql(
    body: Body, enterprises: list[uuid.UUID], style: str, position: Position | None
) -> tuple[str, list[Any], bool]:
    """The store's own page statement (store/page_sql.py), so both apps ask the same SQL."""
    plan = plan_page(
        enterprise_ids=enterprises,
        query=item_query(body),
        count=body.limitation.count,
        position=position,
        merge_limit=MAX_MERGED_ENTERPRISES,
    )
    statement = (SQLITE if style == "sqlite" else POSTGRESQL).pages.page(plan)
    text = dollar_placeholders(statement.text) if style == "asyncpg" else statement.text
    return text, statement.values, statement.plan_each_time


def respond_bytes(rows: list[Any]) -> bytes:
    """Documents put in their place on the page (the SQL returns them in any order)."""
    if not rows:
        return b'{"OrderItems":[],"Cursor":null}'
    documents: list[bytes] = [b""] * len(rows)
    last: Any = None
    for place, item_id, document in rows:
        documents[place - 1] = bytes(document)
        if place == len(rows):
            last = item_id
    cursor = str(last if isinstance(last, uuid.UUID) else uuid.UUID(bytes=bytes(last))).encode()
    documents[0] = b'{"OrderItems":[' + documents[0]
    documents[-1] = documents[-1] + b'],"Cursor":"' + cursor + b'"}'
    return b",".join(documents)


TOKENS_SQL = (
    "SELECT a.token_hash, e.enterprise_id FROM access_tokens a"
    " JOIN access_token_enterprises e ON e.access_token_id = a.id"
)


def scopes_from(rows: list[Any]) -> dict[bytes, list[uuid.UUID]]:
    scopes: dict[bytes, list[uuid.UUID]] = {}
    for token_hash, enterprise in rows:
        value = (
            enterprise if isinstance(enterprise, uuid.UUID) else uuid.UUID(bytes=bytes(enterprise))
        )
        scopes.setdefault(bytes(token_hash), []).append(value)
    return {k: sorted(v) for k, v in scopes.items()}


#: (statement, values, plan each time): the last as store/page_sql.py ``plan_each_time``.
Query = Callable[[str, list[Any], bool], Awaitable[list[Any]]]


async def open_database(url: str, driver: str) -> tuple[Query, dict[bytes, list[uuid.UUID]], str]:
    if driver == "sqlite":
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
        connection.execute("PRAGMA cache_size=-4096")  # as store/engine.py configures ours

        async def run_sqlite(statement: str, params: list[Any], _fresh: bool) -> list[Any]:
            return connection.execute(statement, params).fetchall()

        return run_sqlite, scopes_from(connection.execute(TOKENS_SQL).fetchall()), "sqlite"
    conninfo, _, options = url.removeprefix("postgresql://").partition("?")
    search_path = options.split("%3D")[1] if "%3D" in options else "public"
    dsn = f"postgresql://{conninfo}"
    if driver == "asyncpg":
        import asyncpg

        pool = await asyncpg.create_pool(
            dsn, min_size=4, max_size=4, server_settings={"search_path": search_path}
        )

        async def run_asyncpg(statement: str, params: list[Any], _fresh: bool) -> list[Any]:
            return list(await pool.fetch(statement, *params))

        return run_asyncpg, scopes_from(list(await pool.fetch(TOKENS_SQL))), "asyncpg"
    import psycopg

    connections: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    for _ in range(4):
        opened = await psycopg.AsyncConnection.connect(
            dsn, autocommit=True, options=f"-csearch_path={search_path}"
        )
        connections.put_nowait(opened)

    async def run_psycopg(statement: str, params: list[Any], fresh: bool) -> list[Any]:
        connection = await connections.get()
        try:
            prepare = False if fresh else None
            cursor = await connection.execute(statement, params, binary=True, prepare=prepare)
            return await cursor.fetchall()
        finally:
            connections.put_nowait(connection)

    return run_psycopg, scopes_from(await run_psycopg(TOKENS_SQL, [], False)), "psycopg"


async def read_body(receive: Callable[[], Awaitable[Message]]) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def create_app() -> Callable[[Scope, Any, Any], Awaitable[None]]:
    url = os.environ["BARE_DATABASE_URL"]
    driver = os.environ.get("BARE_DRIVER", "sqlite" if url.startswith("sqlite") else "psycopg")
    state: dict[str, Any] = {}

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    state["run"], state["scopes"], state["style"] = await open_database(url, driver)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = DECODER.decode(await read_body(receive))
        enterprises = state["scopes"].get(hashlib.sha256(body.access_token.encode()).digest())
        if enterprises is None:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        position: Position | None = None
        if body.limitation.cursor is not None and state["style"] != "sqlite":
            # As ours: on PostgreSQL the page statement finds the cursor's position itself.
            position = CursorItem(enterprises, body.limitation.cursor)
        elif body.limitation.cursor is not None:
            found = (SQLITE if state["style"] == "sqlite" else POSTGRESQL).pages.position(
                enterprises, body.limitation.cursor
            )
            text = found.text if state["style"] != "asyncpg" else dollar_placeholders(found.text)
            rows = await state["run"](text, found.values, False)
            position = (rows[0][0], body.limitation.cursor)
        statement, params, fresh = page_sql(body, enterprises, state["style"], position)
        payload = respond_bytes(await state["run"](statement, params, fresh))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app
