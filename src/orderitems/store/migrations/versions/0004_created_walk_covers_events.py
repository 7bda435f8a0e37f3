"""the creation-order index covers the update, close and cancel times

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 23:40:00.000000

An item is updated, closed or canceled at or after its creation, so an ``UpdatedUtc`` window
ending at E can only match items created before E. Walking the creation-order index down from
E and testing the window on the index entry finds a page's keys in page order and stops after
``Count`` matches, instead of sorting every key in the window, which grew with the ledger.
Items whose stored times break that rule (imported data) are still found,
through small partial indexes that hold only them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

EVENTS = ("updated_us", "closed_us", "canceled_us")


def upgrade() -> None:
    op.drop_index("ix_order_items_created", table_name="order_items")
    op.create_index(
        "ix_order_items_created",
        "order_items",
        ["enterprise_id", "created_us", "id", *EVENTS],
    )
    for column in EVENTS:
        early = sa.text(f"{column} < created_us")
        op.create_index(
            f"ix_order_items_{column.removesuffix('_us')}_before_created",
            "order_items",
            ["enterprise_id", "created_us", "id", column],
            sqlite_where=early,
            postgresql_where=early,
        )
    # SQLite plans from the statistics ANALYZE keeps per index: without them for the new
    # index it may walk it for an id filter and read the table at every step.
    op.execute("ANALYZE order_items")


def downgrade() -> None:
    for column in EVENTS:
        op.drop_index(
            f"ix_order_items_{column.removesuffix('_us')}_before_created", table_name="order_items"
        )
    op.drop_index("ix_order_items_created", table_name="order_items")
    op.create_index("ix_order_items_created", "order_items", ["enterprise_id", "created_us", "id"])
