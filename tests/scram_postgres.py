"""A PostgreSQL cluster of the tests' own, for what the shared server cannot show.

The shared server trusts every local login; a cluster made here with ``initdb`` (as the
``postgres`` user, in a temporary directory, on a free loopback port) asks for a password by
SCRAM, so a wrong one is refused as on a real deployment. Started once per session; without
the PostgreSQL binaries or the ``postgres`` user its tests are skipped with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import free_port

PASSWORD = "right-password"


@dataclass(frozen=True)
class ScramPostgres:
    port: int

    def url(self, *, password: str = PASSWORD, database: str = "postgres") -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_postgres(*command: str) -> None:
    prefix = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def scram_postgres() -> Iterator[ScramPostgres]:
    binaries = _binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user to run initdb as")
    directory = Path(tempfile.mkdtemp(prefix="orderitems-own-pg-"))
    os.chown(directory, owner.pw_uid, owner.pw_gid)
    (directory / "password").write_text(PASSWORD + "\n")
    os.chown(directory / "password", owner.pw_uid, owner.pw_gid)
    data = directory / "data"
    port = free_port()
    _as_postgres(
        str(binaries / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=scram-sha-256",
        f"--pwfile={directory / 'password'}",
        "--no-sync",
    )
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {directory} -c fsync=off"
        " -c shared_buffers=16MB -c max_connections=20"
    )
    # The server's output goes to a log file: a pipe would stay open as long as it runs.
    log = str(directory / "server.log")
    _as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-l", log, "-o", options, "-w", "start")
    try:
        yield ScramPostgres(port)
    finally:
        _as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)
