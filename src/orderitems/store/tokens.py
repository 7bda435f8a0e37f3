"""Client and access tokens, stored only as SHA-256 hashes (BEHAVIOUR.md Access tokens)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

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
    row = connection.execute(
        sa.select(
            access_tokens.c.id,
            access_tokens.c.token_hash,
            client_tokens.c.token_hash.label("client_token_hash"),
            access_tokens.c.label,
            access_tokens.c.profile_id,
            access_tokens.c.portfolio,
            (access_tokens.c.demo | client_tokens.c.demo).label("demo"),
            (access_tokens.c.enabled & client_tokens.c.enabled).label("enabled"),
        )
        .join(client_tokens, client_tokens.c.id == access_tokens.c.client_token_id)
        .where(access_tokens.c.token_hash == access_token_hash)
    ).first()
    if row is None:
        return None
    enterprise_ids = connection.execute(
        sa.select(access_token_enterprises.c.enterprise_id)
        .where(access_token_enterprises.c.access_token_id == row.id)
        .order_by(access_token_enterprises.c.enterprise_id)
    ).scalars()
    return Credentials(
        access_token_id=row.id,
        access_token_hash=row.token_hash,
        client_token_hash=row.client_token_hash,
        label=row.label,
        profile_id=row.profile_id,
        portfolio=bool(row.portfolio),
        demo=bool(row.demo),
        enabled=bool(row.enabled),
        enterprise_ids=tuple(enterprise_ids),
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
