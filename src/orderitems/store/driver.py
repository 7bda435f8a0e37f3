"""Statements on the request path, run on the driver's own cursor.

A getAll request runs two short statements (the caller's token, then the page). Through
SQLAlchemy each costs more Python than SQLite takes to answer the query itself (the token,
or a small page): execution context, result metadata, row objects. These run the statement
text of store/page_sql.py renderers on the DBAPI cursor of the connection SQLAlchemy already
checked out, in its transaction (store/dialect.py picks the function for the database).
Driver errors pass through unchanged (``sqlite3.Error`` or ``psycopg.Error``); the API
answers any of them with a 500, and a cancelled statement is recognised either way
(store/interrupt.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from sqlalchemy.engine import Connection


def fetch_postgres_rows(
    connection: Connection, text: str, values: Sequence[Any], *, prepare: bool = True
) -> list[Any]:
    """Every row of one statement, as psycopg returns them.

    psycopg is asked for binary results: a document then crosses the wire as its bytes,
    not as twice as many hex digits that the driver must decode. It prepares a text run
    several times on a connection, and PostgreSQL may then reuse a plan made without the
    values; ``prepare=False`` has each run planned for its own values.
    """
    raw = cast("psycopg.Connection[Any]", connection.connection.driver_connection)
    # Outside a transaction the read runs on its own: psycopg would first send BEGIN, and
    # the pool a ROLLBACK when the connection comes back, two round trips per request.
    alone = raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if alone:
        raw.autocommit = True
    try:
        with raw.cursor(binary=True) as binary:
            binary.execute(text, tuple(values), prepare=None if prepare else False)
            return binary.fetchall()
    finally:
        if alone and not raw.closed:
            raw.autocommit = False


def fetch_sqlite_rows(
    connection: Connection, text: str, values: Sequence[Any], *, prepare: bool = True
) -> list[Any]:
    """Every row of one statement, as sqlite3 returns them (it plans each run anyway)."""
    raw = cast(sqlite3.Connection, connection.connection.driver_connection)
    cursor = raw.cursor()
    try:
        cursor.execute(text, tuple(values))
        return list(cursor.fetchall())
    finally:
        cursor.close()


@contextmanager
def postgres_write_transaction(connection: Connection) -> Iterator[None]:
    """An ordinary transaction; whatever the connection had autobegun (token reads) ends
    first. Row locks order concurrent writers."""
    if connection.in_transaction():
        connection.commit()
    with connection.begin():
        yield


@contextmanager
def sqlite_write_transaction(connection: Connection) -> Iterator[None]:
    """A transaction that holds the write lock from its first statement (``BEGIN
    IMMEDIATE``), so two writers never both read and then one fail to write."""
    if connection.in_transaction():
        connection.commit()
    driver = cast(sqlite3.Connection, connection.connection.driver_connection)
    # pysqlite would emit its own deferred BEGIN before the first write; with its
    # isolation_level off it leaves the transaction to us (SQLAlchemy's pysqlite recipe).
    saved = driver.isolation_level
    driver.isolation_level = None
    try:
        with connection.begin():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield
    finally:
        driver.isolation_level = saved
