"""The soak: many mixed requests against ``orderitems serve --workers 2`` while its stores fail.

``python -m bench.soak --requests 100000 --db sqlite|postgres|postgres+redis`` builds a database
of its own (a SQLite file, or a PostgreSQL schema on ``--postgres-url``), starts the server
(and, for ``postgres+redis``, a ``redis-server`` of its own on a free port), and sends rounds
of traffic: a mixed phase (reads, legacy reads, cancels, bad bodies, slow clients) during which
the soak terminates the server's own PostgreSQL backends (filtered by its ``application_name``)
or kills and restarts its Redis, then a burst of 250 concurrent requests on one fresh token.

It reports, as counts and rates: answers of 500 (must be none), whether every burst accepted
exactly the limit, worker RSS and open files over time (flat after the first round), and
whether every cancel was applied whole or not at all (read from the database afterwards).
The figures go to stdout and to ``bench/results/soak-<db>.json``; the server's log to
``bench/out/soak-<db>.log``. ``--max-seconds`` bounds the run; every process it started is
stopped and the PostgreSQL schema dropped, also on Ctrl-C. The exit status is 0 only when every
check passed.

Modules: ``world`` (database, data, tokens, the server and Redis processes), ``traffic`` (the
requests and how their answers are counted), ``faults`` (backends, Redis, resource samples),
``__main__`` (rounds, checks, the report).
"""
