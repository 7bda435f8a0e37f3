"""cancel_items on both databases: all or nothing, and exactly once under concurrent cancels
of overlapping sets (docs/behaviour.md#cancel)."""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from factories import T0, make_item, make_tenant, store_items
from orderitems.domain.errors import InvalidInput
from orderitems.domain.items import AccountingState
from orderitems.store.cancel import cancel_items
from orderitems.store.documents import decode_item, to_micros
from orderitems.store.schema import order_items

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def stored(engine: Engine, ids: list[uuid.UUID]) -> dict[uuid.UUID, sa.Row[tuple[object, ...]]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(order_items).where(order_items.c.id.in_(ids))).all()
    return {row.id: row for row in rows}


def test_the_columns_and_the_document_change_together(engine: Engine) -> None:
    tenant = make_tenant(engine)
    (item,) = store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id)])
    profile = uuid.uuid4()
    with engine.connect() as connection:
        plan = cancel_items(
            connection,
            enterprise_id=tenant.enterprise_id,
            item_ids=[item.id],
            profile_id=profile,
            clock=lambda: NOW,
        )
    assert plan.to_cancel == (item.id,)
    row = stored(engine, [item.id])[item.id]
    assert (row.accounting_state, row.canceled_us, row.updated_us) == (
        "Canceled",
        to_micros(NOW),
        to_micros(NOW),
    )
    document = decode_item(row.document)
    assert document.accounting_state is AccountingState.CANCELED
    assert document.canceled_utc == document.updated_utc == NOW
    assert document.updater_profile_id == profile
    assert document.options.canceled_with_reservation is False


def test_a_refused_cancel_writes_nothing_and_leaves_the_connection_usable(engine: Engine) -> None:
    tenant = make_tenant(engine)
    items = store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id),
            make_item(enterprise_id=tenant.enterprise_id, state=AccountingState.CLOSED),
        ],
    )
    before = stored(engine, [i.id for i in items])
    with engine.connect() as connection:
        with pytest.raises(InvalidInput, match=str(items[1].id)):
            cancel_items(
                connection,
                enterprise_id=tenant.enterprise_id,
                item_ids=[i.id for i in items],
                profile_id=uuid.uuid4(),
                clock=lambda: NOW,
            )
        assert connection.execute(sa.select(1)).scalar_one() == 1
    assert stored(engine, [i.id for i in items]) == before


def test_overlapping_concurrent_cancels_cancel_each_item_exactly_once(engine: Engine) -> None:
    tenant = make_tenant(engine)
    items = store_items(
        engine,
        tenant,
        [
            make_item(enterprise_id=tenant.enterprise_id, created_utc=T0 + timedelta(minutes=n))
            for n in range(30)
        ],
    )
    closed = store_items(
        engine,
        tenant,
        [make_item(enterprise_id=tenant.enterprise_id, state=AccountingState.CLOSED)],
    )[0]
    ids = [i.id for i in items]
    ticks = itertools.count()
    tick_lock = threading.Lock()

    def clock() -> datetime:
        """A distinct moment per call, so each item's CanceledUtc names the call that won."""
        with tick_lock:
            return NOW + timedelta(milliseconds=next(ticks))

    canceled_by: Counter[uuid.UUID] = Counter()
    moment_of: dict[uuid.UUID, datetime] = {}
    failures: list[BaseException] = []
    refused = 0
    record = threading.Lock()
    barrier = threading.Barrier(8)

    def client(seed: int) -> None:
        nonlocal refused
        rng = random.Random(seed)
        barrier.wait()
        for round_ in range(12):
            chosen = rng.sample(ids, rng.randint(1, 10))
            poisoned = round_ % 5 == 4
            moments: list[datetime] = []

            def recording_clock(moments: list[datetime] = moments) -> datetime:
                moments.append(clock())
                return moments[-1]

            try:
                with engine.connect() as connection:
                    plan = cancel_items(
                        connection,
                        enterprise_id=tenant.enterprise_id,
                        item_ids=[*chosen, closed.id] if poisoned else chosen,
                        profile_id=uuid.uuid4(),
                        clock=recording_clock,
                    )
            except InvalidInput:
                with record:
                    refused += 1
                continue
            except BaseException as exc:  # a database error is a failure of the test
                with record:
                    failures.append(exc)
                continue
            with record:
                canceled_by.update(plan.to_cancel)
                for item_id in plan.to_cancel:
                    moment_of[item_id] = moments[0]

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    assert refused == 8 * 2, "every request naming the Closed item was refused"
    rows = stored(engine, [*ids, closed.id])
    assert rows[closed.id].accounting_state == "Closed"
    touched = {i for i in ids if i in canceled_by}
    assert all(count == 1 for count in canceled_by.values()), canceled_by.most_common(3)
    for item_id in ids:
        row = rows[item_id]
        if item_id not in touched:
            assert row.accounting_state == "Open"
            continue
        document = decode_item(row.document)
        assert row.accounting_state == "Canceled"
        assert row.canceled_us == row.updated_us == to_micros(moment_of[item_id])
        assert document.canceled_utc == moment_of[item_id]
    assert len(touched) > 20
