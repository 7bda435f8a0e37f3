"""Drift drills: an answer made to look like a future version of the API
(docs/behaviour.md#faults-and-sandbox).

Mews adds properties and enum values several times a year and asks clients to tolerate them.
A drill adds unknown properties to the envelope, to each order item and to every object nested
in it, and gives ``percent`` of the items unknown values of the chosen enums, with a ``Data``
of the shape the API gives a new discriminator (the discriminator names the property holding
its data). Every choice is drawn from a generator seeded by the drill's seed and the item's
``Id`` (the envelope's by the seed alone), so an item looks the same in every answer, on any
page, for the same seed: a failing test replays with its seed.

The names and values come from the fixed vocabularies below, none of which the contract
knows; the tests' contract check (tests/contract.py) accepts exactly these additions when an
answer carries ``DRILL_HEADER``, and reports them.
"""

from __future__ import annotations

import decimal
import random
import uuid
from typing import Any

import msgspec
from starlette.responses import Response

from orderitems.state.records import DrillSetting

#: Marks a drilled answer, with the drill's seed: a contract check must allow its additions.
DRILL_HEADER = "Orderitems-Drill"

#: Unknown properties of the envelope, of an item, and of an object nested in an item.
ENVELOPE_PROPERTIES = ("ApiVersion", "Warnings", "TotalCount")
ITEM_PROPERTIES = ("ChannelCode", "LoyaltyProgramId", "ReportingCategory", "SettlementState")
NESTED_PROPERTIES = ("Precision", "Source", "Label", "Rounding")

#: The enum-like values a drill can change, by the name a drill gives them, and their
#: unknown values. ``DataDiscriminator`` values are also the properties holding their data.
ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "Type": ("ParkingFee", "GiftCardPurchase", "ChannelCommission"),
    "DataDiscriminator": ("GiftCard", "Package"),
    "AccountingState": ("Pending", "Reopened"),
    "RevenueType": ("Commission", "Voucher"),
    "TaxCode": ("EU-OSS-S", "UK-2027-R", "US-NY-HOTEL"),
}
DRILLABLE_ENUMS = tuple(ENUM_VALUES)
#: The branches of ``Data`` the contract knows, each null unless the discriminator names it.
DATA_BRANCHES = ("Rebate", "Product", "AllowanceDiscount", "AllowanceProfits")
#: Which schema enum each drilled value lands in (for the contract check).
ENUM_SCHEMAS = {
    "Type": "OrderItemTypeEnum",
    "DataDiscriminator": "OrderItemDataDiscriminatorEnum",
    "AccountingState": "AccountingStateEnum",
    "RevenueType": "RevenueTypeEnum",
}
#: Every property name a drill may add, anywhere.
ADDED_PROPERTIES = frozenset(
    ENVELOPE_PROPERTIES + ITEM_PROPERTIES + NESTED_PROPERTIES + ENUM_VALUES["DataDiscriminator"]
)

#: Numbers are read as ``Decimal`` and written back as they were: no amount changes.
_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")


def _unknown_value(rng: random.Random) -> Any:
    """A value of any JSON kind: a tolerant client keeps whatever it gets."""
    return rng.choice(
        [
            f"drill-{rng.randrange(10**6)}",
            rng.randrange(10**6),
            rng.random() < 0.5,
            None,
            {"Code": f"X{rng.randrange(100)}", "Enabled": True},
            [rng.randrange(100), f"v{rng.randrange(100)}"],
        ]
    )


def _add_nested(node: Any, rng: random.Random) -> None:
    """One unknown property on every object below an item."""
    if isinstance(node, list):
        for child in node:
            _add_nested(child, rng)
        return
    if not isinstance(node, dict):
        return
    for child in list(node.values()):
        _add_nested(child, rng)
    node[rng.choice(NESTED_PROPERTIES)] = _unknown_value(rng)


def _future_data(rng: random.Random, data: Any, legacy: bool) -> dict[str, Any]:
    discriminator = rng.choice(ENUM_VALUES["DataDiscriminator"])
    branch = {f"{discriminator}Id": str(uuid.UUID(int=rng.getrandbits(128), version=4))}
    branch["Code"] = f"{discriminator[:2].upper()}-{rng.randrange(10**5):05d}"
    if legacy:
        return {"Discriminator": discriminator, "Value": branch}
    # As the API writes Data: every branch it has, null but the discriminator's.
    known = [k for k in data if k != "Discriminator"] if isinstance(data, dict) else []
    others = dict.fromkeys(known or DATA_BRANCHES)
    return {"Discriminator": discriminator, **others, discriminator: branch}


def _retax(node: Any, codes: dict[str, str], rng: random.Random) -> None:
    """The same unknown code for each known code throughout one item."""
    if isinstance(node, list):
        for child in node:
            _retax(child, codes, rng)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("Code", "TaxRateCode") and isinstance(value, str):
                node[key] = codes.setdefault(value, rng.choice(ENUM_VALUES["TaxCode"]))
            else:
                _retax(value, codes, rng)


def _drill_item(
    item: dict[str, Any], seed: int, properties: bool, percent: float, enums: tuple[str, ...]
) -> None:
    rng = random.Random(f"{seed}:{item.get('Id')}")
    changes = rng.random() * 100 < percent
    if changes:
        legacy = "OrderId" in item and "Type" not in item
        for name in enums:
            if name == "DataDiscriminator":
                item["Data"] = _future_data(rng, item.get("Data"), legacy)
            elif name == "TaxCode":
                _retax(
                    {k: item[k] for k in ("Amount", "UnitAmount", "OriginalAmount") if k in item},
                    {},
                    rng,
                )
            elif name in item:
                item[name] = rng.choice(ENUM_VALUES[name])
    if properties:
        for value in list(item.values()):
            _add_nested(value, rng)
        item[rng.choice(ITEM_PROPERTIES)] = _unknown_value(rng)


def _items(node: Any) -> list[dict[str, Any]]:
    """Order items anywhere in an answer: the objects with an ``AccountingState``."""
    if isinstance(node, list):
        return [item for child in node for item in _items(child)]
    if not isinstance(node, dict):
        return []
    if "AccountingState" in node and "Id" in node:
        return [node]
    return [item for child in node.values() for item in _items(child)]


def drill_body(
    body: bytes, *, seed: int, properties: bool, percent: float, enums: tuple[str, ...]
) -> bytes:
    """The answer ``body`` as the drill shows it; a body that is not a JSON object is kept."""
    try:
        document = _decoder.decode(body)
    except msgspec.DecodeError:
        return body
    if not isinstance(document, dict):
        return body
    for item in _items(document):
        _drill_item(item, seed, properties, percent, enums)
    if properties:
        rng = random.Random(f"{seed}:envelope")
        for container in [document, *_containers(document)]:
            container[rng.choice(ENVELOPE_PROPERTIES)] = _unknown_value(rng)
    return _encoder.encode(document)


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The legacy answer's per-reservation objects, envelopes of their own items."""
    reservations = document.get("Reservations")
    return (
        [r for r in reservations if isinstance(r, dict)] if isinstance(reservations, list) else []
    )


def drilled_response(response: Response, drill: DrillSetting) -> Response:
    """A 200 answer as ``drill`` shows it, marked with ``DRILL_HEADER``."""
    body = drill_body(
        bytes(response.body),
        seed=drill.seed,
        properties=drill.properties,
        percent=drill.percent,
        enums=drill.enums,
    )
    answer = Response(body, status_code=response.status_code, media_type=response.media_type)
    answer.headers[DRILL_HEADER] = str(drill.seed)
    return answer
