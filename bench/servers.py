"""Servers under test, each in its own process group on a free loopback port.

``ours`` is ``orderitems serve`` exactly as a user runs it; ``bare`` is the reference app on
the same server software; ``prism`` is Stoplight Prism serving the spec statically. Every
one is stopped by signalling its own process group, never by name.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SPEC = ROOT / "src" / "orderitems" / "api" / "contract" / "connector-orderitems.openapi.json"
PRISM_DIR = Path("/tmp/orderitems-bench-prism")
PATH = "/api/connector/v1/orderItems/getAll"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def pids(self) -> list[int]:
        """The server process and every descendant (the workers)."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*"):
                children = (task / "children").read_text().split()
                queue.extend(int(c) for c in children)
        return found

    def rss_mb(self) -> dict[int, dict[str, float]]:
        """Resident memory of each process of the server in MB: all of it, and the private
        (anonymous) part; the rest is file pages such as SQLite's memory map of the database,
        which the OS page cache shares between processes and can drop under pressure."""
        sizes = {}
        for pid in self.pids():
            fields = {}
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in {"VmRSS", "RssAnon", "RssFile"}:
                    fields[name] = int(value.split()[0]) / 1024
            sizes[pid] = {
                "rss": fields["VmRSS"],
                "anon": fields["RssAnon"],
                "file": fields["RssFile"],
            }
        return sizes


def wait_ready(port: int, body: dict[str, object], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.post(f"http://127.0.0.1:{port}{PATH}", json=body, timeout=30)
            if response.status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # the poll's interval, under the deadline above
    raise RuntimeError(f"no server answered on port {port}")


@contextmanager
def started(
    name: str, command: list[str], env: dict[str, str], probe: dict[str, object]
) -> Iterator[Running]:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    log = (ROOT / "bench" / "out" / f"{name}.log").open("wb")
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Running(name, process, port)
    try:
        wait_ready(port, probe)
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def ours(
    url: str, *, workers: int, probe: dict[str, object], server: str = "uvicorn"
) -> AbstractContextManager[Running]:
    """``orderitems serve`` in production mode, with the per-token rate limit off (it would
    answer 429 after 200 requests) and everything else at its defaults. With Granian, the
    same worker factory that ``serve`` hands uvicorn, under ``granian`` itself."""
    env = {"ORDERITEMS_RATE_LIMIT": "false"}
    if server == "granian":
        metrics = ROOT / "bench" / "out" / "metrics"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        env |= {
            "ORDERITEMS_DATABASE_URL": url,
            "ORDERITEMS_LOG_LEVEL": "warning",
            "ORDERITEMS_WORKERS": str(workers),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        command = [
            str(BIN / "granian"), "--interface", "asgi", "--factory", "--workers", str(workers),
            "--port", "{port}", "--log-level", "warning", "--loop", "uvloop",
            "orderitems.cli.server:create_app_from_environ",
        ]  # fmt: skip
    else:
        command = [
            str(BIN / "orderitems"), "serve", "--no-demo", "--db", url, "--port", "{port}",
            "--workers", str(workers), "--log-level", "warning",
        ]  # fmt: skip
    return started(f"ours-{server}", command, env, probe)


def bare(
    url: str,
    *,
    workers: int,
    probe: dict[str, object],
    driver: str = "psycopg",
    server: str = "uvicorn",
) -> AbstractContextManager[Running]:
    env = {"BARE_DATABASE_URL": url, "BARE_DRIVER": driver}
    if server == "granian":
        command = [
            str(BIN / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--workers",
            str(workers),
            "--port",
            "{port}",
            "--log-level",
            "warning",
            "--loop",
            "uvloop",
            "bench.bare_app:create_app",
        ]
    else:
        command = [
            str(BIN / "uvicorn"),
            "--factory",
            "bench.bare_app:create_app",
            "--port",
            "{port}",
            "--workers",
            str(workers),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    return started(f"bare-{driver}-{server}", command, {**env, "PYTHONPATH": str(ROOT)}, probe)


def install_prism() -> Path:
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        PRISM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(PRISM_DIR), "@stoplight/prism-cli"],
            check=True,
        )
    return binary


def prism(probe: dict[str, object]) -> AbstractContextManager[Running]:
    binary = install_prism()
    command = [
        str(binary),
        "mock",
        str(SPEC),
        "--port",
        "{port}",
        "--host",
        "127.0.0.1",
        "--errors",
        "false",
        "-v",
        "error",
    ]
    return started("prism", command, {}, probe)


def version_of(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "?"


def as_json(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True)
