"""Assertions on API answers that many test modules share."""

from __future__ import annotations

from typing import Any

import httpx

from contract import assert_matches_schema


def assert_error(response: httpx.Response, status: int, *names: str) -> dict[str, Any]:
    """The documented status, the official error body, its RequestId, a Message naming names."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert_matches_schema(body, "ConnectorApiExceptionResult")
    assert body["RequestId"] == response.headers["Request-Id"]
    assert isinstance(body["Message"], str)
    for name in names:
        assert name in body["Message"], body["Message"]
    return body


def ids_of(response: httpx.Response) -> list[str]:
    """The ids of a 200 getAll page that matches the official schema."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert_matches_schema(body, "OrderItemResult")
    return [item["Id"] for item in body["OrderItems"]]
