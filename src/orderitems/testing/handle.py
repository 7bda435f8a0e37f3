"""The test's handle on a demo server: its tokens, the admin API, and assertions on the log.

Every call is an admin API request (docs/behaviour.md#faults-and-sandbox), over a socket to a
served process or through the in-process transport, so both modes act on the same state the
same way. Admin requests are neither rate-limited nor written to the request log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from orderitems.access.admin_token import DEMO_ADMIN_TOKEN
from orderitems.api.admin import PREFIX
from orderitems.fixtures.demo import DEMO_TOKENS, DemoToken

#: The console's item search takes at most 3 calendar months at once; 60 days always fit.
_SEARCH_SPAN = timedelta(days=60)
_TIME_FILTERS = ("CreatedUtc", "UpdatedUtc", "ConsumedUtc", "CanceledUtc", "ClosedUtc")


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a client sends as ``ClientToken``/``AccessToken``, and what the token reaches."""

    client_token: str
    access_token: str
    client: str
    label: str
    enterprise_ids: tuple[uuid.UUID, ...]

    def body(self, **fields: object) -> dict[str, object]:
        """A request body with this pair's tokens, e.g. ``pair.body(Limitation={"Count": 10})``."""
        return {
            "ClientToken": self.client_token,
            "AccessToken": self.access_token,
            "Client": "orderitems test",
            **fields,
        }


def _pair(token: DemoToken) -> TokenPair:
    return TokenPair(
        client_token=token.client_token,
        access_token=token.access_token,
        client=token.client_name,
        label=token.label,
        enterprise_ids=token.enterprise_ids,
    )


def _named_tokens() -> dict[str, TokenPair]:
    """The first published pair's two tokens, the Berlin and portfolio tokens, then the other
    published pairs as ``gross_uk_2``, ``net_us_2`` ... ``net_us_4``."""
    named = {
        "gross_uk": _pair(DEMO_TOKENS[0]),
        "net_us": _pair(DEMO_TOKENS[1]),
        "berlin": _pair(DEMO_TOKENS[-2]),
        "portfolio": _pair(DEMO_TOKENS[-1]),
    }
    for number in range(2, 5):
        named[f"gross_uk_{number}"] = _pair(DEMO_TOKENS[2 * number - 2])
        named[f"net_us_{number}"] = _pair(DEMO_TOKENS[2 * number - 1])
    return named


TOKENS: Mapping[str, TokenPair] = _named_tokens()


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """One request of the request log (oldest first in ``Sandbox.requests``)."""

    at: datetime
    request_id: str
    operation: str | None
    token_label: str | None
    status: int
    message: str | None
    fault_id: int | None
    retry_after: int | None
    items: int | None

    @classmethod
    def from_view(cls, view: Mapping[str, Any]) -> LoggedCall:
        return cls(
            at=datetime.fromisoformat(view["AtUtc"].replace("Z", "+00:00")),
            request_id=view["RequestId"],
            operation=view["Operation"],
            token_label=view["TokenLabel"],
            status=view["Status"],
            message=view["Message"],
            fault_id=view["FaultId"],
            retry_after=view.get("RetryAfter"),
            items=view.get("Items"),
        )


def _utc(moment: datetime | str) -> str:
    if isinstance(moment, str):
        return moment
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _item_id(item: object) -> str:
    if isinstance(item, Mapping):
        return str(item["Id"]).lower()
    found = getattr(item, "id", item)
    return str(found).lower()


class Sandbox:
    """Faults, clock, limits and the request log of one demo server, and its tokens.

    ``restore`` (the fixtures call it before each test) puts back the pristine demo data and
    forgets faults, clock, log and windows.
    """

    tokens: Mapping[str, TokenPair] = TOKENS

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        restore: Callable[[], None] | None = None,
        admin_token: str = DEMO_ADMIN_TOKEN,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._restore = restore
        self._admin = httpx.Client(
            base_url=self.base_url + PREFIX,
            transport=transport,
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=60,
        )

    def close(self) -> None:
        self._admin.close()

    def restore(self) -> None:
        if self._restore is None:
            self._send("POST", "/reset")
        else:
            self._restore()

    def _send(self, method: str, path: str, body: object = None, **params: Any) -> Any:
        response = self._admin.request(method, path, json=body, params=params or None)
        if response.status_code >= 400:
            raise AssertionError(
                f"admin API {method} {path}: {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    # Faults ------------------------------------------------------------------------------

    def fault(
        self,
        status: int | None = None,
        *,
        retry_after: int | None = None,
        delay_ms: int = 0,
        database_delay_ms: int = 0,
        count: int | None = None,
        percent: float | None = None,
        operation: str | None = None,
        token: str | TokenPair | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Inject a fault (``POST /_sandbox/faults``); ``token`` a name of ``tokens`` or a pair."""
        spec: dict[str, object] = {"DelayMs": delay_ms, "DatabaseDelayMs": database_delay_ms}
        optional = {
            "Status": status,
            "RetryAfter": retry_after,
            "Count": count,
            "Percent": percent,
            "Operation": operation,
            "AccessToken": None if token is None else self.token(token).access_token,
            "Message": message,
        }
        spec.update({name: value for name, value in optional.items() if value is not None})
        added: dict[str, Any] = self._send("POST", "/faults", spec)
        return added

    def faults(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._send("GET", "/faults")
        return found

    def clear_faults(self) -> None:
        self._send("DELETE", "/faults")

    # Drift drills (docs/behaviour.md#faults-and-sandbox) -------------------------------------

    def start_drill(
        self,
        *,
        seed: int | None = None,
        percent: float = 25.0,
        enums: Sequence[str] | None = None,
        properties: bool = True,
        operation: str | None = None,
        token: str | TokenPair | None = None,
    ) -> dict[str, Any]:
        """Answers look like a future API version until ``stop_drill`` or the next reset; the
        returned ``Seed`` replays the same answers (``PUT /_sandbox/drill``)."""
        spec: dict[str, object] = {"Percent": percent, "Properties": properties}
        optional = {
            "Seed": seed,
            "Enums": None if enums is None else list(enums),
            "Operation": operation,
            "AccessToken": None if token is None else self.token(token).access_token,
        }
        spec.update({name: value for name, value in optional.items() if value is not None})
        drill: dict[str, Any] = self._send("PUT", "/drill", spec)
        return drill

    def stop_drill(self) -> None:
        self._send("DELETE", "/drill")

    # Clock, limits, log --------------------------------------------------------------------

    def freeze_clock(self, at: datetime | str | None = None) -> dict[str, Any]:
        body = {"Frozen": True} if at is None else {"NowUtc": _utc(at), "Frozen": True}
        shown: dict[str, Any] = self._send("PUT", "/clock", body)
        return shown

    def set_clock(self, at: datetime | str) -> dict[str, Any]:
        """The server's clock runs on from ``at``."""
        shown: dict[str, Any] = self._send("PUT", "/clock", {"NowUtc": _utc(at), "Frozen": False})
        return shown

    def release_clock(self) -> None:
        self._send("DELETE", "/clock")

    def clear_limits(self) -> None:
        """Forget every rate-limit window."""
        self._send("DELETE", "/limits")

    def clear_requests(self) -> None:
        self._send("DELETE", "/requests")

    def token(self, name: str | TokenPair) -> TokenPair:
        return name if isinstance(name, TokenPair) else self.tokens[name]

    def requests(
        self,
        operation: str | None = None,
        *,
        token: str | TokenPair | None = None,
        status: int | None = None,
    ) -> list[LoggedCall]:
        """The API requests served since the reset, oldest first, optionally only those of an
        operation (``orderItems/getAll``, any casing), a token or a status."""
        views = self._send("GET", "/requests", limit=1_000_000)
        calls = [LoggedCall.from_view(view) for view in reversed(views)]
        if operation is not None:
            calls = [c for c in calls if (c.operation or "").lower() == operation.lower()]
        if token is not None:
            label = self.token(token).label
            calls = [c for c in calls if c.token_label == label]
        if status is not None:
            calls = [c for c in calls if c.status == status]
        return calls

    # Assertions ----------------------------------------------------------------------------

    def assert_rate_respected(self) -> None:
        """After each 429 the same token's next request came at least its Retry-After later
        (docs/behaviour.md#limits); a 429 without Retry-After sets no wait."""
        calls = self.requests()
        ignored: list[str] = []
        for index, refused in enumerate(calls):
            if refused.status != 429 or not refused.retry_after:
                continue
            following = [c for c in calls[index + 1 :] if c.token_label == refused.token_label]
            if not following:
                continue
            waited = (following[0].at - refused.at).total_seconds()
            if waited < refused.retry_after:
                ignored.append(
                    f"{refused.token_label}: 429 with Retry-After {refused.retry_after} at"
                    f" {refused.at.isoformat()}, next request {waited:.3f} s later"
                    f" ({following[0].operation}, {following[0].status})"
                )
        assert not ignored, "the client ignored Retry-After:\n" + "\n".join(ignored)

    def assert_complete(
        self, items_seen: Iterable[object], *, token: str | TokenPair = "portfolio", **filters: Any
    ) -> None:
        """Every item the filter matches in the token's enterprises is among ``items_seen``
        (ids, ``{"Id": ...}`` bodies or objects with an ``id``). ``filters`` are getAll's, in
        its names: ``CreatedUtc=(start, end)`` (any length), ``AccountingStates=[...]`` ..."""
        seen = {_item_id(item) for item in items_seen}
        expected = self.matching_ids(token=token, **filters)
        missing = sorted(expected - seen)
        assert not missing, (
            f"the client missed {len(missing)} of the {len(expected)} items the filter matches,"
            f" e.g. {', '.join(missing[:5])}"
        )

    def matching_ids(self, *, token: str | TokenPair = "portfolio", **filters: Any) -> set[str]:
        """The ids of every item the filter matches, read through the admin API."""
        found: set[str] = set()
        for enterprise_id in self.token(token).enterprise_ids:
            for search in _searches(filters):
                cursor: str | None = None
                while True:
                    body = {**search, "EnterpriseId": str(enterprise_id), "Count": 1000}
                    if cursor is not None:
                        body["Cursor"] = cursor
                    page = self._send("POST", "/items", body)
                    items = page.get("OrderItems") or []
                    found.update(str(item["Id"]).lower() for item in items)
                    cursor = page.get("Cursor")
                    if len(items) < 1000 or cursor is None:
                        break
        return found


def _searches(filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The filters as item searches, the first time filter split into spans the search takes."""
    search = dict(filters)
    for name in _TIME_FILTERS:
        value = search.get(name)
        if value is None:
            continue
        start, end = (value["StartUtc"], value["EndUtc"]) if isinstance(value, Mapping) else value
        start, end = (_parse(start), _parse(end))
        spans = []
        while True:
            stop = min(start + _SEARCH_SPAN, end)
            spans.append({**search, name: {"StartUtc": _utc(start), "EndUtc": _utc(stop)}})
            if stop >= end:
                return spans
            start = stop
    return [search]


def _parse(moment: datetime | str) -> datetime:
    if isinstance(moment, datetime):
        return moment
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))
