"""A live ``orderitems serve --demo`` for tests: a process on a free loopback port.

It serves a copy of a pristine demo file (testing/snapshot.py) with the settings the test asks
for, from a clean environment (no ``ORDERITEMS_*`` variable of the caller leaks in), and is
ready when ``/readyz`` answers 200.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from orderitems.settings import Settings
from orderitems.testing.handle import TOKENS, Sandbox, TokenPair
from orderitems.testing.snapshot import DemoCopy

#: What every test server differs in from ``serve --demo``: a request log long enough for the
#: assertions of one test, and the request log of every answer.
TEST_DEFAULTS: Mapping[str, Any] = {"request_log_size": 100_000}
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_settings(database_url: str, port: int, overrides: Mapping[str, Any]) -> Settings:
    """The server's settings: demo mode on this file and port, then the test's own; invalid
    ones fail here, before any process starts."""
    values = {**TEST_DEFAULTS, **overrides}
    values.update(database_url=database_url, host="127.0.0.1", port=port, demo=True)
    try:
        return Settings.from_env({}, **values)
    except ValueError as exc:
        raise ValueError(f"orderitems marker: {exc}") from None


class DemoServer:
    """``serve --demo`` on ``copy``; ``base_url``, ``tokens`` and ``sandbox`` for the test."""

    tokens: Mapping[str, TokenPair] = TOKENS

    def __init__(self, copy: DemoCopy, overrides: Mapping[str, Any], log_path: Path) -> None:
        self.copy = copy
        self.port = free_port()
        self.settings = test_settings(copy.database_url, self.port, overrides)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environment = {k: v for k, v in os.environ.items() if not k.startswith("ORDERITEMS_")}
        environment.update(self.settings.to_env())
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from orderitems.cli import main; main()", "serve"],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.sandbox = Sandbox(self.base_url, restore=copy.restore)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"orderitems serve exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"orderitems serve not ready in {START_SECONDS} s")
            time.sleep(0.05)  # the poll's interval; the deadline above bounds the wait

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        self.sandbox.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
