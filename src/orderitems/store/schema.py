"""The tables, in one MetaData. Runs unchanged on SQLite and PostgreSQL.

Every item key and index leads with ``enterprise_id`` so the items table can later be
distributed by enterprise (docs/scaling.md); the registry of item ids, which makes an id
unique across enterprises, is keyed by the id alone on purpose. Timestamps the API filters
on are stored as integer microseconds since the Unix epoch: one comparable type on both
engines, no time-zone conversion in SQL. Each item also keeps its encoded API document
beside the indexed columns, so a page is assembled from stored bytes without building Python
objects per item.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class CompactUuid(TypeDecorator[uuid.UUID]):
    """Native ``uuid`` on PostgreSQL, 16 raw bytes on SQLite (half the size of hex text).

    Both compare byte-wise, which is also ``uuid.UUID`` ordering, so keyset order agrees.
    """

    impl = sa.LargeBinary(16)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(sa.LargeBinary(16))

    def process_bind_param(self, value: uuid.UUID | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return value.bytes

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(bytes=bytes(value))


Micros = sa.BigInteger  # microseconds since 1970-01-01T00:00:00Z

enterprises = sa.Table(
    "enterprises",
    metadata,
    sa.Column("id", CompactUuid, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("tax_environment", sa.String(20), nullable=False),
    sa.Column("pricing", sa.String(5), nullable=False),  # Gross | Net
    sa.Column("time_zone", sa.String(64), nullable=False),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("enterprise_id", CompactUuid, nullable=False),
    sa.Column("id", CompactUuid, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # Bookable | Additional
    sa.PrimaryKeyConstraint("enterprise_id", "id"),
)

service_orders = sa.Table(
    "service_orders",
    metadata,
    sa.Column("enterprise_id", CompactUuid, nullable=False),
    sa.Column("id", CompactUuid, nullable=False),
    sa.Column("service_id", CompactUuid, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # Reservation | ProductServiceOrder
    sa.Column("account_id", CompactUuid, nullable=True),
    sa.Column("start_us", Micros, nullable=True),
    sa.Column("end_us", Micros, nullable=True),
    sa.PrimaryKeyConstraint("enterprise_id", "id"),
)

client_tokens = sa.Table(
    "client_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("demo", sa.Boolean, nullable=False, default=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_us", Micros, nullable=False),
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("client_token_id", sa.Integer, sa.ForeignKey("client_tokens.id"), nullable=False),
    sa.Column("label", sa.String(200), nullable=False, unique=True),
    sa.Column("profile_id", CompactUuid, nullable=False),
    sa.Column("portfolio", sa.Boolean, nullable=False, default=False),
    sa.Column("demo", sa.Boolean, nullable=False, default=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("created_us", Micros, nullable=False),
)

access_token_enterprises = sa.Table(
    "access_token_enterprises",
    metadata,
    sa.Column(
        "access_token_id",
        sa.Integer,
        sa.ForeignKey("access_tokens.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("enterprise_id", CompactUuid, sa.ForeignKey("enterprises.id"), nullable=False),
    sa.PrimaryKeyConstraint("access_token_id", "enterprise_id"),
)

exchange_rates = sa.Table(
    "exchange_rates",
    metadata,
    sa.Column("enterprise_id", CompactUuid, nullable=False),
    sa.Column("source_currency", sa.String(3), nullable=False),
    sa.Column("target_currency", sa.String(3), nullable=False),
    sa.Column("value", sa.Numeric(28, 12), nullable=False),
    sa.Column("updated_us", Micros, nullable=False),
    sa.PrimaryKeyConstraint("enterprise_id", "source_currency", "target_currency"),
)

order_items = sa.Table(
    "order_items",
    metadata,
    sa.Column("enterprise_id", CompactUuid, nullable=False),
    sa.Column("id", CompactUuid, nullable=False),
    sa.Column("account_id", CompactUuid, nullable=True),
    sa.Column("service_id", CompactUuid, nullable=False),
    sa.Column("service_order_id", CompactUuid, nullable=False),
    sa.Column("bill_id", CompactUuid, nullable=True),
    sa.Column("created_us", Micros, nullable=False),
    sa.Column("updated_us", Micros, nullable=False),
    sa.Column("consumed_us", Micros, nullable=False),
    sa.Column("canceled_us", Micros, nullable=True),
    sa.Column("closed_us", Micros, nullable=True),
    sa.Column("accounting_state", sa.String(10), nullable=False),
    sa.Column("type", sa.String(30), nullable=False),
    sa.Column("document", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("enterprise_id", "id"),
)

# An order item id is one identity across the whole ledger, while the items' own key is per
# enterprise (it leads with ``enterprise_id``, for distribution). This registry holds every
# stored item's id once, so a second item with an id stored anywhere is refused (issue 12).
# Every writer of items fills it in the same transaction (bulk writers, ``insert_items``); on
# a distributed engine it would be sharded by ``id`` itself (docs/scaling.md). Without a rowid
# on SQLite: the key is the table, one B-tree insert per item.
order_item_ids = sa.Table(
    "order_item_ids",
    metadata,
    sa.Column("id", CompactUuid, nullable=False),
    sa.Column("enterprise_id", CompactUuid, nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sqlite_with_rowid=False,
)

# The keyset order (created_us desc, id desc) closes every index that drives a page, so a
# filter on one id or one enterprise walks its index in page order and stops after Count rows.
# The creation-order index also carries the times that cannot precede creation, so a window on
# one of them is tested on the index entry while walking down from the window's end (0004).
EVENT_COLUMNS = ("updated_us", "closed_us", "canceled_us")
sa.Index(
    "ix_order_items_created",
    order_items.c.enterprise_id,
    order_items.c.created_us,
    order_items.c.id,
    *(order_items.c[column] for column in EVENT_COLUMNS),
)
# Only items whose stored times break that rule (imported data), in the same order.
for _column in EVENT_COLUMNS:
    _early = order_items.c[_column] < order_items.c.created_us
    sa.Index(
        f"ix_order_items_{_column.removesuffix('_us')}_before_created",
        order_items.c.enterprise_id,
        order_items.c.created_us,
        order_items.c.id,
        order_items.c[_column],
        sqlite_where=_early,
        postgresql_where=_early,
    )
# Time filters are ranges, so their index cannot give the page order; it covers the keyset
# columns instead, so the page's keys are found and sorted without touching the table.
for _column in ("updated_us", "consumed_us", "closed_us", "canceled_us"):
    sa.Index(
        f"ix_order_items_{_column.removesuffix('_us')}",
        order_items.c.enterprise_id,
        order_items.c[_column],
        order_items.c.created_us,
        order_items.c.id,
    )
for _column in ("account_id", "service_id", "service_order_id", "bill_id"):
    sa.Index(
        f"ix_order_items_{_column.removesuffix('_id')}",
        order_items.c.enterprise_id,
        order_items.c[_column],
        order_items.c.created_us,
        order_items.c.id,
    )
# A service holds a large share of a property's items, and a consumption window is a range,
# which no index can give in creation order. So a service's items are indexed by consumption
# span (2**38 microseconds, about 3.2 days) and then in keyset order: a 3-month window is about
# 30 spans, each walked in page order and stopped after ``Count`` keys (migration 0005; before
# it, every key of the window was collected and sorted, even for a 10-item page).
CONSUMED_SPAN_BITS = 38
CONSUMED_SPAN = f"(consumed_us >> {CONSUMED_SPAN_BITS})"
sa.Index(
    "ix_order_items_service_consumed_span",
    order_items.c.enterprise_id,
    order_items.c.service_id,
    sa.text(CONSUMED_SPAN),
    order_items.c.created_us,
    order_items.c.id,
    order_items.c.consumed_us,
)

# State shared by every server process when no Redis is configured (state/window_sql.py
# and state/sandbox_sql.py): the rate limiter's sliding windows, injected faults, the
# sandbox clock and the request log. Keys are SHA-256 hashes of AccessTokens, never tokens.
rate_limit_hits = sa.Table(
    "rate_limit_hits",
    metadata,
    sa.Column("key", sa.LargeBinary(32), nullable=False),
    sa.Column("at_us", Micros, nullable=False),
)
sa.Index("ix_rate_limit_hits_key_at_us", rate_limit_hits.c.key, rate_limit_hits.c.at_us)

sandbox_faults = sa.Table(
    "sandbox_faults",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("retry_after", sa.Integer, nullable=True),
    sa.Column("delay_ms", sa.Integer, nullable=False),
    sa.Column("database_delay_ms", sa.Integer, nullable=False),
    sa.Column("remaining", sa.Integer, nullable=True),  # null: until removed
    sa.Column("percent", sa.Float, nullable=False),
    sa.Column("operation", sa.String(100), nullable=True),  # lower-cased, e.g. orderitems/getall
    sa.Column("token_hash", sa.LargeBinary(32), nullable=True),
    sa.Column("message", sa.String(500), nullable=True),
)

sandbox_values = sa.Table(
    "sandbox_values",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # JSON
)

request_log = sa.Table(
    "request_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at_us", Micros, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(300), nullable=False),
    sa.Column("operation", sa.String(100), nullable=True),
    sa.Column("token_hash", sa.LargeBinary(32), nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("fault_id", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
)
