"""The plugin as a user meets it: pytest in a subprocess on a test file of a few lines, with
pytest-xdist (one server per worker) and a marker's settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USER_TESTS = """
import httpx
import pytest

GET_ALL = "/api/connector/v1/orderItems/getAll"


def test_server_answers(orderitems_server):
    body = orderitems_server.tokens["portfolio"].body(
        CreatedUtc={"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-02-01T00:00:00Z"},
        Limitation={"Count": 5},
    )
    response = httpx.post(orderitems_server.base_url + GET_ALL, json=body)
    assert response.status_code == 200
    assert len(response.json()["OrderItems"]) == 5


@pytest.mark.orderitems(strict_json=True)
def test_marker_settings(orderitems_sandbox):
    body = orderitems_sandbox.tokens["gross_uk"].body(
        CreatedUtc={"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-02-01T00:00:00Z"},
        limitation={"Count": 5},
    )
    response = httpx.post(orderitems_sandbox.base_url + GET_ALL, json=body)
    assert response.status_code == 400
    assert [c.status for c in orderitems_sandbox.requests("orderItems/getAll")] == [400]


def test_default_server_is_lenient(orderitems_sandbox):
    body = orderitems_sandbox.tokens["gross_uk"].body(
        CreatedUtc={"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-02-01T00:00:00Z"},
        limitation={"Count": 5},
    )
    response = httpx.post(orderitems_sandbox.base_url + GET_ALL, json=body)
    assert response.status_code == 200
"""


def test_a_users_test_file_passes_under_xdist(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\norderitems_demo_items = 300\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
