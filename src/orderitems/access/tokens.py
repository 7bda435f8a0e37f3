"""Authenticating the body's tokens and resolving the enterprises a request may see.

Tokens are high-entropy secrets, so an unsalted SHA-256 is the right hash: it is looked up by
equality, and a slow password hash would only cost every request time
(docs/behaviour.md#tokens-and-scope).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.engine import Connection

from orderitems.domain.errors import Forbidden, InvalidInput, Unauthenticated
from orderitems.store import tokens as token_store
from orderitems.store.documents import to_micros
from orderitems.store.reference import existing_enterprise_ids


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def new_token() -> str:
    """A fresh token in the Mews shape: 32 and 31 upper-case hex digits joined by a dash."""
    return f"{secrets.token_hex(16).upper()}-{secrets.token_hex(16).upper()[:31]}"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: which access token, whose profile, which enterprises."""

    access_token_id: int
    label: str
    profile_id: uuid.UUID
    portfolio: bool
    enterprise_ids: tuple[uuid.UUID, ...]


def authenticate(
    connection: Connection, *, client_token: str, access_token: str, allow_demo: bool
) -> Principal:
    """401 unless both tokens are known, enabled, paired, and (outside demo mode) not demo."""
    credentials = token_store.find_credentials(connection, hash_token(access_token))
    client_ok = credentials is not None and hmac.compare_digest(
        credentials.client_token_hash, hash_token(client_token)
    )
    if credentials is None or not client_ok:
        raise Unauthenticated("Invalid ClientToken or AccessToken.")
    if not credentials.enabled:
        raise Unauthenticated("The AccessToken or its ClientToken is disabled.")
    if credentials.demo and not allow_demo:
        raise Unauthenticated("Demo tokens are accepted only when the server runs with --demo.")
    return Principal(
        access_token_id=credentials.access_token_id,
        label=credentials.label,
        profile_id=credentials.profile_id,
        portfolio=credentials.portfolio,
        enterprise_ids=credentials.enterprise_ids,
    )


def resolve_scope(
    principal: Principal, requested: Sequence[uuid.UUID] | None
) -> tuple[uuid.UUID, ...]:
    """Omitted: every enterprise in scope. Given: all must be in scope, else 403."""
    if requested is None:
        return principal.enterprise_ids
    outside = sorted({e for e in requested if e not in principal.enterprise_ids})
    if outside:
        raise Forbidden(
            "Invalid EnterpriseIds: "
            + ", ".join(str(e) for e in outside)
            + " not within the scope of the AccessToken.",
            field="EnterpriseIds",
        )
    return tuple(sorted(set(requested)))


def create_access_token(
    connection: Connection,
    *,
    client_token: str,
    client_name: str,
    access_token: str,
    label: str,
    enterprise_ids: Sequence[uuid.UUID],
    profile_id: uuid.UUID | None = None,
    portfolio: bool | None = None,
    demo: bool = False,
) -> int:
    """Store a token pair (the client token is reused when it exists)."""
    if not enterprise_ids:
        raise InvalidInput("An access token needs at least one enterprise.")
    missing = set(enterprise_ids) - existing_enterprise_ids(connection, enterprise_ids)
    if missing:
        raise InvalidInput("Unknown enterprises: " + ", ".join(map(str, sorted(missing))))
    now_us = to_micros(datetime.now(UTC))
    client_hash = hash_token(client_token)
    client_id = token_store.find_client_token(connection, client_hash)
    if client_id is None:
        client_id = token_store.insert_client_token(
            connection, token_hash=client_hash, name=client_name, demo=demo, now_us=now_us
        )
    return token_store.insert_access_token(
        connection,
        token_hash=hash_token(access_token),
        client_token_id=client_id,
        label=label,
        profile_id=profile_id or uuid.uuid4(),
        portfolio=len(enterprise_ids) > 1 if portfolio is None else portfolio,
        demo=demo,
        enterprise_ids=sorted(set(enterprise_ids)),
        now_us=now_us,
    )
