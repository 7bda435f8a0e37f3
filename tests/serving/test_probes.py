"""``GET /healthz`` and ``GET /readyz`` (issue 20): no token, no limit, no secret, no access-log
line per probe; a process whose database has no schema yet is not ready, answers the API 503,
and becomes ready by itself once the schema is there."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from conftest import ServerThread
from contract import assert_matches_schema
from orderitems.settings import Settings
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade

GET_ALL = "/api/connector/v1/orderItems/getAll"


def test_healthz_answers_alive_without_a_token(http: httpx.Client) -> None:
    response = http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"Status": "Alive"}
    assert response.headers["Request-Id"]


def test_readyz_names_each_check_and_its_time(http: httpx.Client, settings: Settings) -> None:
    response = http.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Status"] == "Ready"
    assert body["Failing"] is None
    assert [check["Name"] for check in body["Checks"]] == ["Database", "Schema"]
    assert all(check["Ok"] and check["Ms"] >= 0 for check in body["Checks"])
    assert settings.database_url not in response.text


def test_probes_write_no_access_log_line(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="orderitems"):
        for _ in range(20):
            assert http.get("/readyz").status_code == 200
            assert http.get("/healthz").status_code == 200
        http.post(GET_ALL, json={})
    access = [r.getMessage() for r in caplog.records if r.name == "orderitems.api.app"]
    assert len(access) == 1, access
    assert access[0].startswith("POST ")


def test_probes_are_never_rate_limited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'limited.db'}"
    engine = connect(url)
    upgrade(engine)
    settings = Settings(database_url=url, rate_limit_requests=1, rate_limit_window_seconds=60)
    with ServerThread(settings, engine) as server, httpx.Client(base_url=server.base_url) as http:
        statuses = {http.get("/readyz").status_code for _ in range(30)}
        checks = http.get("/readyz").json()["Checks"]
    engine.dispose()
    assert statuses == {200}
    assert [check["Name"] for check in checks] == ["Database", "Schema", "Limiter"]


def wait_for_status(http: httpx.Client, path: str, status: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while http.get(path).status_code != status:
        assert time.monotonic() < deadline, http.get(path).text
        time.sleep(0.1)


def test_a_database_without_its_schema_is_not_ready_until_it_has_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'migrating.db'}"
    engine = connect(url)
    # The file exists (a server never creates one) but holds no schema yet.
    with engine.connect():
        pass
    settings = Settings(database_url=url)
    with (
        caplog.at_level(logging.INFO, logger="orderitems"),
        ServerThread(settings, engine) as server,
        httpx.Client(base_url=server.base_url) as http,
    ):
        not_ready = http.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["Failing"] == "Schema"
        assert "orderitems db upgrade" in not_ready.json()["Checks"][-1]["Problem"]
        refused = http.post(GET_ALL, json={})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert_matches_schema(refused.json(), "ConnectorApiExceptionResult")
        upgrade(engine)
        wait_for_status(http, "/readyz", 200)
        assert http.post(GET_ALL, json={}).status_code == 400  # served: the body is wrong
    engine.dispose()
    changes = [r.getMessage() for r in caplog.records if r.name == "orderitems.api.health"]
    assert changes[0].startswith("not ready: schema: no schema")
    assert changes[-1].startswith("ready: database")
    assert len(changes) == 2, changes
