"""Request bodies for the load generator: the issue's realistic filter mix, sampled from data.

Mix (one body in four each): a 3-month ``UpdatedUtc`` window; one service with a 3-month
``ConsumedUtc`` window; a batch of ``BillIds``; a batch of ``ServiceOrderIds``. Requests go to
the three demo properties through their own tokens, and one in six through the portfolio
token (all three properties, merged). Ids are drawn at random positions of each property's
index, so every run of a seed asks the same questions of the same data.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.datasets import ACCESS_TOKENS, CLIENT_TOKEN, PORTFOLIO_TOKEN
from orderitems.fixtures.demo import DEMO_ENTERPRISES
from orderitems.fixtures.generator import demo_services
from orderitems.store.engine import connect
from orderitems.store.schema import order_items as t

CLIENT = CLIENT_TOKEN
TOKENS = ACCESS_TOKENS
PORTFOLIO = PORTFOLIO_TOKEN
#: Window starts are drawn from the part of the demo period that has happened.
PERIOD_START = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD_DAYS = 600
#: About 1000 items: bills and service orders hold about nine items each in the demo data.
ID_BATCH = 120
#: Bodies in the mix's file, replayed in turn by wrk.
MIX_BODIES = 48


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _window(rng: random.Random) -> dict[str, str]:
    """Three calendar months from a random day (the longest interval getAll accepts)."""
    start = PERIOD_START + timedelta(days=rng.randrange(PERIOD_DAYS), hours=rng.randrange(24))
    start = start.replace(day=min(start.day, 28))
    months = start.month - 1 + 3
    end = start.replace(year=start.year + months // 12, month=months % 12 + 1)
    return {"StartUtc": _time(start), "EndUtc": _time(end)}


def _random_ids(
    connection: sa.Connection,
    rng: random.Random,
    enterprise: uuid.UUID,
    column: sa.Column[Any],
    how_many: int,
) -> list[str]:
    """Ids at random points of the property's index on ``column`` (one index seek each)."""
    found: set[uuid.UUID] = set()
    statement = (
        sa.select(column)
        .where(t.c.enterprise_id == enterprise, column >= sa.bindparam("at", type_=column.type))
        .order_by(column)
        .limit(1)
    )
    for _ in range(how_many * 3):
        if len(found) >= how_many:
            break
        value = connection.execute(statement, {"at": uuid.UUID(int=rng.getrandbits(128))}).first()
        if value is not None:
            found.add(value[0])
    return sorted(str(v) for v in found)


def mix(url: str, *, bodies: int = MIX_BODIES, seed: int = 5) -> list[dict[str, Any]]:
    """Filter sets without ``Limitation``, in a fixed shuffled order."""
    rng = random.Random(seed)
    engine = connect(url)
    chosen: list[dict[str, Any]] = []
    with engine.connect() as connection:
        for n in range(bodies):
            enterprise = DEMO_ENTERPRISES[n % len(DEMO_ENTERPRISES)]
            token = PORTFOLIO if n % 6 == 5 else TOKENS[enterprise.id]
            shape = n % 4
            filters: dict[str, Any]
            if shape == 0:
                filters = {"UpdatedUtc": _window(rng)}
            elif shape == 1:
                service = rng.choice(demo_services([enterprise])[:2])  # stays and F&B
                filters = {"ServiceIds": [str(service.id)], "ConsumedUtc": _window(rng)}
                if token == PORTFOLIO:
                    token = TOKENS[enterprise.id]
            elif shape == 2:
                filters = {
                    "BillIds": _random_ids(connection, rng, enterprise.id, t.c.bill_id, ID_BATCH)
                }
            else:
                column = t.c.service_order_id
                filters = {
                    "ServiceOrderIds": _random_ids(connection, rng, enterprise.id, column, ID_BATCH)
                }
            chosen.append(
                {"ClientToken": CLIENT, "AccessToken": token, "Client": "bench", **filters}
            )
    engine.dispose()
    rng.shuffle(chosen)
    return chosen


def with_count(filters: Sequence[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    return [{**f, "Limitation": {"Count": count}} for f in filters]


def write_bodies(path: Path, bodies: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in bodies))
    return path


def simplest(*, bodies: int = 48, seed: int = 7) -> list[dict[str, Any]]:
    """The cheapest page there is: one property's 3-month ``CreatedUtc`` window, walked down
    its creation-order index. It separates what the mix's queries cost from what the server
    costs per request (the peer step)."""
    rng = random.Random(seed)
    chosen = []
    for n in range(bodies):
        enterprise = DEMO_ENTERPRISES[n % len(DEMO_ENTERPRISES)]
        chosen.append(
            {
                "ClientToken": CLIENT,
                "AccessToken": TOKENS[enterprise.id],
                "Client": "bench",
                "CreatedUtc": _window(rng),
            }
        )
    return chosen
