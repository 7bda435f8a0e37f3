"""The soak's faults and its watch on the server's resources.

Faults touch only what the soak owns: the PostgreSQL backends whose ``application_name`` is the
soak server's (never another session's), and the soak's own ``redis-server``.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.soak.world import RedisServer, Server
from orderitems.store.engine import connect

#: How long Redis stays down when it is killed: long enough for requests to meet it down.
REDIS_OUTAGE_SECONDS = 2.0


def terminate_backends(admin_url: str, application_name: str) -> int:
    """Terminate every backend of the soak's server; how many there were."""
    admin = connect(admin_url)
    try:
        with admin.begin() as connection:
            killed = connection.execute(
                sa.text(
                    "select count(*) filter (where pg_terminate_backend(pid))"
                    " from pg_stat_activity"
                    " where application_name = :name and pid <> pg_backend_pid()"
                ),
                {"name": application_name},
            )
            return int(killed.scalar_one())
    finally:
        admin.dispose()


async def restart_redis(redis: RedisServer) -> float:
    """Kill Redis as a crash would, keep it down a moment, start it again on the same port;
    the seconds it was unreachable."""
    started = time.monotonic()
    await asyncio.to_thread(redis.kill)
    await asyncio.sleep(REDIS_OUTAGE_SECONDS)  # the outage itself, deliberately this long
    await asyncio.to_thread(redis.start)
    return time.monotonic() - started


@dataclass
class Fault:
    round: int
    at_seconds: float
    kind: str
    detail: float


@dataclass
class Sampler:
    """The resident memory (MB) and open files of each of the server's processes, over time."""

    server: Server
    started: float = field(default_factory=time.monotonic)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def sample(self, round_number: int, sent: int) -> None:
        processes: dict[str, dict[str, float]] = {}
        for pid in self.server.pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                files = len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                continue  # ended between the listing and the read
            rss = next(
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmRSS:")
            )
            processes[str(pid)] = {"rss_mb": round(rss, 1), "open_files": files}
        self.samples.append(
            {
                "seconds": round(time.monotonic() - self.started, 1),
                "round": round_number,
                "requests": sent,
                "processes": processes,
            }
        )

    async def run(self, every: float, progress: Any) -> None:
        """Sample every ``every`` seconds until cancelled; ``progress()`` gives (round, sent)."""
        while True:
            self.sample(*progress())
            await asyncio.sleep(every)  # the sampling period


def resource_trend(samples: list[dict[str, Any]], warm_rounds: int = 1) -> dict[str, Any]:
    """Per process seen from the end of warm-up to the end: its first and last figures and
    the highest; flat when RSS grew by at most 10 % (or 16 MB) and open files by at most 8.

    The parent (the first process listed) is included; a process that appeared after warm-up
    is a restarted worker and is reported as such."""
    after = [s for s in samples if s["round"] >= warm_rounds] or samples
    if not after:
        return {"flat": False, "processes": {}, "restarted": [], "processes_replaced": 0}
    first, last = after[0]["processes"], after[-1]["processes"]
    seen = set().union(*(s["processes"] for s in samples))
    report: dict[str, Any] = {
        "processes": {},
        "restarted": sorted(set(last) - set(first)),
        # Over the whole run: uvicorn's supervisor replaces a worker that does not answer its
        # health check in time (a slow start on a busy machine, or a hung worker).
        "processes_replaced": len(seen) - max(len(s["processes"]) for s in samples),
    }
    flat = not report["restarted"]
    for pid in first:
        series = [s["processes"][pid] for s in after if pid in s["processes"]]
        rss = [p["rss_mb"] for p in series]
        files = [p["open_files"] for p in series]
        grew_mb = rss[-1] - rss[0]
        grew_files = files[-1] - files[0]
        ok = grew_mb <= max(16.0, rss[0] * 0.10) and grew_files <= 8 and pid in last
        flat = flat and ok
        report["processes"][pid] = {
            "rss_mb": {"first": rss[0], "last": rss[-1], "max": max(rss)},
            "open_files": {"first": files[0], "last": files[-1], "max": max(files)},
            "flat": ok,
        }
    report["flat"] = flat
    return report


def log_exceptions(text: str) -> dict[str, int]:
    """How many tracebacks of each exception the server logged (a chained one counts each)."""
    counts: dict[str, int] = {}
    lines = text.splitlines()
    for n, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        for after in lines[n + 1 :]:
            if after and not after[0].isspace():
                name = after.split(":", 1)[0]
                counts[name] = counts.get(name, 0) + 1
                break
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))
