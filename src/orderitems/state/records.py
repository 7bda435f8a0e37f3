"""What the shared state holds besides limiter windows: fault rules, the sandbox clock and the
request log's lines (docs/behaviour.md#faults-and-sandbox). Plain values, whichever store
keeps them."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec


@dataclass(frozen=True, slots=True)
class FaultRule:
    """How matching requests are answered; ``remaining`` None means until removed."""

    id: int = 0
    status: int | None = None
    retry_after: int | None = None
    delay_ms: int = 0
    database_delay_ms: int = 0
    remaining: int | None = None
    percent: float = 100.0
    operation: str | None = None
    token_hash: bytes | None = None
    message: str | None = None


class ClockSetting(msgspec.Struct, frozen=True):
    """The sandbox clock: frozen at an instant, or the system clock shifted by an offset."""

    frozen_us: int | None = None
    offset_us: int = 0

    def now_us(self, system_us: int) -> int:
        return self.frozen_us if self.frozen_us is not None else system_us + self.offset_us


SYSTEM_CLOCK = ClockSetting()


class DrillSetting(msgspec.Struct, frozen=True, kw_only=True):
    """A drift drill (docs/behaviour.md#faults-and-sandbox): answers made to look like a future
    version of the API, the same for the same ``seed``. ``enums`` names which enum-like values
    change on ``percent`` of the items; ``operation`` and ``token_hash`` (hex) narrow it."""

    seed: int
    properties: bool = True
    percent: float = 0.0
    enums: tuple[str, ...] = ()
    operation: str | None = None
    token_hash: str | None = None

    def applies_to(self, operation: str | None, token_hash: bytes | None) -> bool:
        return (self.operation is None or self.operation == operation) and (
            self.token_hash is None
            or (token_hash is not None and self.token_hash == token_hash.hex())
        )


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One line of the request log; the token is kept as its hash and labelled when read."""

    at_us: int
    request_id: str
    method: str
    path: str
    operation: str | None
    token_hash: bytes | None
    status: int
    latency_ms: float
    message: str | None
    fault_id: int | None
    #: JSON for the console's view of one request (api/request_detail.py): the body with its
    #: tokens masked, a response excerpt, validation problems, the token's window at a 429.
    detail: str | None = None
    token_label: str | None = None
