"""One settings object, read from ``ORDERITEMS_*`` environment variables; CLI flags override.

Nothing reads the environment at import time: ``Settings.from_env(os.environ)`` is called by
the CLI and by the server factory of each worker process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

PREFIX = "ORDERITEMS_"

Positive = Annotated[int, msgspec.Meta(ge=1)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every knob of the server. Names map to ``ORDERITEMS_<NAME>`` in upper case."""

    database_url: str = "sqlite:///orderitems.db"
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000
    workers: Positive = 1
    #: Serve the public Mews demo tokens and create demo data on first run.
    demo: bool = False
    demo_items: Positive = 20_000
    demo_seed: int = 1
    #: Fill the error body's ``Details`` with the validation problems (docs/behaviour.md#errors).
    development: bool = False
    #: Require the exact path casing of each operation (docs/behaviour.md#addressing).
    strict_paths: bool = False
    #: Require exact PascalCase property names and reject unknown properties.
    strict_json: bool = False
    #: How long a getAll time filter may be: ``calendar`` (3 calendar months, the day
    #: clamped) or ``days:N`` (at most N days) (docs/behaviour.md#intervals).
    interval_limit: Annotated[str, msgspec.Meta(pattern=r"^(calendar|days:[1-9][0-9]{0,3})$")] = (
        "calendar"
    )
    #: Whether ``AccountIds`` alone satisfies getAll's "at least one filter" rule.
    account_ids_qualify: bool = True
    #: Answer the deprecated ``reservations/getAllItems`` with 400 pointing to getAll, to
    #: rehearse its discontinuation (docs/behaviour.md#legacy-operation).
    get_all_items_retired: bool = False
    max_body_bytes: Positive = 1024 * 1024
    #: Accept a body whatever its ``Content-Type`` says, or none (docs/compatibility.md).
    lenient_content_type: bool = False
    db_pool_size: Positive = 8
    log_level: str = "info"
    #: ``text`` (key=value pairs) or ``json`` (one object per line) access-log lines.
    log_format: Literal["text", "json"] = "text"
    #: The sliding-window limit per AccessToken (docs/behaviour.md#limits).
    rate_limit: bool = True
    rate_limit_requests: Positive = 200
    rate_limit_window_seconds: Seconds = 30.0
    #: Database work of one request past this many seconds is cancelled and answered 408.
    deadline_seconds: Seconds = 30.0
    #: Where state shared by every server process lives (limiter windows, sandbox faults,
    #: clock and request log): this Redis when set, else the database itself.
    redis_url: str = ""
    #: Redis connections per server process; a request waits for a free one (a blocking pool).
    redis_max_connections: Positive = 64
    #: Seconds to wait for a free Redis connection, to connect, or for a reply; then 503.
    redis_timeout_seconds: Seconds = 2.0
    #: When the limiter's store (Redis or the database) cannot answer: ``closed`` refuses the
    #: request with 503 and Retry-After; ``open`` serves it unlimited and logs a warning.
    rate_limit_store_failure: Literal["closed", "open"] = "closed"
    #: The admin API under ``/_sandbox/`` and ``orderitems sandbox``; ``demo`` implies it.
    sandbox: bool = False
    #: Bearer token of the admin API and of ``/metrics`` on the API port; empty: the published
    #: default for a demo server on a loopback bind, else one made up at start
    #: (docs/behaviour.md#admin-token).
    admin_token: str = ""
    #: The browser console at ``/`` outside sandbox and demo mode, read-only (with them it is
    #: always on, and can change things); it needs the admin token.
    console: bool = False
    request_log_size: Positive = 1000
    #: Prometheus text at ``GET /metrics``.
    metrics: bool = True
    #: ``host:port`` of a listener of its own for ``GET /metrics``, without a token; empty:
    #: ``/metrics`` on the API port, for the admin token only.
    metrics_address: str = ""
    #: A request's line and headers must arrive within this many seconds of its first byte
    #: (or of the connection, for a silent one); else 408 and the connection is closed.
    header_timeout_seconds: Seconds = 10.0
    #: The whole body must arrive within this many seconds of the headers; else 408.
    body_timeout_seconds: Seconds = 20.0
    #: Request line and headers larger than this answer 431.
    max_header_bytes: Positive = 32 * 1024
    #: After SIGTERM or SIGINT, requests in flight get this long to finish (docs/scaling.md).
    shutdown_grace_seconds: Seconds = 30.0
    #: After SIGTERM or SIGINT, keep accepting (``/readyz`` answering 503) this long before
    #: closing the listener, so that a load balancer probing ``/readyz`` stops sending first.
    drain_delay_seconds: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    #: What ``/readyz`` allows each of its checks (database, schema, limiter store).
    readiness_timeout_seconds: Seconds = 2.0
    #: ``serve`` starts although the database is unreachable or its schema not yet this
    #: version's, answering ``/readyz`` (and API requests) 503 until it can serve.
    wait_for_database: bool = False

    @property
    def lock_wait_seconds(self) -> float:
        """How long a server's SQLite write waits for another writer (an import) before it
        answers 503: shorter than the deadline, so the client learns to retry, not to ask
        for less."""
        return min(5.0, self.deadline_seconds / 2)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Read ``ORDERITEMS_*`` variables; keyword overrides (from CLI flags) win when not None."""
        names = set(cls.__struct_fields__)
        values: dict[str, Any] = {}
        for key, value in environ.items():
            if key.startswith(PREFIX) and key[len(PREFIX) :].lower() in names:
                values[key[len(PREFIX) :].lower()] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(values, cls, strict=False)
        except msgspec.ValidationError as exc:
            raise ValueError(f"invalid setting: {exc}") from exc

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a worker process."""
        encoded = msgspec.to_builtins(self)
        return {
            PREFIX + name.upper(): str(value).lower() if isinstance(value, bool) else str(value)
            for name, value in encoded.items()
        }
