"""A small client of one's own for orderItems/getAll, written with httpx: the kind of code the
orderitems pytest plugin tests (see test_ledger_client.py).

It pages until the cursor is null, waits ``Retry-After`` after a 429, and asks for a smaller
page after a 408.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

GET_ALL = "/api/connector/v1/orderItems/getAll"


class LedgerClient:
    def __init__(
        self,
        base_url: str,
        client_token: str,
        access_token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int = 500,
    ) -> None:
        self.http = httpx.Client(base_url=base_url, transport=transport, timeout=30)
        self.tokens = {"ClientToken": client_token, "AccessToken": access_token}
        self.page_size = page_size

    def items_created(self, start: str, end: str) -> Iterator[dict[str, Any]]:
        """Every order item created in [start, end) (at most 3 months), newest first."""
        cursor: str | None = None
        count = self.page_size
        while True:
            limitation: dict[str, Any] = {"Count": count}
            if cursor is not None:
                limitation["Cursor"] = cursor
            body = {
                **self.tokens,
                "Client": "Ledger example 1.0",
                "CreatedUtc": {"StartUtc": start, "EndUtc": end},
                "Limitation": limitation,
            }
            response = self.http.post(GET_ALL, json=body)
            if response.status_code == 429:
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code == 408:
                count = max(1, count // 2)
                continue
            response.raise_for_status()
            page = response.json()
            yield from page["OrderItems"]
            cursor = page["Cursor"]
            if not page["OrderItems"] or cursor is None:
                return
