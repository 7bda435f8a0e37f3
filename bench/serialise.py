"""The raw serialisation rate of a 1000-item page, against joining stored documents.

What a server that builds objects per item pays just to write the page: orjson over plain
dicts, msgspec over the ``OrderItem`` structs; and what ours pays: one ``bytes.join``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import msgspec
import orjson

from orderitems.api.get_all import encode_page
from orderitems.domain.items import OrderItem
from orderitems.store.items import Page

PAGE = 1000


def rate(work: Callable[[], object], *, seconds: float = 2.0) -> float:
    pages = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        pages += 1
    return pages * PAGE / (time.perf_counter() - started)


def measure(sqlite_url: str) -> dict[str, Any]:
    connection = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    documents = [
        row[0] for row in connection.execute("select document from order_items limit ?", (PAGE,))
    ]
    connection.close()
    as_dicts = [json.loads(d) for d in documents]
    as_structs = [msgspec.json.decode(d, type=OrderItem) for d in documents]
    encoder = msgspec.json.Encoder(decimal_format="number")
    result = {
        "orjson_dicts_items_per_s": rate(
            lambda: orjson.dumps({"OrderItems": as_dicts, "Cursor": None})
        ),
        "msgspec_structs_items_per_s": rate(
            lambda: encoder.encode({"OrderItems": as_structs, "Cursor": None})
        ),
        "join_stored_items_per_s": rate(lambda: encode_page(Page(documents, None))),
        "page_bytes": sum(map(len, documents)) + 30,
    }
    print("serialise", result)
    return result
