"""The admin token: which one a server accepts, and the one check every admin surface calls.

The sandbox admin API, ``/metrics`` on the API port and the console all call
``check_admin_token`` (docs/behaviour.md#admin-token). The published default is accepted only on a
loopback bind; a server that others can reach and was given no token gets a random one from
``serving_admin_token`` in the parent ``serve`` process, before its workers start, so every
worker accepts the same one.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

import msgspec

from orderitems.domain.errors import Unauthenticated
from orderitems.settings import Settings

#: The published admin token: a demo server on a loopback bind accepts it when given none.
DEMO_ADMIN_TOKEN = "ORDERITEMS-SANDBOX-ADMIN"
#: The shortest token a server on a non-loopback bind accepts.
MIN_LENGTH = 16
#: 24 random bytes: 192 bits, 32 URL-safe characters.
GENERATED_BYTES = 24
HOW_TO_SET = (
    "set ORDERITEMS_ADMIN_TOKEN to at least 16 random characters, e.g."
    " ORDERITEMS_ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'),"
    " or leave it unset and the server makes up one and prints it once"
)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: ``localhost``, 127.0.0.0/8 or ``::1``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: others may well reach it


def weak_admin_token(settings: Settings) -> str | None:
    """Why the configured token is refused on this bind, or None (docs/behaviour.md#admin-token).

    Never quotes the token: the message goes to the terminal and the log.
    """
    token = settings.admin_token
    if not token or is_loopback(settings.host):
        return None
    if token == DEMO_ADMIN_TOKEN:
        problem = "is the published default"
    elif len(token) < MIN_LENGTH:
        problem = f"has {len(token)} characters, fewer than {MIN_LENGTH}"
    else:
        return None
    return (
        f"The admin token in ORDERITEMS_ADMIN_TOKEN {problem}, and the server listens on"
        f" {settings.host}, which others can reach: {HOW_TO_SET}."
    )


def needs_admin_token(settings: Settings) -> bool:
    """Whether anything of this server answers only the admin token: the sandbox admin API,
    the console, or ``/metrics`` on the API port."""
    on_api_port = settings.metrics and not settings.metrics_address
    return settings.sandbox or settings.demo or settings.console or on_api_port


def accepted_admin_token(settings: Settings) -> str | None:
    """The token this server process accepts; None means every admin request is a 401."""
    if settings.admin_token:
        return None if weak_admin_token(settings) else settings.admin_token
    return DEMO_ADMIN_TOKEN if settings.demo and is_loopback(settings.host) else None


@dataclass(frozen=True)
class ServingToken:
    """What ``serve`` does about the admin token before its workers start."""

    #: The settings the workers get: with the generated token, when one was made.
    settings: Settings
    #: Made up at start (print it once), else None.
    generated: str | None


def serving_admin_token(settings: Settings) -> ServingToken:
    """The token every worker of this server shares; ``ValueError`` for a weak one.

    Given none, a loopback demo server keeps the published default; any other server that
    needs one gets a random one (docs/behaviour.md#admin-token).
    """
    problem = weak_admin_token(settings)
    if problem is not None:
        raise ValueError(problem)
    if not needs_admin_token(settings) or accepted_admin_token(settings) is not None:
        return ServingToken(settings, None)
    generated = secrets.token_urlsafe(GENERATED_BYTES)
    return ServingToken(msgspec.structs.replace(settings, admin_token=generated), generated)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


def authorise_admin(authorization: str | None, token: str | None) -> None:
    """``Authorization: Bearer <token>``, else ``Unauthenticated`` (``check_admin_token``)."""
    scheme, _, given = (authorization or "").partition(" ")
    check_admin_token(given.strip() if scheme.lower() == "bearer" else None, token)


def check_admin_token(given: str | None, token: str | None) -> None:
    """The one admin-token check, in constant time: the bearer header's token or the console's
    session cookie. Both sides are hashed first, so not even the token's length shows in the
    timing; neither the token nor what was sent is ever put in a message or a log line.
    """
    if token is None or given is None or not hmac.compare_digest(_digest(given), _digest(token)):
        raise Unauthenticated(
            "Missing or wrong admin token: send 'Authorization: Bearer <admin token>'."
        )
