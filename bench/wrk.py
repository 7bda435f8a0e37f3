"""One load-generator run: wrk with bench/getall.lua over loopback, exact percentiles back."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

LUA = Path(__file__).with_name("getall.lua")


@dataclass(frozen=True)
class Run:
    requests_per_s: float
    items_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def items_per_body(url: str, bodies: Path) -> float:
    """Mean items a body of the file answers with (each asked once, checked to be a 200)."""
    counts = []
    with httpx.Client(timeout=120) as client:
        for line in bodies.read_text().splitlines():
            response = client.post(url, content=line, headers={"content-type": "application/json"})
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
            counts.append(len(response.json()["OrderItems"]))
    return statistics.mean(counts)


def run(url: str, bodies: Path, *, connections: int, seconds: int, items: float) -> Run:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    completed = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env={**os.environ, "BODIES": str(bodies)},
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    rate = summary["requests"] / (summary["duration_us"] / 1e6)
    return Run(
        requests_per_s=rate,
        items_per_s=rate * items,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        errors=summary["non2xx"] + summary["socket_errors"],
    )


def median_run(runs: list[Run]) -> Run:
    return Run(
        requests_per_s=statistics.median(r.requests_per_s for r in runs),
        items_per_s=statistics.median(r.items_per_s for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
    )
