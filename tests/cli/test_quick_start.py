"""The README's quick start, run as a user would: `scripts/demo`, then the curl example."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from contract import assert_matches_schema
from processes import ServerProcess, running

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def readme_curl_example() -> tuple[str, dict[str, object]]:
    """The URL and JSON body of the README's getAll curl example, exactly as written."""
    match = re.search(r"curl -s -X POST (\S+) \\\n.*?-d '(\{.*?\})'", README, re.S)
    assert match, "the README has a curl example for getAll"
    return match.group(1), json.loads(match.group(2))


def demo_server(directory: Path) -> ServerProcess:
    """``scripts/demo`` on a SQLite file of its own (it installs, then serves ``--demo``)."""
    return ServerProcess(
        f"sqlite:///{directory / 'quickstart.db'}",
        directory,
        program=[str(ROOT / "scripts" / "demo")],
        start_timeout=180,
        demo_items=3000,
    )


def test_the_quick_start_answers_the_readme_example_and_reuses_its_database(
    tmp_path: Path,
) -> None:
    demo = demo_server(tmp_path)
    url, body = readme_curl_example()
    with running(demo):
        response = httpx.post(url.replace(":8000", f":{demo.port}"), json=body, timeout=30)
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
    with running(demo):
        again = httpx.post(url.replace(":8000", f":{demo.port}"), json=body, timeout=30)
    assert "Creating demo data" not in demo.log.read_text(), "the database was reused"
    assert again.json() == page
