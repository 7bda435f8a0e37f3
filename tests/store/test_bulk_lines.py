"""Rows packed without a connection, and JSON Lines decoded by worker processes.

The packed ``COPY`` rows must be exactly what psycopg makes of the same values; the worker
pool must give back the blocks of a file in order, and a bad line by its number in the file.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from factories import make_enterprise
from orderitems.domain.enterprises import ServiceOrder
from orderitems.domain.items import OrderItem
from orderitems.fixtures.generator import generate
from orderitems.store.bulk_lines import decoded_blocks, lines_with_id, read_block, split_blocks
from orderitems.store.bulk_rows import (
    COPY_HEADER,
    COPY_TRAILER,
    ITEM_COLUMNS,
    SERVICE_ORDER_COLUMNS,
    copy_rows,
    item_insert_row,
    service_order_insert_row,
    sqlite_rows,
)
from orderitems.store.documents import encode_item
from orderitems.store.items import item_row

ENTERPRISE = make_enterprise()


def generated(count: int, *, seed: int = 5) -> tuple[list[OrderItem], list[ServiceOrder]]:
    bundles = list(generate(seed=seed, count=count, enterprises=[ENTERPRISE]))
    return [i for b in bundles for i in b.items], [b.service_order for b in bundles]


def lines_of(items: list[OrderItem]) -> bytes:
    return b"".join(encode_item(item) + b"\n" for item in items)


@pytest.fixture
def pg(postgres_admin_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    url = postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as connection:
        yield connection
        connection.rollback()


#: The items' column types, for psycopg to write the store's own rows (``item_row``).
ITEM_COPY_TYPES = (
    *("uuid",) * 6,
    *("int8",) * 5,
    "text",
    "text",
    "bytea",
)


def test_packed_copy_rows_are_what_psycopg_writes_of_the_same_values(
    pg: psycopg.Connection[tuple[object, ...]],
) -> None:
    items, orders = generated(300)
    assert any(i.bill_id is None for i in items)
    assert any(i.closed_utc for i in items)
    assert any(i.account_id is None for i in items) or any(o.account_id is None for o in orders)
    columns = ", ".join(ITEM_COLUMNS)
    types = ", ".join(
        f"{c} {'bigint' if t == 'int8' else t}"
        for c, t in zip(ITEM_COLUMNS, ITEM_COPY_TYPES, strict=True)
    )
    pg.execute(f"create temp table by_psycopg ({types}) on commit drop")
    pg.execute("create temp table packed (like by_psycopg) on commit drop")
    with pg.cursor().copy(f"copy by_psycopg ({columns}) from stdin (format binary)") as copy:
        copy.set_types(list(ITEM_COPY_TYPES))
        for item in items:
            row = item_row(item)
            copy.write_row(tuple(row[c] for c in ITEM_COLUMNS))
    encoded = copy_rows(items, orders)
    assert isinstance(encoded.rows, bytes)
    with pg.cursor().copy(f"copy packed ({columns}) from stdin (format binary)") as copy:
        copy.write(COPY_HEADER + encoded.rows + COPY_TRAILER)
    differ = "select count(*) from ((table by_psycopg except all table packed)"
    differ += " union all (table packed except all table by_psycopg)) d"
    assert pg.execute(differ).fetchone() == (0,)
    assert pg.execute("select count(*) from packed").fetchone() == (len(items),)

    pg.execute(
        "create temp table orders (enterprise_id uuid, id uuid, service_id uuid, kind text,"
        " account_id uuid, start_us bigint, end_us bigint) on commit drop"
    )
    order_columns = ", ".join(SERVICE_ORDER_COLUMNS)
    rows = b"".join(row for row in encoded.service_orders if isinstance(row, bytes))
    with pg.cursor().copy(f"copy orders ({order_columns}) from stdin (format binary)") as copy:
        copy.write(COPY_HEADER + rows + COPY_TRAILER)
    stored = pg.execute(f"select {order_columns} from orders").fetchall()
    expected = [
        tuple(v.bytes if isinstance(v, uuid.UUID) else v for v in row)
        for row in [
            (o.enterprise_id, o.id, o.service_id, o.kind.value, o.account_id) for o in orders
        ]
    ]
    assert [
        tuple(v.bytes if isinstance(v, uuid.UUID) else v for v in row[:5]) for row in stored
    ] == expected

    pg.execute("create temp table registry (id uuid, enterprise_id uuid) on commit drop")
    assert isinstance(encoded.ids, bytes)
    with pg.cursor().copy("copy registry (id, enterprise_id) from stdin (format binary)") as copy:
        copy.write(COPY_HEADER + encoded.ids + COPY_TRAILER)
    registered = pg.execute("select id, enterprise_id from registry").fetchall()
    assert registered == [(i.id, i.enterprise_id) for i in items]


def test_sqlite_rows_are_the_insert_rows() -> None:
    items, orders = generated(50)
    encoded = sqlite_rows(items, orders)
    assert encoded.count == len(items)
    assert encoded.rows == [item_insert_row(i) for i in items]
    assert encoded.service_orders == [service_order_insert_row(o) for o in orders]
    assert encoded.ids == [(i.id.bytes, i.enterprise_id.bytes) for i in items]


def test_the_lines_of_an_id_are_found_by_its_id_alone(tmp_path: Path) -> None:
    """Written in capitals or not; a line naming the id in another property is not one."""
    items, _ = generated(40)
    wanted = items[7].id
    lines = lines_of(items).splitlines()
    lines[30] = lines[30].replace(str(items[30].service_order_id).encode(), str(wanted).encode())
    lines[33] = (
        lines_of([items[7]]).strip().replace(str(wanted).encode(), str(wanted).upper().encode())
    )
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert lines_with_id(path, wanted) == [8, 34]
    assert lines_with_id(path, wanted, most=1) == [8]
    assert lines_with_id(path, uuid.uuid4()) == []


@pytest.mark.parametrize("as_file", [True, False])
def test_blocks_hold_whole_lines(tmp_path: Path, as_file: bool) -> None:
    items, _ = generated(120)
    data = lines_of(items)
    (tmp_path / "items.jsonl").write_bytes(data)
    source = tmp_path / "items.jsonl" if as_file else io.BytesIO(data)
    blocks = [read_block(block) for block in split_blocks(source, block_bytes=5000)]
    assert len(blocks) > 10
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") for block in blocks)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("as_file", [True, False])
def test_worker_processes_give_back_every_row_in_the_file_order(
    tmp_path: Path, workers: int, as_file: bool
) -> None:
    items, orders = generated(400)
    data = lines_of(items)
    (tmp_path / "items.jsonl").write_bytes(data)
    source = tmp_path / "items.jsonl" if as_file else io.BytesIO(data)
    decoded = list(decoded_blocks(source, sqlite_rows, workers=workers, block_bytes=20_000))
    assert sum(block.size for block in decoded) == len(data)
    assert len(decoded) > 5
    assert all(block.problem is None for block in decoded)
    rows = [
        row for block in decoded if isinstance(block.rows.rows, list) for row in block.rows.rows
    ]
    assert rows == [item_insert_row(i) for i in items]
    assert sum(block.rows.count for block in decoded) == len(items)
    keys = {key for block in decoded for key in block.order_keys}
    assert keys == {o.enterprise_id.bytes + o.id.bytes for o in orders}
    assert {e for block in decoded for e, _ in block.enterprises} == {ENTERPRISE.id}


@pytest.mark.parametrize("workers", [0, 2])
def test_a_bad_line_in_a_later_block_is_reported_by_its_number_in_the_file(
    tmp_path: Path, workers: int
) -> None:
    items, _ = generated(300)
    lines = lines_of(items).splitlines(keepends=True)
    lines[250] = b'{"Id": "not an order item"}\n'
    lines.insert(10, b"\n")  # blank lines count as lines, as an editor shows them
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"".join(lines))
    decoded = decoded_blocks(path, copy_rows, workers=workers, block_bytes=20_000)
    problems = [block.problem for block in decoded if block.problem is not None]
    assert len(problems) == 1
    assert problems[0].startswith("line 252: ")
