"""Which admin token a server accepts, by bind and settings (docs/behaviour.md#admin-token).

The real-process tests are in tests/sandbox/test_admin_token_processes.py; these walk the
whole table of binds and settings, which would take a server start each.
"""

from __future__ import annotations

import pytest

from orderitems.access.admin_token import (
    DEMO_ADMIN_TOKEN,
    accepted_admin_token,
    authorise_admin,
    is_loopback,
    serving_admin_token,
)
from orderitems.domain.errors import Unauthenticated
from orderitems.settings import Settings

STRONG = "0123456789abcdef"  # exactly the shortest accepted


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.7", False),
        ("example.internal", False),
    ],
)
def test_only_addresses_this_machine_alone_reaches_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("settings", "accepted", "generated"),
    [
        (Settings(demo=True), DEMO_ADMIN_TOKEN, False),
        (Settings(demo=True, host="localhost"), DEMO_ADMIN_TOKEN, False),
        (Settings(demo=True, host="0.0.0.0"), None, True),
        (Settings(sandbox=True), None, True),
        (Settings(sandbox=True, metrics=False, host="0.0.0.0"), None, True),
        (Settings(), None, True),  # /metrics on the API port needs one
        (Settings(metrics=False), None, False),
        (Settings(metrics_address="127.0.0.1:9100"), None, False),
        (Settings(demo=True, admin_token="short"), "short", False),
        (Settings(sandbox=True, host="0.0.0.0", admin_token=STRONG), STRONG, False),
    ],
)
def test_the_token_each_server_accepts_and_whether_serve_makes_one_up(
    settings: Settings, accepted: str | None, generated: bool
) -> None:
    assert accepted_admin_token(settings) == accepted
    serving = serving_admin_token(settings)
    assert (serving.generated is not None) is generated
    if serving.generated is not None:
        assert len(serving.generated) >= 22, "at least 128 bits"
        assert serving.generated != serving_admin_token(settings).generated
        assert accepted_admin_token(serving.settings) == serving.generated
    else:
        assert serving.settings == settings


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("0123456789abcde", "15 characters, fewer than 16"),
        (DEMO_ADMIN_TOKEN, "the published default"),
    ],
)
def test_a_weak_token_is_refused_on_another_bind_with_how_to_set_one(token: str, said: str) -> None:
    settings = Settings(sandbox=True, host="0.0.0.0", admin_token=token)
    with pytest.raises(ValueError, match=said) as refused:
        serving_admin_token(settings)
    assert "ORDERITEMS_ADMIN_TOKEN" in str(refused.value)
    assert token not in str(refused.value)
    assert accepted_admin_token(settings) is None, "nor accepted by a worker started anyway"


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", f"Bearer {STRONG}x", f"Bearer {STRONG[:-1]}", STRONG, f"Basic {STRONG}"],
)
def test_anything_but_the_bearer_token_is_unauthenticated(authorization: str | None) -> None:
    with pytest.raises(Unauthenticated, match="admin token") as refused:
        authorise_admin(authorization, STRONG)
    assert STRONG not in refused.value.message


@pytest.mark.parametrize("authorization", [f"Bearer {STRONG}", f"bearer  {STRONG} "])
def test_the_bearer_token_is_accepted(authorization: str) -> None:
    authorise_admin(authorization, STRONG)


def test_no_token_accepts_nothing() -> None:
    with pytest.raises(Unauthenticated):
        authorise_admin("Bearer ", None)
