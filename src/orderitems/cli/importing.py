"""Batches for an import: decoded blocks (store/bulk_lines.py) with the enterprises and
service orders that are neither stored nor written earlier in the same load."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from orderitems.domain.enterprises import Enterprise, Pricing
from orderitems.store.bulk_lines import DecodedBlock
from orderitems.store.bulk_rows import EncodedItems
from orderitems.store.loading import Batch


class ImportProblem(Exception):
    """A line that is not an order item in the API's shape."""


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
    blocks: Iterator[DecodedBlock], known_enterprises: set[uuid.UUID], source: str
) -> Iterator[Batch]:
    """A batch per block; a bad line stops the import with its line number."""
    written_orders: set[bytes] = set()
    for block in blocks:
        if block.problem is not None:
            raise ImportProblem(f"{source}, {block.problem}")
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
        encoded = EncodedItems(block.rows.count, block.rows.rows, orders)  # type: ignore[arg-type]
        yield Batch(items=(), encoded=encoded, enterprises=enterprises)
