"""The README's quick start, run as a user would: `scripts/demo`, then the curl example."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from conftest import free_port
from contract import assert_matches_schema

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_curl_example() -> tuple[str, dict[str, object]]:
    """The URL and JSON body of the README's getAll curl example, exactly as written."""
    match = re.search(r"curl -s -X POST (\S+) \\\n.*?-d '(\{.*?\})'", README, re.S)
    assert match, "the README has a curl example for getAll"
    return match.group(1), json.loads(match.group(2))


class DemoServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.database = directory / "quickstart.db"
        self.log = directory / "server.log"

    def start(self) -> subprocess.Popen[bytes]:
        command = [
            str(ROOT / "scripts" / "demo"),
            "--port",
            str(self.port),
            "--db",
            f"sqlite:///{self.database}",
            "--demo-items",
            "3000",
        ]
        with self.log.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the demo server exited:\n{self.log.read_text()}")
            try:
                httpx.post(f"http://127.0.0.1:{self.port}/", timeout=1)
                return process
            except httpx.TransportError:
                time.sleep(0.2)
        process.kill()
        raise AssertionError(f"the demo server did not start:\n{self.log.read_text()}")

    @staticmethod
    def stop(process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_quick_start_answers_the_readme_example_and_reuses_its_database(
    tmp_path: Path,
) -> None:
    demo = DemoServer(tmp_path)
    url, body = readme_curl_example()
    process = demo.start()
    try:
        response = httpx.post(url.replace(":8000", f":{demo.port}"), json=body, timeout=30)
    finally:
        demo.stop(process)
    assert response.status_code == 200, response.text
    page = response.json()
    assert_matches_schema(page, "OrderItemResult")
    assert 0 < len(page["OrderItems"]) <= 100
    assert page["Cursor"] == page["OrderItems"][-1]["Id"]
    assert {item["EnterpriseId"] for item in page["OrderItems"]} == {
        "43b013c3-9d47-4ab2-bcae-41b7f9fe6e67"
    }, "the first demo pair reaches only the UK property"
    assert "Creating demo data" in demo.log.read_text()

    demo.log.write_text("")
    process = demo.start()
    try:
        again = httpx.post(url.replace(":8000", f":{demo.port}"), json=body, timeout=30)
    finally:
        demo.stop(process)
    assert "Creating demo data" not in demo.log.read_text(), "the database was reused"
    assert again.json() == page
