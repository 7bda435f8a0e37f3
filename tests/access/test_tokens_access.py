"""Authentication and enterprise scope (docs/behaviour.md#tokens-and-scope)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine

from factories import make_tenant
from orderitems.access.tokens import (
    Principal,
    authenticate,
    create_access_token,
    hash_token,
    new_token,
    resolve_scope,
)
from orderitems.domain.errors import Forbidden, InvalidInput, Unauthenticated
from orderitems.store.tokens import set_access_token_enabled


def principal(*enterprise_ids: uuid.UUID) -> Principal:
    return Principal(1, "t", uuid.uuid4(), len(enterprise_ids) > 1, tuple(enterprise_ids))


def test_a_known_pair_authenticates_with_its_profile_and_scope(engine: Engine) -> None:
    tenant = make_tenant(engine, enterprises=2)
    with engine.connect() as connection:
        found = authenticate(
            connection,
            client_token=tenant.client_token,
            access_token=tenant.access_token,
            allow_demo=False,
        )
    assert found.profile_id == tenant.profile_id
    assert set(found.enterprise_ids) == set(tenant.enterprise_ids)
    assert found.portfolio


def test_an_access_token_with_another_client_token_is_refused(engine: Engine) -> None:
    one, other = make_tenant(engine), make_tenant(engine)
    with engine.connect() as connection, pytest.raises(Unauthenticated):
        authenticate(
            connection,
            client_token=other.client_token,
            access_token=one.access_token,
            allow_demo=False,
        )


def test_a_revoked_token_is_refused(engine: Engine) -> None:
    tenant = make_tenant(engine)
    label = f"revoke-{uuid.uuid4().hex[:6]}"
    access = new_token()
    with engine.begin() as connection:
        create_access_token(
            connection,
            client_token=tenant.client_token,
            client_name="tests",
            access_token=access,
            label=label,
            enterprise_ids=tenant.enterprise_ids,
        )
        assert set_access_token_enabled(connection, label, enabled=False) == 1
    with engine.connect() as connection, pytest.raises(Unauthenticated, match="disabled"):
        authenticate(
            connection, client_token=tenant.client_token, access_token=access, allow_demo=False
        )


def test_demo_tokens_are_refused_outside_demo_mode(engine: Engine) -> None:
    tenant = make_tenant(engine)
    client, access = new_token(), new_token()
    with engine.begin() as connection:
        create_access_token(
            connection,
            client_token=client,
            client_name="demo",
            access_token=access,
            label=f"demo-{uuid.uuid4().hex[:6]}",
            enterprise_ids=tenant.enterprise_ids,
            demo=True,
        )
    with engine.connect() as connection:
        with pytest.raises(Unauthenticated, match="demo"):
            authenticate(connection, client_token=client, access_token=access, allow_demo=False)
        assert authenticate(connection, client_token=client, access_token=access, allow_demo=True)


def test_a_token_for_an_unknown_enterprise_cannot_be_created(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(InvalidInput, match="Unknown enterprises"):
        create_access_token(
            connection,
            client_token=new_token(),
            client_name="x",
            access_token=new_token(),
            label="x",
            enterprise_ids=[uuid.uuid4()],
        )


def test_omitted_enterprise_ids_mean_the_whole_scope() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert set(resolve_scope(principal(a, b), None)) == {a, b}


def test_enterprise_ids_outside_the_scope_are_forbidden() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(Forbidden, match=str(b)):
        resolve_scope(principal(a), [a, b])


def test_a_subset_of_the_scope_narrows_it_and_duplicates_collapse() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert resolve_scope(principal(a, b), [b, b]) == (b,)


def test_tokens_are_hashed_not_stored() -> None:
    token = new_token()
    assert len(hash_token(token)) == 32
    assert token.encode() not in hash_token(token)
    assert len(token) == 64
    assert token[32] == "-"
