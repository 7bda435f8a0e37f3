"""Schemathesis hooks: generated requests carry real tokens and ids, so they reach the real logic.

Loaded by ``scripts/fuzz`` (``tests/conformance/schemathesis.toml``) against a ``--demo`` server
at ``$ORDERITEMS_FUZZ_URL``. Without them nearly every request stops at 401 (random tokens) or
400 (random ids, "at least one filter", 3-month intervals) and never reaches a query.

* Every case gets a demo token pair where the generated one is a well-formed string (a
  malformed token is the negative case itself and is left alone).
* A positive case (schema-valid by construction) is also made to obey the rules the schema
  cannot say (docs/behaviour.md): ``Count`` 1..1000, both interval ends and at most 3 months, real
  item, reservation and cursor ids of the token's enterprises, currencies with a rate, and
  cancelable items only. Only values the schema allows are chosen, so schemathesis still sees
  a positive case, and ``positive_data_acceptance`` can demand 2xx (or 401/403) of it.
* ``filter_case`` drops positive getAll cases without a qualifying filter: their only possible
  answer is the documented 400 "at least one filter", and they would use up the budget.

Choices are drawn from a ``random.Random`` seeded with the case itself, so a case replays the
same way (``st replay``).
"""

from __future__ import annotations

import copy
import os
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.hooks import HookContext

from orderitems.fixtures.demo import DEMO_PERIOD_END, DEMO_PERIOD_START, DEMO_TOKENS, DemoToken

BASE_URL = os.environ.get("ORDERITEMS_FUZZ_URL", "http://127.0.0.1:8000")
GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
GET_ALL_ITEMS = "/api/connector/v1/reservations/getAllItems"

QUALIFYING = (
    "OrderItemIds",
    "AccountIds",
    "ServiceOrderIds",
    "ServiceIds",
    "BillIds",
    "CreatedUtc",
    "UpdatedUtc",
    "ClosedUtc",
)
INTERVALS = ("CreatedUtc", "UpdatedUtc", "ConsumedUtc", "CanceledUtc", "ClosedUtc")
ID_FILTERS = {
    "OrderItemIds": "Id",
    "AccountIds": "AccountId",
    "ServiceOrderIds": "ServiceOrderId",
    "ServiceIds": "ServiceId",
    "BillIds": "BillId",
}
#: The demo rates connect these (README "Currency conversion").
CURRENCIES = ("GBP", "EUR", "USD", "CHF", "CZK", "JPY", "SEK")
STATES = ("Open", "Closed", "Inactive", "Canceled")
CANCELABLE = {"Open", "Inactive", "Canceled"}
#: Shorter than any 3 calendar months (Nov 30 + 3 months = Feb 28 is 90 days).
SHORTEST_QUARTER = timedelta(days=89)


def _token(label_start: str) -> DemoToken:
    return next(t for t in DEMO_TOKENS if t.label.startswith(label_start))


UK = _token("demo client 1: gross")
US = _token("demo client 1: net")
PORTFOLIO = _token("demo: portfolio")


class Pool:
    """What one token can see: ids by filter, cancelable items and reservations.

    A plain class: schemathesis executes this file without registering it as a module, which
    ``dataclass`` needs.
    """

    def __init__(self, token: DemoToken) -> None:
        self.token = token
        self.values: dict[str, list[str]] = {}
        self.cancelable: list[str] = []
        self.by_enterprise: dict[str, list[str]] = {}
        self.reservations: list[str] = []


def _envelope(token: DemoToken, **body: Any) -> dict[str, Any]:
    return {
        "ClientToken": token.client_token,
        "AccessToken": token.access_token,
        "Client": "orderitems fuzz hooks",
        **body,
    }


def _fetch_items(http: httpx.Client, token: DemoToken) -> list[dict[str, Any]]:
    """Every item the token sees, 3 months at a time, paging with the cursor."""
    items: list[dict[str, Any]] = []
    start = DEMO_PERIOD_START
    while start < DEMO_PERIOD_END:
        end = min(start + SHORTEST_QUARTER, DEMO_PERIOD_END)
        interval = {"StartUtc": start.isoformat(), "EndUtc": end.isoformat()}
        cursor = None
        while True:
            limitation = {"Count": 1000, "Cursor": cursor}
            body = _envelope(token, CreatedUtc=interval, Limitation=limitation)
            page = http.post(GET_ALL, json=body).raise_for_status().json()
            items.extend(page["OrderItems"])
            cursor = page["Cursor"]
            if cursor is None or len(page["OrderItems"]) < 1000:
                break
        start = end
    return items


def _reservations(http: httpx.Client, token: DemoToken, candidates: list[str]) -> list[str]:
    """The service orders that getAllItems accepts as reservations (one call each)."""
    found = []
    for candidate in candidates[:60]:
        body = _envelope(token, ReservationIds=[candidate])
        if http.post(GET_ALL_ITEMS, json=body).status_code == 200:
            found.append(candidate)
    return found


def _load_pools() -> dict[str, Pool]:
    with httpx.Client(base_url=BASE_URL, timeout=60) as http:
        pools = {}
        for token in (UK, US, PORTFOLIO):
            items = _fetch_items(http, token)
            pool = Pool(token)
            for name, key in ID_FILTERS.items():
                pool.values[name] = sorted({str(i[key]) for i in items if i[key] is not None})
            pool.cancelable = [i["Id"] for i in items if i["AccountingState"] in CANCELABLE]
            for item in items:
                pool.by_enterprise.setdefault(item["EnterpriseId"], []).append(item["Id"])
            if token is UK:
                space_orders = {i["ServiceOrderId"] for i in items if i["Type"] == "SpaceOrder"}
                pool.reservations = _reservations(http, token, sorted(space_orders))
            pools[token.access_token] = pool
        uk = pools[UK.access_token]
        if not (uk.cancelable and uk.reservations and uk.values["OrderItemIds"]):
            raise RuntimeError(f"the demo server at {BASE_URL} has too little data to fuzz")
        return pools


POOLS = _load_pools()


def _rng(case: Case[Any]) -> random.Random:
    return random.Random(repr((case.operation.path, case.body)))


def _is_positive(case: Case[Any]) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _with_token(body: dict[str, Any], token: DemoToken) -> None:
    for name, value in (("ClientToken", token.client_token), ("AccessToken", token.access_token)):
        if isinstance(body.get(name), str) and body[name]:
            body[name] = value


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _interval(value: Any, rng: random.Random) -> Any:
    """Both ends, Start <= End, at most 3 months: as generated when possible, else in the demo."""
    if not isinstance(value, dict):
        return value
    start, end = _parse(value.get("StartUtc")), _parse(value.get("EndUtc"))
    if start is None or end is None or rng.random() < 0.5:
        start = DEMO_PERIOD_START + timedelta(days=rng.randrange(0, 700))
        end = start + timedelta(days=rng.randrange(0, 90))
        return {"StartUtc": _format(start), "EndUtc": _format(end)}
    if start > end:
        value = {"StartUtc": value["EndUtc"], "EndUtc": value["StartUtc"]}
        start, end = end, start
    if end - start > SHORTEST_QUARTER:
        return {"StartUtc": value["StartUtc"], "EndUtc": _format(start + SHORTEST_QUARTER)}
    return value


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _real_ids(ids: Any, choices: list[str], rng: random.Random) -> Any:
    if not isinstance(ids, list) or not choices:
        return ids
    return [rng.choice(choices) if rng.random() < 0.8 else i for i in ids]


def _positive_get_all(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    pool = POOLS[rng.choice((UK, US, PORTFOLIO)).access_token]
    _with_token(body, pool.token)
    for name in ID_FILTERS:
        body[name] = _real_ids(body.get(name), pool.values.get(name, []), rng)
    own = [str(e) for e in pool.token.enterprise_ids]
    if body.get("EnterpriseIds") is not None and rng.random() < 0.7:
        body["EnterpriseIds"] = rng.sample(own, rng.randint(1, len(own)))
    limitation = body.get("Limitation")
    if isinstance(limitation, dict):
        count = limitation.get("Count")
        if isinstance(count, int) and not 1 <= count <= 1000:
            limitation["Count"] = 1 + abs(count) % 1000
        if limitation.get("Cursor") is not None:
            # The cursor is an item of the narrowed scope (any item visible to the token would do).
            scope = body.get("EnterpriseIds") or own
            items = [i for e in scope for i in pool.by_enterprise.get(str(e), [])]
            limitation["Cursor"] = rng.choice(items or pool.values["OrderItemIds"])
    for name in INTERVALS:
        body[name] = _interval(body.get(name), rng)
    if body.get("Currency") is not None:
        body["Currency"] = rng.choice(CURRENCIES)
    return body


def _positive_cancel(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    pool = POOLS[UK.access_token]
    _with_token(body, UK)
    ids = body.get("OrderItemIds")
    if isinstance(ids, list):
        body["OrderItemIds"] = [rng.choice(pool.cancelable) for _ in ids]
    return body


def _positive_get_all_items(body: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    pool = POOLS[UK.access_token]
    _with_token(body, UK)
    ids = body.get("ReservationIds")
    if isinstance(ids, list):
        body["ReservationIds"] = [rng.choice(pool.reservations) for _ in ids]
    if body.get("Currency") is not None:
        body["Currency"] = rng.choice(CURRENCIES)
    states = body.get("AccountingStates")
    if isinstance(states, list):
        body["AccountingStates"] = [rng.choice(STATES) for _ in states]
    return body


POSITIVE = {
    GET_ALL: _positive_get_all,
    CANCEL: _positive_cancel,
    GET_ALL_ITEMS: _positive_get_all_items,
}


@schemathesis.hook
def filter_case(context: HookContext, case: Case[Any]) -> bool:
    """Positive cases the contract allows but docs/behaviour.md documents as a 400: none sent.

    The contract leaves ``requestBody.required`` false, so schemathesis counts a request
    without a body as valid, but the tokens travel in it ("Body must be a JSON object"); a
    getAll without a qualifying filter can only be answered 400 "at least one filter".
    """
    if not _is_positive(case):
        return True
    body = case.body
    if not isinstance(body, dict):
        return False
    return case.operation.path != GET_ALL or any(body.get(n) is not None for n in QUALIFYING)


@schemathesis.hook
def map_case(context: HookContext, case: Case[Any]) -> Case[Any]:
    """Real tokens everywhere; positive cases also obey the rules the schema cannot express."""
    if not isinstance(case.body, dict):
        return case
    rng = _rng(case)
    body = copy.deepcopy(case.body)
    if _is_positive(case):
        case.body = POSITIVE[case.operation.path](body, rng)
    else:
        _with_token(body, UK)
        case.body = body
    return case


@schemathesis.hook
def before_add_examples(context: HookContext, examples: list[Case[Any]]) -> None:
    """The contract's own examples (the examples phase) get the same treatment."""
    for case in examples:
        map_case(context, case)
