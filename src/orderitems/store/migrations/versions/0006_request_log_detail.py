"""the request log keeps each request's detail for the console

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:20:00.000000

One nullable JSON text per line (api/request_detail.py): the body with its tokens masked, a
response excerpt, the validation problems of a 400 and the token's window at a 429.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("request_log", sa.Column("detail", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_log") as batch:
        batch.drop_column("detail")
