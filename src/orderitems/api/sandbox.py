"""What the sandbox does to an ordinary request: its injected fault and its clock.

A fault answers as the real API would (docs/behaviour.md#faults-and-sandbox and #errors: the error
body, ``Retry-After`` on 429 and 503 when asked for), so a client cannot tell it from the real
thing except by the request log and, in development mode, the body's ``Details``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from orderitems.api.call import system_clock
from orderitems.api.errors import error_response
from orderitems.state.records import SYSTEM_CLOCK, ClockSetting, FaultRule

INJECTABLE_STATUSES = (408, 429, 500, 503)
RETRY_AFTER_STATUSES = (429, 503)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_MESSAGES = {
    408: "The request could not be processed in time; request less data at once.",
    429: "Too many requests for this AccessToken; retry later.",
    500: "An unexpected error occurred; quote request id {request_id}.",
    503: "The service is temporarily unavailable; retry later.",
}


def fault_name(rule: FaultRule) -> str:
    """The metric label: the status, else the kind of delay."""
    if rule.status is not None:
        return str(rule.status)
    return "database_delay" if rule.database_delay_ms else "delay"


def fault_message(rule: FaultRule, request_id: str) -> str | None:
    if rule.status is None:
        return None
    return rule.message or _MESSAGES[rule.status].format(request_id=request_id)


def fault_response(rule: FaultRule, request_id: str, *, development: bool) -> Response | None:
    """The injected answer, or None when the fault only slows the request down."""
    message = fault_message(rule, request_id)
    if rule.status is None or message is None:
        return None
    details: dict[str, object] | None = {"InjectedFault": rule.id} if development else None
    response = error_response(rule.status, message, request_id, details)
    if rule.retry_after is not None and rule.status in RETRY_AFTER_STATUSES:
        response.headers["Retry-After"] = str(rule.retry_after)
    return response


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def now_micros() -> int:
    return time.time_ns() // 1000


def clock_for(setting: ClockSetting) -> Callable[[], datetime]:
    """``Call.clock`` under the sandbox clock: frozen, shifted, or the system's own."""
    if setting == SYSTEM_CLOCK:
        return system_clock
    return lambda: from_micros(setting.now_us(now_micros()))
