"""Canceling items: one locked read-check-write, safe under concurrent cancels across processes.

Both engines serialise cancels of the same items before anything is read, so the second of
two overlapping cancels sees the first one's result (already Canceled: left unchanged) and
every item is canceled exactly once, with one ``CanceledUtc``:

* SQLite takes the database write lock up front (``BEGIN IMMEDIATE``) instead of upgrading a
  read lock on the first write, which fails at once with "database is locked" when two
  connections race; the busy timeout (store/engine.py) makes the waiter queue instead.
* PostgreSQL locks the rows with ``SELECT ... FOR UPDATE`` in id order, so transactions
  canceling overlapping sets queue on the same rows in the same order and never deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.domain.cancellation import CancelPlan, cancel_item, plan_cancellation
from orderitems.domain.items import AccountingState
from orderitems.store.documents import decode_item, encode_item, to_micros
from orderitems.store.engine import dialect_of
from orderitems.store.schema import order_items as t


def cancel_items(
    connection: Connection,
    *,
    enterprise_id: uuid.UUID,
    item_ids: Sequence[uuid.UUID],
    profile_id: uuid.UUID,
    clock: Callable[[], datetime],
) -> CancelPlan:
    """Cancel the items of one enterprise, all or nothing (docs/behaviour.md#cancel).

    Items and their stored documents change in the same transaction; ``clock`` is read once
    the locks are held, so ``CanceledUtc`` is never earlier than a cancel that committed first.
    Raises ``InvalidInput`` (nothing written) when any id is unknown or cannot be canceled.
    """
    with dialect_of(connection).write_transaction(connection):
        rows = connection.execute(
            sa.select(t.c.id, t.c.accounting_state, t.c.document)
            .where(t.c.enterprise_id == enterprise_id, t.c.id.in_(sorted(set(item_ids))))
            .order_by(t.c.id)
            .with_for_update()
        ).all()
        documents = {row.id: row.document for row in rows}
        plan = plan_cancellation(
            item_ids, {row.id: AccountingState(row.accounting_state) for row in rows}
        )
        if not plan.to_cancel:
            return plan
        now = clock()
        now_us = to_micros(now)
        for item_id in plan.to_cancel:
            item = cancel_item(decode_item(documents[item_id]), now=now, profile_id=profile_id)
            connection.execute(
                t.update()
                .where(t.c.enterprise_id == enterprise_id, t.c.id == item_id)
                .values(
                    accounting_state=item.accounting_state.value,
                    canceled_us=now_us,
                    updated_us=now_us,
                    document=encode_item(item),
                )
            )
    return plan
