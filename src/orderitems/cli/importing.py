"""Batches for an import: decoded blocks (store/bulk_lines.py) with the enterprises and
service orders that are neither stored nor written earlier in the same load; its progress."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.engine import Engine

from orderitems.cli.common import console
from orderitems.domain.enterprises import Enterprise, Pricing
from orderitems.store.bulk_lines import DecodedBlock, lines_with_id
from orderitems.store.item_ids import enterprise_of_item
from orderitems.store.loading import Batch


class _ItemsColumn(ProgressColumn):
    """Items loaded and their rate; the bar itself follows the bytes read, so a file's size
    is its total and nobody reads a large file once just to count its lines."""

    def render(self, task: Task) -> Text:
        items = int(task.fields.get("items", 0))
        elapsed = task.elapsed or 0.0
        rate = f"{items / elapsed:>8,.0f} items/s" if elapsed > 0 else ""
        return Text(f"{items:>11,} items {rate}")


class ImportProgress:
    """What an import reports: bytes of the file read, items loaded."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task
        self._items = 0

    def read(self, size: int) -> None:
        self._progress.advance(self._task, size)

    def loaded(self, count: int) -> None:
        self._items += count
        self._progress.update(self._task, items=self._items)


@contextmanager
def import_progress(total_bytes: int | None) -> Iterator[ImportProgress]:
    columns = [
        TextColumn("[bold]Importing"),
        BarColumn(),
        _ItemsColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("Importing", total=total_bytes, items=0)
        yield ImportProgress(progress, task)


class ImportProblem(Exception):
    """A line that is not an order item in the API's shape."""


def taken_id_message(
    engine: Engine, source: str, lines: Path | BinaryIO, item_id: uuid.UUID | None
) -> str:
    """Why an import was refused for an item id, naming the line when the file can be read
    again (standard input cannot) and the enterprise that holds the id already."""
    if not isinstance(lines, Path):
        source = "standard input"
    if item_id is None:
        return f"{source}: an order item id is stored already or repeated in the file."
    with engine.connect() as connection:
        owner = enterprise_of_item(connection, item_id)  # the import was rolled back
    numbers = lines_with_id(lines, item_id) if isinstance(lines, Path) else []
    where = f"{source}, line {numbers[0]}" if numbers else source
    if owner is not None:
        return (
            f"{where}: order item id {item_id} is already stored (enterprise {owner});"
            " an order item id is unique across all enterprises."
        )
    if len(numbers) > 1:
        return f"{source}, line {numbers[1]}: order item id {item_id} repeats line {numbers[0]}."
    return f"{where}: order item id {item_id} appears more than once."


def _imported_enterprise(enterprise_id: uuid.UUID, currency: str) -> Enterprise:
    return Enterprise(
        id=enterprise_id,
        name=f"Imported enterprise {enterprise_id}",
        currency=currency,
        tax_environment="Unknown",
        pricing=Pricing.GROSS,
        time_zone="UTC",
    )


def import_batches(
    blocks: Iterator[DecodedBlock],
    known_enterprises: set[uuid.UUID],
    source: str,
    *,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[Batch]:
    """A batch per block; a bad line stops the import with its line number."""
    written_orders: set[bytes] = set()
    for block in blocks:
        if block.problem is not None:
            raise ImportProblem(f"{source}, {block.problem}")
        if on_read is not None:
            on_read(block.size)
        enterprises = [
            _imported_enterprise(enterprise_id, currency)
            for enterprise_id, currency in block.enterprises
            if enterprise_id not in known_enterprises
        ]
        known_enterprises.update(e.id for e in enterprises)
        orders = []
        for key, row in zip(block.order_keys, block.rows.service_orders, strict=True):
            if key not in written_orders:
                written_orders.add(key)
                orders.append(row)
        # The rows of the orders not written yet, of the same kind as the block's.
        encoded = replace(block.rows, service_orders=orders)  # type: ignore[arg-type]
        yield Batch(items=(), encoded=encoded, enterprises=enterprises)
