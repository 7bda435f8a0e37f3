"""The every-response gate itself: it passes what the contract allows and fails the rest.

The ``http`` fixture runs ``check_response`` on every answer of the shared server, so every
API test is also a contract test; these cases prove the gate would notice a departure.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from contract import check_response

GET_ALL = "/api/connector/v1/orderItems/getAll"
CANCEL = "/api/connector/v1/orderItems/cancel"
ERROR = {"Message": "Invalid Limitation: it is required.", "RequestId": "r", "Details": None}


def _answer(
    status: int, body: Any = None, *, content_type: str = "application/json"
) -> httpx.Client:
    content = b"" if body is None else json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": content_type} if content else {}
        return httpx.Response(status, content=content, headers=headers)

    return httpx.Client(
        base_url="http://contract.test",
        transport=httpx.MockTransport(handler),
        event_hooks={"response": [check_response]},
    )


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        (GET_ALL, 200, {"OrderItems": [], "Cursor": None}),
        ("/API/connector/v1/orderitems/GETALL", 200, {"OrderItems": [], "Cursor": None}),
        (GET_ALL, 204, None),
        (GET_ALL, 400, ERROR),
        (GET_ALL, 413, ERROR),
        (CANCEL, 200, {}),
        ("/nowhere", 404, ERROR),
        ("/_sandbox/faults", 200, {"Anything": "the admin API is not in the contract"}),
    ],
)
def test_answers_the_contract_allows_pass(path: str, status: int, body: Any) -> None:
    with _answer(status, body) as client:
        assert client.post(path, json={}).status_code == status


@pytest.mark.parametrize(
    ("path", "status", "body", "problem"),
    [
        (GET_ALL, 200, {"OrderItems": "none"}, "'none' is not of type 'array'"),
        (GET_ALL, 200, {"OrderItems": [], "Extra": 1}, "Additional properties"),
        (CANCEL, 200, {"Canceled": True}, "Additional properties"),
        (GET_ALL, 400, {"Message": "no request id", "Error": 1}, "Additional properties"),
        (GET_ALL, 418, ERROR, "status 418 is not in the contract"),
        (GET_ALL, 204, {"OrderItems": []}, "a 204 has a body"),
        ("/_sandbox/faults", 400, {"error": "not the error body"}, "Additional properties"),
    ],
)
def test_answers_that_stray_from_the_contract_fail_the_request(
    path: str, status: int, body: Any, problem: str
) -> None:
    with _answer(status, body) as client, pytest.raises(AssertionError, match=problem):
        client.post(path, json={})


def test_a_json_body_must_say_it_is_json() -> None:
    with _answer(200, {"OrderItems": []}, content_type="text/plain") as client:
        with pytest.raises(AssertionError, match="content type 'text/plain'"):
            client.post(GET_ALL, json={})


def test_the_http_fixture_checks_every_answer(http: httpx.Client) -> None:
    assert check_response in http.event_hooks["response"]
