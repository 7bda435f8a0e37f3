"""Client and access tokens, stored only as SHA-256 hashes (docs/behaviour.md#tokens-and-scope)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orderitems.store.engine import dialect_of
from orderitems.store.schema import access_token_enterprises, access_tokens, client_tokens


@dataclass(frozen=True, slots=True)
class Credentials:
    """An access token found by its hash, with its client token and its enterprises."""

    access_token_id: int
    access_token_hash: bytes
    client_token_hash: bytes
    label: str
    profile_id: uuid.UUID
    portfolio: bool
    demo: bool
    enabled: bool
    enterprise_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True, slots=True)
class TokenListing:
    access_token_id: int
    label: str
    client_name: str
    portfolio: bool
    demo: bool
    enabled: bool
    enterprise_ids: tuple[uuid.UUID, ...]


def find_client_token(connection: Connection, token_hash: bytes) -> int | None:
    return connection.execute(
        sa.select(client_tokens.c.id).where(client_tokens.c.token_hash == token_hash)
    ).scalar_one_or_none()


def insert_client_token(
    connection: Connection, *, token_hash: bytes, name: str, demo: bool, now_us: int
) -> int:
    result = connection.execute(
        client_tokens.insert().values(
            token_hash=token_hash, name=name, demo=demo, enabled=True, created_us=now_us
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def insert_access_token(
    connection: Connection,
    *,
    token_hash: bytes,
    client_token_id: int,
    label: str,
    profile_id: uuid.UUID,
    portfolio: bool,
    demo: bool,
    enterprise_ids: Sequence[uuid.UUID],
    now_us: int,
) -> int:
    result = connection.execute(
        access_tokens.insert().values(
            token_hash=token_hash,
            client_token_id=client_token_id,
            label=label,
            profile_id=profile_id,
            portfolio=portfolio,
            demo=demo,
            enabled=True,
            created_us=now_us,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    token_id = int(key[0])
    connection.execute(
        access_token_enterprises.insert(),
        [{"access_token_id": token_id, "enterprise_id": e} for e in enterprise_ids],
    )
    return token_id


def find_credentials(connection: Connection, access_token_hash: bytes) -> Credentials | None:
    """Every request's first statement: one driver-level query (store/driver.py), a row per
    enterprise of the token, instead of two SQLAlchemy statements and their Python overhead."""
    dialect = dialect_of(connection)
    mark = dialect.pages.placeholder
    rows = dialect.fetch_rows(
        connection,
        "SELECT a.id, a.token_hash, c.token_hash, a.label, a.profile_id, a.portfolio,"
        " a.demo OR c.demo, a.enabled AND c.enabled, e.enterprise_id"
        " FROM access_tokens AS a JOIN client_tokens AS c ON c.id = a.client_token_id"
        " LEFT JOIN access_token_enterprises AS e ON e.access_token_id = a.id"
        f" WHERE a.token_hash = {mark} ORDER BY e.enterprise_id",
        [access_token_hash],
    )
    if not rows:
        return None
    first = rows[0]
    return Credentials(
        access_token_id=int(first[0]),
        access_token_hash=bytes(first[1]),
        client_token_hash=bytes(first[2]),
        label=first[3],
        profile_id=dialect.read_uuid(first[4]),
        portfolio=bool(first[5]),
        demo=bool(first[6]),
        enabled=bool(first[7]),
        enterprise_ids=tuple(dialect.read_uuid(row[8]) for row in rows if row[8] is not None),
    )


def list_access_tokens(connection: Connection) -> list[TokenListing]:
    rows = connection.execute(
        sa.select(
            access_tokens.c.id,
            access_tokens.c.label,
            client_tokens.c.name,
            access_tokens.c.portfolio,
            access_tokens.c.demo,
            access_tokens.c.enabled,
        )
        .join(client_tokens, client_tokens.c.id == access_tokens.c.client_token_id)
        .order_by(access_tokens.c.id)
    ).all()
    scopes: dict[int, list[uuid.UUID]] = {}
    for token_id, enterprise_id in connection.execute(
        sa.select(
            access_token_enterprises.c.access_token_id, access_token_enterprises.c.enterprise_id
        )
    ):
        scopes.setdefault(token_id, []).append(enterprise_id)
    return [
        TokenListing(
            access_token_id=row.id,
            label=row.label,
            client_name=row.name,
            portfolio=bool(row.portfolio),
            demo=bool(row.demo),
            enabled=bool(row.enabled),
            enterprise_ids=tuple(sorted(scopes.get(row.id, []))),
        )
        for row in rows
    ]


def set_access_token_enabled(connection: Connection, label: str, *, enabled: bool) -> int:
    """Enable or disable by label; returns how many tokens changed."""
    result = connection.execute(
        access_tokens.update().where(access_tokens.c.label == label).values(enabled=enabled)
    )
    return int(result.rowcount)


def token_labels(connection: Connection, hashes: Iterable[bytes]) -> dict[bytes, str]:
    """The label of each known token hash (the request log keeps hashes, shows labels)."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    rows = connection.execute(
        sa.select(access_tokens.c.token_hash, access_tokens.c.label).where(
            access_tokens.c.token_hash.in_(wanted)
        )
    )
    return {bytes(row.token_hash): row.label for row in rows}
