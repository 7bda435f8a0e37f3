"""index a service's items by consumption span, then in keyset order

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 02:20:00.000000

``ServiceIds`` with ``ConsumedUtc`` found every key of the window through (enterprise,
service, consumed) and sorted them for the page: tens of thousands of keys for a busy
service's quarter, even for a 10-item page. Spans of 2**38 microseconds
(about 3.2 days) put the keyset columns right after the span, so each of a window's ~30 spans
is walked in page order and stops after ``Count`` keys (store/page_sql.py). The same index
still serves a window as one range, for several services at once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SPAN = "(consumed_us >> 38)"


def upgrade() -> None:
    op.create_index(
        "ix_order_items_service_consumed_span",
        "order_items",
        ["enterprise_id", "service_id", sa.text(SPAN), "created_us", "id", "consumed_us"],
    )
    op.drop_index("ix_order_items_service_consumed", table_name="order_items")
    # SQLite plans from the statistics ANALYZE keeps per index (as 0004).
    op.execute("ANALYZE order_items")


def downgrade() -> None:
    op.create_index(
        "ix_order_items_service_consumed",
        "order_items",
        ["enterprise_id", "service_id", "consumed_us", "created_us", "id"],
    )
    op.drop_index("ix_order_items_service_consumed_span", table_name="order_items")
