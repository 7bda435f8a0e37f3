"""How ``python -m bench`` measures, in one place: the harness runs with these values and
``bench.report`` describes the method from them, so the page cannot drift from the code."""

from __future__ import annotations

#: Server worker processes of every app measured (ours, the bare app).
WORKERS = 2
#: wrk connections: full pages (Count 1000), one request at a time, small pages (Count 10).
FULL_CONNECTIONS = 8
SERIAL_CONNECTIONS = 1
SMALL_CONNECTIONS = 32
#: wrk runs per figure (the median is reported), their length and the warm-up before them.
RUNS = 3
SECONDS = 10
WARM_UP_SECONDS = 2
#: Before each step, wait until less than this share of the CPU is busy, for at most PATIENCE s.
QUIET = 0.15
PATIENCE = 900.0
#: Counts of the two page sizes.
FULL_COUNT = 1000
SMALL_COUNT = 10
