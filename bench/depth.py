"""Depth: page 1 against page 1000 of one keyset traversal, one request at a time.

The traversal is the London property's stays (``ServiceIds``, ``Count`` 100), so page 1000
starts 99,900 items deep. Both pages are then timed by wrk with one connection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from bench import method, servers, workload, wrk
from orderitems.fixtures.demo import DEMO_ENTERPRISES
from orderitems.fixtures.generator import demo_services

OUT = Path(__file__).with_name("out")
PAGES = 1000
COUNT = 100
#: One worker, one connection: the latency of one page, without queueing.
WORKERS = 1


def traversal_bodies(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    london = DEMO_ENTERPRISES[0]
    stays = demo_services([london])[0]
    body: dict[str, Any] = {
        "ClientToken": workload.CLIENT,
        "AccessToken": workload.TOKENS[london.id],
        "Client": "bench",
        "ServiceIds": [str(stays.id)],
        "Limitation": {"Count": COUNT},
    }
    first = json.loads(json.dumps(body))
    with httpx.Client(timeout=60) as client:
        for _ in range(PAGES - 1):
            answer = client.post(url, json=body).json()
            body["Limitation"] = {"Count": COUNT, "Cursor": answer["Cursor"]}
    return first, body


def measure(database_url: str, *, seconds: int, server: str) -> dict[str, Any]:
    probe: dict[str, Any] = {}
    with servers.ours(database_url, workers=WORKERS, probe=probe, server=server) as running:
        first, deep = traversal_bodies(running.url)
        pages = {}
        for name, body in (("page_1", first), (f"page_{PAGES}", deep)):
            path = workload.write_bodies(OUT / f"depth-{name}.jsonl", [body])
            pages[name] = (path, wrk.items_per_body(running.url, path))
        # Interleaved, so a drift of the machine's speed falls on both pages alike.
        runs: dict[str, list[wrk.Run]] = {name: [] for name in pages}
        for _ in range(method.RUNS):
            for name, (path, items) in pages.items():
                runs[name].append(
                    wrk.run(
                        running.url,
                        path,
                        connections=method.SERIAL_CONNECTIONS,
                        seconds=seconds,
                        items=items,
                    )
                )
        result: dict[str, Any] = {name: wrk.median_run(r).as_dict() for name, r in runs.items()}
    result["ratio_p50"] = result[f"page_{PAGES}"]["p50_ms"] / result["page_1"]["p50_ms"]
    print("depth", database_url, result)
    return result
