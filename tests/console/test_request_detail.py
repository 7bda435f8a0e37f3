"""What the request log keeps of a request for the console: tokens masked before they are
stored (docs/behaviour.md#admin-token), a response excerpt with its item count, the validation
problems of a 400 and the token's window at a 429; stored and read back on every store."""

from __future__ import annotations

import json

import httpx
import pytest

from console_servers import GET_ALL, READ_ONLY_TOKEN
from orderitems.api.request_detail import (
    BODY_LIMIT,
    MASK,
    items_in,
    mask_token,
    masked_body,
    read_detail,
    request_detail,
)
from orderitems.fixtures.demo import DEMO_TOKENS
from processes import SANDBOX_ADMIN, ServerProcess

SECRET = "5E3F0A9B7C1D4E2F8A6B0C9D3E7F1A2B-4C5D6E7F8091A2B3C4D5E6F708192A3"


def test_a_secret_token_keeps_its_last_four_characters_a_short_one_none() -> None:
    assert mask_token(SECRET) == MASK + SECRET[-4:]
    assert mask_token("short-secret") == MASK
    assert mask_token(DEMO_TOKENS[0].access_token) == DEMO_TOKENS[0].access_token


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"AccessToken": SECRET, "ClientToken": SECRET, "Client": "c"}),
        json.dumps({"accesstoken": SECRET, "Nested": [{"ACCESSTOKEN": SECRET}]}),
        json.dumps({"AccessToken": SECRET, "Client": f"pasted {SECRET} here"}),
        '{"\\u0041ccessToken": "' + SECRET + '"}',  # an escaped name is still the name
        '{"AccessToken" : "' + SECRET + '", "Limitation": ',  # truncated JSON
        '{"AccessToken": "' + SECRET,  # cut inside the token
        '{"ClientToken": "' + SECRET + '" ' + "x" * BODY_LIMIT,
    ],
)
def test_masked_bodies_hold_no_secret(body: str) -> None:
    masked = masked_body(body.encode())
    assert SECRET not in masked
    assert SECRET[:-4] not in masked
    assert len(masked) <= BODY_LIMIT


def test_public_demo_tokens_and_other_values_stay_as_sent() -> None:
    pair = DEMO_TOKENS[0]
    body = {"ClientToken": pair.client_token, "AccessToken": pair.access_token, "Count": 3}
    assert json.loads(masked_body(json.dumps(body).encode())) == body


def test_the_detail_counts_a_pages_items_and_keeps_the_start_of_a_long_answer() -> None:
    page = b'{"OrderItems":[' + b",".join([b'{"Id":"x"}'] * 300) + b'],"Cursor":null}'
    detail = read_detail(request_detail(b"{}", page, problems=["p"], field="F"))
    assert detail is not None
    assert detail.items == 300
    assert detail.response_bytes == len(page)
    assert len(detail.response_excerpt) == 2048
    assert (detail.problems, detail.field) == (["p"], "F")
    assert items_in(b'{"Message":"no"}') is None
    assert read_detail("not json") is None


def test_every_store_keeps_the_detail_for_every_process(
    sandbox_pair: tuple[ServerProcess, ...],
) -> None:
    """Sent to one process, read from the other: the SQLite file, PostgreSQL or Redis."""
    first, second = sandbox_pair
    body = {"ClientToken": SECRET, "AccessToken": SECRET, "Client": "t", "Limitation": {}}
    sent = httpx.post(first.base_url + GET_ALL, json=body, timeout=30)
    assert sent.status_code == 400
    found = httpx.get(
        f"{second.base_url}/_sandbox/requests/{sent.headers['Request-Id']}",
        headers=SANDBOX_ADMIN,
        timeout=30,
    )
    assert found.status_code == 200, found.text
    detail = found.json()["Detail"]
    assert SECRET not in found.text
    assert json.loads(detail["RequestBody"])["AccessToken"] == MASK + SECRET[-4:]
    assert detail["Field"] == "Limitation.Count"
    assert detail["Problems"]
    assert "Limitation" in detail["Problems"][0]
    assert json.loads(detail["ResponseExcerpt"])["RequestId"] == sent.headers["Request-Id"]
    missing = httpx.get(
        f"{second.base_url}/_sandbox/requests/no-such-request", headers=SANDBOX_ADMIN, timeout=30
    )
    assert missing.status_code == 404


def test_a_429_of_the_limiter_keeps_the_tokens_window(
    plain_servers: tuple[ServerProcess, ...],
) -> None:
    _, limited = plain_servers  # 2 requests per token per window
    token = "window-test-" + SECRET
    body = {"ClientToken": "c", "AccessToken": token, "Client": "t"}
    answers = [httpx.post(limited.base_url + GET_ALL, json=body, timeout=30) for _ in range(3)]
    assert [a.status_code for a in answers] == [400, 400, 429]
    bearer = {"Authorization": f"Bearer {READ_ONLY_TOKEN}"}
    found = httpx.get(
        f"{limited.base_url}/_sandbox/requests/{answers[2].headers['Request-Id']}",
        headers=bearer,
        timeout=30,
    ).json()
    window = found["Detail"]["Window"]
    assert window["Used"] == window["Limit"] == 2
    assert window["WindowSeconds"] == 30
    assert window["OldestLeavesInSeconds"] == int(answers[2].headers["Retry-After"])
    usage = httpx.get(f"{limited.base_url}/_sandbox/windows", headers=bearer, timeout=30).json()
    assert any(w["Used"] == 2 and 0 < w["OldestLeavesInSeconds"] <= 30 for w in usage)
