"""The words of docs/benchmarks.md that explain results, keyed to the result they explain.

``MISSES`` holds the analysis of each target family (``report.Target.family``); the page shows
it only when a target of that family is missed. ``NOTES`` explain a results table. Figures never
appear as literals here: ``{name}`` fields are filled from the results by ``report.facts``, so
the words and the numbers cannot disagree.
"""

from __future__ import annotations

#: Target family -> (heading, analysis).
MISSES: dict[str, tuple[str, str]] = {
    "small-vs-prism": (
        "Small pages against Prism",
        """\
Prism (`@stoplight/prism-cli` in static mode, serving the packaged contract) answered
{prism_rps} requests/s on the mix's small pages, so the target asks for {prism_target}
requests/s on this machine. To separate a request's own cost from its query's, the peer step
also times the cheapest page there is (one property's 3-month `CreatedUtc` window, one index
walk: `workload.simplest`) for all three apps in one run: there the bare app reaches
{bare_x_prism_simplest} x Prism and ours {ours_x_prism_simplest} x.

- **Beyond a Python server on this machine.** The bare app only parses the body, runs the same
  SQL and joins the stored documents: it is the practical ceiling, and it stays under the
  target even on the cheapest page. On the mix it reaches {bare_x_prism_mix} x Prism, because
  there the SQL dominates.
- **Where the bare app's time goes on the mix** (py-spy): mostly inside SQLite. For a batch of
  {id_batch} bills or service orders, every item of the batch is collected and sorted to find
  the newest `Count`, whatever `Count` is.
- **What could move it:** id batches walked in page order and stopped after `Count` keys, as
  the time windows are; a request's own cost is the subject of the next target.""",
    ),
    "small-vs-bare": (
        "Small pages against the bare app",
        """\
Ours against the bare app on small pages of the mix: {small_vs_bare}. On the cheapest page
ours reaches {ours_x_bare_simplest} of the bare app, so what separates them is a request's own
cost, not its query.

- **Where ours' time goes** (py-spy on one worker; `bench/cpu_split.py` splits CPU by
  process): the page statement first, then the token lookup, which the bare app answers from
  memory; Starlette routing, validation, the deadline watchdog, the access log and metrics
  take the rest.
- **Why the same statements cost more in ours:** ours runs them on worker threads, so that a
  statement past its deadline can be interrupted without blocking the event loop. `sqlite3`
  releases the GIL for every step of a statement and must win it back from the event loop and
  the other threads; the bare app runs its statements on the event loop, one at a time.
- **Options not taken:** cache token lookups for a second per process (this delays
  revocation); run SQLite statements on the event loop under a deadline that only interrupts
  them; fold the token lookup into the page statement.""",
    ),
    "import": (
        "Bulk load",
        """\
`orderitems import` of {load_items} items into an empty database, the median of {load_runs}
runs: {import_postgresql} items/s into PostgreSQL (target {import_postgresql_target}) and
{import_sqlite} into SQLite (target {import_sqlite_target}).

- **How it loads:** lines are decoded and validated in worker processes (one per CPU,
  `--workers`) while one process writes, in one transaction. PostgreSQL takes hand-packed
  binary `COPY` rows; SQLite loads an empty table through the rollback journal, which writes
  each page once where the write-ahead log wrote it twice. The secondary indexes are dropped
  first and built once at the end.
- **Where the time goes** (py-spy): on PostgreSQL the writer mostly waits for the workers'
  decoding, validation and re-encoding, then for the index builds, which PostgreSQL already
  runs in parallel; on SQLite the inserts and the index builds take about equal shares, and
  SQLite builds indexes one at a time inside one transaction.
- **The floor on {cores} cores:** decoding keeps both cores busy for much of the run and the
  index builds can only follow the last row, so with this schema the attainable rate stays
  under these targets.
- **What could move it** (a schema decision, not taken): fewer indexes, or the documents in a
  table of their own, so that each PostgreSQL index build scans a narrow table.""",
    ),
}

#: Results table -> what it shows and why it matters.
NOTES: dict[str, str] = {
    "depth": """\
One traversal: one service's items with `Count` {depth_count}, so page {depth_pages} starts
{depth_offset} items deep; both pages are timed interleaved, one request at a time. Depth
stays flat because the cursor is the last item's id: its position is found by primary key and
the walk continues from it (keyset pagination).""",
    "storage": """\
An item is its JSON document plus its index entries. Documents are stored uncompressed: every
page would otherwise pay a decompression per item, and PostgreSQL compresses a row only once it
passes its TOAST threshold.""",
    "servers": """\
The same bodies on the SQLite set under uvicorn (with httptools and uvloop) and Granian;
`bench/servers.py` runs ours under either with the same worker factory. uvicorn stays the
default: small-page rates vary between runs on a virtual machine by more than the difference,
so compare the rows of one table only.""",
    "drivers": """\
The bare app's page statements on the 10M set, in process, one at a time. psycopg 3 is the
driver: asyncpg always prepares statements, and PostgreSQL then reuses a plan made without the
values, which sorts a busy `UpdatedUtc` window instead of walking it. psycopg lets the store
decide per statement (`store/driver.py`), has binary `COPY` for loads, cancels a statement
past its deadline from another thread, and is SQLAlchemy's synchronous driver, which the store
and its migrations use.""",
    "serialise": """\
What writing a page costs: a server that builds an object per item pays the first two rows
just to encode it; ours joins the stored documents (`bench/serialise.py`).""",
}
