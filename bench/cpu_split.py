"""Where the CPU goes during a load run: the server's processes, PostgreSQL, wrk, the rest.

Usage: ``python -m bench.cpu_split {ours|bare} DATABASE_URL BODIES [CONNECTIONS] [SECONDS]``

Reads every process's CPU time from /proc before and after one wrk run, so the split covers
the PostgreSQL backends serving the server as well as the server itself.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from bench import servers, wrk

TICK = os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[str, float]]:
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        found[int(stat.parent.name)] = (name, (int(fields[11]) + int(fields[12])) / TICK)
    return found


def main() -> None:
    who, url, bodies = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    connections = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    seconds = int(sys.argv[5]) if len(sys.argv) > 5 else 10
    probe = json.loads(bodies.read_text().splitlines()[0])
    if who == "ours":
        start = servers.ours(url, workers=2, probe=probe)
    else:
        driver = "sqlite" if url.startswith("sqlite") else "psycopg"
        start = servers.bare(url, workers=2, probe=probe, driver=driver)
    with start as running:
        items = wrk.items_per_body(running.url, bodies)
        mine = set(running.pids())
        before = cpu_by_process()
        started = time.monotonic()
        result = wrk.run(running.url, bodies, connections=connections, seconds=seconds, items=items)
        elapsed = time.monotonic() - started
        after = cpu_by_process()
    groups: dict[str, float] = {}
    for pid, (name, used) in after.items():
        spent = used - before.get(pid, (name, 0.0))[1]
        group = "server" if pid in mine else name if name in {"postgres", "wrk"} else "other"
        groups[group] = groups.get(group, 0.0) + spent
    capacity = elapsed * (os.cpu_count() or 1)
    print(result)
    for group, spent in sorted(groups.items(), key=lambda g: -g[1]):
        per_request = spent / max(result.requests_per_s * elapsed, 1) * 1000
        print(f"{group:8} {spent / capacity:6.1%} of the CPU, {per_request:.2f} ms per request")


if __name__ == "__main__":
    main()
