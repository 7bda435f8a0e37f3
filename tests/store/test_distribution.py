"""The schema stays ready to distribute by enterprise (docs/scaling.md).

Every table has a declared place on a distributed PostgreSQL engine such as Citus: sharded by
``enterprise_id``, replicated to every node as a reference table, or kept on the coordinator.
A sharded table can only enforce a key that includes its distribution column, and a query
reaches one shard only when its index can be entered by enterprise; so every key and index
of a sharded table leads with ``enterprise_id``. The one deliberate exception is the registry
of item ids: an id is unique across enterprises, which no table sharded by enterprise can
enforce, so the registry is sharded by the id itself and keyed by it alone.
"""

from __future__ import annotations

import sqlalchemy as sa

from orderitems.store.schema import metadata

SHARDED = {"order_items", "service_orders", "services", "exchange_rates"}
#: Sharded by its own key, ``id``: one item id, one row, whatever the enterprise.
SHARDED_BY_ID = {"order_item_ids"}
#: Small, read by token or id before the enterprise is known: copied to every node.
REFERENCE = {"enterprises", "client_tokens", "access_tokens", "access_token_enterprises"}
#: Per-deployment state of the server itself (limiter windows, sandbox), or in Redis.
COORDINATOR = {"rate_limit_hits", "request_log", "sandbox_faults", "sandbox_values"}


def test_every_table_has_a_declared_place_when_distributed() -> None:
    assert set(metadata.tables) == SHARDED | SHARDED_BY_ID | REFERENCE | COORDINATOR


def test_the_id_registry_is_keyed_by_the_id_alone_with_no_other_index() -> None:
    """Its distribution column is its whole key; a second index would need it too."""
    for name in SHARDED_BY_ID:
        table = metadata.tables[name]
        assert [c.name for c in table.primary_key.columns] == ["id"]
        assert not table.indexes
        assert not table.foreign_keys


def test_every_key_and_index_of_a_sharded_table_leads_with_enterprise_id() -> None:
    for name in sorted(SHARDED):
        table = metadata.tables[name]
        keys = [list(table.primary_key.columns)]
        keys += [list(c.columns) for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
        keys += [list(index.columns) for index in table.indexes]
        keys += [[column] for column in table.columns if column.unique]
        for columns in keys:
            assert columns[0].name == "enterprise_id", (name, [c.name for c in columns])


def test_sharded_tables_refer_to_no_table_outside_their_shard() -> None:
    for name in SHARDED:
        referred = {fk.column.table.name for fk in metadata.tables[name].foreign_keys}
        assert referred <= REFERENCE, (name, referred)
