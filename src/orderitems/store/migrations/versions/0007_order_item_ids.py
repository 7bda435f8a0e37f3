"""a registry of order item ids: an id is unique across the whole ledger

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:20:00.000000

The items' key is ``(enterprise_id, id)``, so the same id could be stored in two enterprises;
a portfolio token then saw two items for one id and its cursor (an id) skipped items
(issue 12). ``order_item_ids`` holds each stored id once (store/schema.py), filled here from
the items already stored. A database that already holds one id in several enterprises cannot
be migrated until a person decides which item is the real one: the migration stops and names
them, and changes nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderitems.store.connect_errors import DatabaseProblem, ProblemKind
from orderitems.store.schema import CompactUuid

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Repeated ids named when the migration has to stop.
SHOWN = 5


def _refuse_repeated_ids() -> None:
    items = sa.table("order_items", sa.column("id", CompactUuid()))
    repeated = (
        op.get_bind()
        .execute(
            sa.select(items.c.id)
            .group_by(items.c.id)
            .having(sa.func.count() > 1)
            .order_by(items.c.id)
            .limit(SHOWN + 1)
        )
        .scalars()
    )
    ids = [str(value) for value in repeated]
    if ids:
        more = " and more" if len(ids) > SHOWN else ""
        raise DatabaseProblem(
            ProblemKind.SCHEMA,
            "Cannot migrate to 0007 (order item ids unique across the ledger): these ids are"
            f" stored in more than one enterprise: {', '.join(ids[:SHOWN])}{more}. Delete the"
            " extra items, then run `orderitems db upgrade` again. Nothing was changed.",
        )


def upgrade() -> None:
    _refuse_repeated_ids()
    op.create_table(
        "order_item_ids",
        sa.Column("id", CompactUuid(), nullable=False),
        sa.Column("enterprise_id", CompactUuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_item_ids")),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO order_item_ids (id, enterprise_id) SELECT id, enterprise_id FROM order_items"
    )


def downgrade() -> None:
    op.drop_table("order_item_ids")
