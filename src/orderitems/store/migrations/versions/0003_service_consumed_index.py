"""index items by service and consumption time

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 23:20:00.000000

``ServiceIds`` with ``ConsumedUtc`` (the issue's mix) walked the service's items in keyset
order and read every row to test its consumption time, so a page cost grew with the
service's size. With (enterprise, service, consumed) first the window is a range of one
index that also covers the keyset columns, so the page's keys are sorted without the table.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_order_items_service_consumed",
        "order_items",
        ["enterprise_id", "service_id", "consumed_us", "created_us", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_order_items_service_consumed", table_name="order_items")
