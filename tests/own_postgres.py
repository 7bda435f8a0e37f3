"""A PostgreSQL cluster of a test's own, in a temporary directory on a free port, that the test
may stop and start (the machine's shared server is never touched). initdb and pg_ctl run as
the ``postgres`` user when the tests run as root, as PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from conftest import free_port


def _binaries() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


class OwnPostgres:
    """``initdb`` once; ``start`` and ``stop`` as often as the test likes."""

    def __init__(self, directory: str, binaries: str) -> None:
        self.directory = directory
        self.data = os.path.join(directory, "data")
        self.binaries = binaries
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_postgres, os.path.join(self.binaries, tool), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def initdb(self) -> None:
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-D",
            self.data,
            "-l",
            os.path.join(self.directory, "log"),
            "-o",
            options,
        )

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data)

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    binaries = _binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl) on this machine")
    directory = tempfile.mkdtemp(prefix="orderitems-pg-")
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = OwnPostgres(directory, binaries)
    try:
        cluster.initdb()
        cluster.start()
        deadline = time.monotonic() + 30
        while not cluster.answers():
            assert time.monotonic() < deadline, "the test's PostgreSQL did not start"
            time.sleep(0.1)
        yield cluster
    finally:
        if os.path.exists(os.path.join(cluster.data, "postmaster.pid")):
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)
