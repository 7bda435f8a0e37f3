"""An order item id is one identity across the whole ledger (issue 12, item 4): ``import``
refuses an id stored in any enterprise or repeated in its file, names the line and the id,
and loads nothing; a later import may add new items to a service order stored before."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from factories import make_item
from orderitems.cli import app
from orderitems.domain.items import OrderItem
from orderitems.store.documents import encode_item
from orderitems.store.engine import connect
from orderitems.store.schema import order_item_ids, order_items, service_orders

runner = CliRunner()
FIRST, SECOND = uuid.UUID(int=0xA1), uuid.UUID(int=0xB2)


def write_lines(path: Path, items: Sequence[OrderItem]) -> Path:
    path.write_bytes(b"".join(encode_item(item) + b"\n" for item in items))
    return path


def imported(url: str, path: Path) -> tuple[int, str]:
    """Exit code and the output as one line (the console wraps long messages)."""
    result = runner.invoke(app, ["import", str(path), "--db", url], catch_exceptions=False)
    return result.exit_code, " ".join(result.output.split())


def import_ok(url: str, path: Path) -> None:
    code, output = imported(url, path)
    assert code == 0, output


def stored(url: str) -> dict[str, set[tuple[uuid.UUID, uuid.UUID]]]:
    """(enterprise, id) of every stored item, of every registered id, and of service orders."""
    engine = connect(url)
    with engine.connect() as connection:
        items = connection.execute(sa.select(order_items.c.enterprise_id, order_items.c.id))
        ids = connection.execute(sa.select(order_item_ids.c.enterprise_id, order_item_ids.c.id))
        orders = connection.execute(sa.select(service_orders.c.enterprise_id, service_orders.c.id))
        found = {
            "items": {tuple(row) for row in items},
            "ids": {tuple(row) for row in ids},
            "orders": {tuple(row) for row in orders},
        }
    engine.dispose()
    assert found["ids"] == found["items"], "the registry holds exactly the stored items"
    return found


def items_of(enterprise_id: uuid.UUID, count: int) -> list[OrderItem]:
    return [make_item(enterprise_id=enterprise_id) for _ in range(count)]


def test_an_id_stored_in_another_enterprise_is_refused_with_its_line_and_nothing_loads(
    tmp_path: Path, empty_database_url: str
) -> None:
    first = items_of(FIRST, 5)
    import_ok(empty_database_url, write_lines(tmp_path / "first.jsonl", first))
    before = stored(empty_database_url)
    second = items_of(SECOND, 4)
    second[2] = make_item(enterprise_id=SECOND, id=first[3].id)
    code, output = imported(empty_database_url, write_lines(tmp_path / "second.jsonl", second))
    assert code == 1
    assert "Nothing imported" in output
    assert f"second.jsonl, line 3: order item id {first[3].id} is already stored" in output
    assert f"(enterprise {FIRST})" in output
    assert stored(empty_database_url) == before, "not one item, id or service order loaded"


@pytest.mark.parametrize("database", ["empty", "holding items"])
def test_an_id_twice_in_one_file_is_refused_naming_both_lines(
    tmp_path: Path, empty_database_url: str, database: str
) -> None:
    """Into an empty database the keys are built at the end of the load; into one holding
    items they refuse row by row: both are checked."""
    assert runner.invoke(app, ["db", "upgrade", "--db", empty_database_url]).exit_code == 0
    if database == "holding items":
        import_ok(empty_database_url, write_lines(tmp_path / "before.jsonl", items_of(FIRST, 3)))
    before = stored(empty_database_url)
    items = items_of(FIRST, 6)
    items[5] = make_item(enterprise_id=SECOND, id=items[1].id)  # another enterprise, too
    code, output = imported(empty_database_url, write_lines(tmp_path / "twice.jsonl", items))
    assert code == 1
    assert "Nothing imported" in output
    assert f"twice.jsonl, line 6: order item id {items[1].id} repeats line 2." in output
    assert stored(empty_database_url) == before


def test_an_id_stored_in_the_same_enterprise_is_named_not_its_service_order(
    tmp_path: Path, empty_database_url: str
) -> None:
    """Before: "service_orders" constraint, as the repeated item's service order was
    written first and was stored too."""
    first = items_of(FIRST, 3)
    import_ok(empty_database_url, write_lines(tmp_path / "first.jsonl", first))
    before = stored(empty_database_url)
    again = [*items_of(FIRST, 2), first[1]]
    code, output = imported(empty_database_url, write_lines(tmp_path / "again.jsonl", again))
    assert code == 1
    assert f"again.jsonl, line 3: order item id {first[1].id} is already stored" in output
    assert "service_orders" not in output
    assert stored(empty_database_url) == before


def test_a_later_import_adds_new_items_to_a_stored_service_order(
    tmp_path: Path, empty_database_url: str
) -> None:
    reservation = uuid.uuid4()
    first = [make_item(enterprise_id=FIRST, service_order_id=reservation) for _ in range(2)]
    import_ok(empty_database_url, write_lines(tmp_path / "first.jsonl", first))
    later = [
        make_item(enterprise_id=FIRST, service_order_id=reservation),
        make_item(enterprise_id=FIRST),  # and one in a new service order
    ]
    import_ok(empty_database_url, write_lines(tmp_path / "later.jsonl", later))
    found = stored(empty_database_url)
    assert found["items"] == {(FIRST, item.id) for item in [*first, *later]}
    assert found["orders"] == {(FIRST, reservation), (FIRST, later[1].service_order_id)}


def test_an_id_refused_from_standard_input_is_named_without_a_line(
    tmp_path: Path, empty_database_url: str
) -> None:
    first = items_of(FIRST, 2)
    import_ok(empty_database_url, write_lines(tmp_path / "first.jsonl", first))
    repeated = write_lines(
        tmp_path / "repeated.jsonl", [make_item(enterprise_id=SECOND, id=first[0].id)]
    )
    result = runner.invoke(
        app, ["import", "-", "--db", empty_database_url], input=repeated.read_bytes()
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert f"standard input: order item id {first[0].id} is already stored" in output


def test_generate_fills_the_registry_and_refuses_the_same_seed_twice(
    empty_database_url: str,
) -> None:
    arguments = ["generate", "--items", "200", "--seed", "5", "--db", empty_database_url]
    assert runner.invoke(app, arguments).exit_code == 0
    before = stored(empty_database_url)
    assert len(before["ids"]) == 200
    again = runner.invoke(app, arguments)
    assert again.exit_code == 1
    assert "already exist" in " ".join(again.output.split())
    assert stored(empty_database_url) == before
