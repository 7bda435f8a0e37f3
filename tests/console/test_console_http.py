"""The console over plain HTTP, on real server processes: it needs the admin token, refuses
cross-site changes, does not exist when off, is read-only outside sandbox mode, and no page or
admin answer ever shows a secret token (docs/behaviour.md#admin-token)."""

from __future__ import annotations

import time

import httpx
import pytest

from console_servers import BEARER, GET_ALL, READ_ONLY_TOKEN, csrf_of, signed_in
from orderitems.api.admin import DEMO_ADMIN_TOKEN
from orderitems.fixtures.demo import DEMO_TOKENS
from processes import ServerProcess

PAGES = ["/", "/console/log", "/console/traffic", "/console/data", "/console/sandbox"]
FAULT = {"Status": 503, "Count": 1, "Operation": "orderItems/cancel"}


def test_pages_and_the_admin_api_need_the_admin_token(demo_server: ServerProcess) -> None:
    with demo_server.client() as client:
        for path in PAGES:
            page = client.get(path)
            assert page.status_code == 401, path
            assert 'action="/console/login"' in page.text
            assert csrf_of(page.text) == "", "no CSRF token before signing in"
        assert client.get("/_sandbox/status").status_code == 401
        wrong_cookie = {"Cookie": "orderitems_admin=not-the-token"}
        assert client.get("/_sandbox/status", headers=wrong_cookie).status_code == 401
        assert client.get("/console/log", headers=wrong_cookie).status_code == 401
        huge = client.post("/console/login", content=b"token=" + b"x" * 10_000)
        assert huge.status_code == 413
        wrong = client.post("/console/login", data={"token": "not-the-token"})
        assert wrong.status_code == 401
        assert "Wrong admin token." in wrong.text
        assert "set-cookie" not in wrong.headers

        assert client.get("/console/log", headers=BEARER).status_code == 200
        login = client.post("/console/login", data={"token": DEMO_ADMIN_TOKEN})
        assert login.status_code == 303
        assert login.headers["location"] == "/"
        cookie = login.headers["set-cookie"]
        assert cookie.startswith("orderitems_admin=")
        for attribute in ("Secure", "HttpOnly", "SameSite=strict"):
            assert attribute.lower() in cookie.lower(), cookie
        page = client.get("/console/log", headers={"Cookie": cookie.split(";", 1)[0]})
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_cross_site_changes_are_refused(demo_server: ServerProcess) -> None:
    client, csrf = signed_in(demo_server.base_url)
    own = demo_server.base_url
    with client:
        refused = [
            client.post("/_sandbox/faults", json=FAULT),  # no CSRF token: a form from elsewhere
            client.post("/_sandbox/faults", json=FAULT, headers={"X-CSRF-Token": "0" * 64}),
            client.post(
                "/_sandbox/faults",
                json=FAULT,
                headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
            ),
            client.post(
                "/_sandbox/faults",
                json=FAULT,
                headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
            ),
            client.post("/_sandbox/reset", headers={"Origin": "http://evil.example"}),
            client.delete("/_sandbox/clock"),
        ]
        for answer in refused:
            assert answer.status_code == 403, answer.text
            assert "Cross-site request refused" in answer.json()["Message"]
            assert answer.headers["Request-Id"]
        assert client.get("/_sandbox/faults").json() == [], "nothing was added"
        login_elsewhere = httpx.post(
            f"{own}/console/login",
            data={"token": DEMO_ADMIN_TOKEN},
            headers={"Origin": "http://evil.example"},
        )
        assert login_elsewhere.status_code == 403

        added = client.post(
            "/_sandbox/faults",
            json=FAULT,
            headers={"X-CSRF-Token": csrf, "Origin": own, "Sec-Fetch-Site": "same-origin"},
        )
        assert added.status_code == 201, added.text
        removed = client.delete(
            f"/_sandbox/faults/{added.json()['Id']}", headers={"X-CSRF-Token": csrf}
        )
        assert removed.status_code == 204
        logout = client.post("/console/logout", headers={"X-CSRF-Token": csrf})
        assert logout.status_code == 204
        assert "orderitems_admin=" in logout.headers["set-cookie"]


def test_the_console_is_a_404_when_off(plain_servers: tuple[ServerProcess, ...]) -> None:
    off, _ = plain_servers
    with off.client() as client:
        for path in [*PAGES, "/console/static/console.js", "/_sandbox/status"]:
            answer = client.get(path, headers=BEARER)
            assert answer.status_code == 404, path
            assert answer.json()["Message"] == f"No operation GET {path}."
            assert answer.headers["Request-Id"]
        assert client.post("/console/login", data={"token": "x"}).status_code == 404


def test_the_read_only_console_refuses_every_write(
    plain_servers: tuple[ServerProcess, ...],
) -> None:
    _, read_only = plain_servers
    bearer = {"Authorization": f"Bearer {READ_ONLY_TOKEN}"}
    with read_only.client() as client:
        assert client.get("/").status_code == 401
        page = client.get("/console/sandbox", headers=bearer)
        assert page.status_code == 200
        assert 'data-read-only="true"' in page.text
        sent = client.post(GET_ALL, json={"ClientToken": "c", "AccessToken": "a", "Client": "t"})
        logged = client.get("/_sandbox/requests", headers=bearer)
        assert logged.status_code == 200
        newest = logged.json()[0]
        assert newest["RequestId"] == sent.headers["Request-Id"], "the log runs for the console"
        assert newest["Status"] == sent.status_code == 400
        assert client.get("/_sandbox/status", headers=bearer).json()["Mode"] == "read-only"
        writes = [
            client.post("/_sandbox/faults", json=FAULT, headers=bearer),
            client.delete("/_sandbox/faults", headers=bearer),
            client.put("/_sandbox/clock", json={"NowUtc": "2031-01-01T00:00:00Z"}, headers=bearer),
            client.delete("/_sandbox/clock", headers=bearer),
            client.delete("/_sandbox/limits", headers=bearer),
            client.delete("/_sandbox/requests", headers=bearer),
            client.post("/_sandbox/reset", headers=bearer),
            client.post(
                "/_sandbox/cancel",
                json={
                    "EnterpriseId": "43b013c3-9d47-4ab2-bcae-41b7f9fe6e67",
                    "OrderItemIds": ["18ede6c3-5300-4b63-8565-58b263a522e3"],
                },
                headers=bearer,
            ),
        ]
        for answer in writes:
            assert answer.status_code == 403, answer.request.url
            assert "read-only" in answer.json()["Message"]
        assert client.get("/_sandbox/clock", headers=bearer).json()["Frozen"] is False
        assert len(client.get("/_sandbox/requests", headers=bearer).json()) >= 1


SECRET_ACCESS = "7B0F3E21A9C84D55B1E0C3F9A2D64E18-0C1D2E3F405162738495A6B7C8D9E0F"
SECRET_CLIENT = "A1B2C3D4E5F60718293A4B5C6D7E8F90-1234567890ABCDEF1234567890ABCDE"


@pytest.mark.parametrize(
    "body",
    [
        {"ClientToken": SECRET_CLIENT, "AccessToken": SECRET_ACCESS, "Client": "leak test"},
        # the same secret pasted into another property too
        {"ClientToken": SECRET_CLIENT, "AccessToken": SECRET_ACCESS, "Client": SECRET_ACCESS},
        {"clienttoken": SECRET_CLIENT, "accessToken": SECRET_ACCESS, "Client": "lower case"},
        f'{{"ClientToken": "{SECRET_CLIENT}", "AccessToken": "{SECRET_ACCESS}", "Limi',
        f'{{"AccessToken": "{SECRET_ACCESS}',
    ],
)
def test_no_page_or_admin_answer_shows_a_secret_token(
    demo_server: ServerProcess, body: object
) -> None:
    client, csrf = signed_in(demo_server.base_url)
    public = DEMO_TOKENS[0].access_token
    with client:
        content = (
            body.encode() if isinstance(body, str) else httpx.Request("POST", "/", json=body).read()
        )
        sent = client.post(GET_ALL, content=content, headers={"Content-Type": "application/json"})
        request_id = sent.headers["Request-Id"]
        public_call = client.post(
            GET_ALL,
            json={
                "ClientToken": DEMO_TOKENS[0].client_token,
                "AccessToken": public,
                "Client": "public demo pair",
                "CreatedUtc": {
                    "StartUtc": "2025-01-01T00:00:00Z",
                    "EndUtc": "2025-02-01T00:00:00Z",
                },
                "Limitation": {"Count": 1},
            },
        )
        added = client.post(
            "/_sandbox/faults",
            json={"Status": 500, "Count": 1, "AccessToken": SECRET_ACCESS},
            headers={"X-CSRF-Token": csrf},
        )
        assert added.status_code == 201
        seen = [client.get(path).text for path in PAGES]
        seen += [
            client.get(path).text
            for path in ["/_sandbox/requests?limit=1000", "/_sandbox/status", "/_sandbox/windows",
                         "/_sandbox/faults", "/console/static/console.js"]
        ]  # fmt: skip
        detail = client.get(f"/_sandbox/requests/{request_id}").json()
        seen.append(str(detail))
        public_detail = client.get(f"/_sandbox/requests/{public_call.headers['Request-Id']}")
        client.delete(f"/_sandbox/faults/{added.json()['Id']}", headers={"X-CSRF-Token": csrf})
    for text in seen:
        assert SECRET_ACCESS not in text
        assert SECRET_CLIENT not in text
        assert DEMO_ADMIN_TOKEN not in text, "the admin token lives in the HttpOnly cookie only"
    request_body = detail["Detail"]["RequestBody"]
    assert "••••" + SECRET_ACCESS[-4:] in request_body
    assert public in public_detail.json()["Detail"]["RequestBody"], "public demo tokens stay"


def test_the_consoles_reads_are_not_access_log_lines_its_changes_are(
    demo_server: ServerProcess,
) -> None:
    """An open log page polls twice a second: at the default level the server's log stays
    the API's (and the admin API's changes and refusals)."""
    with demo_server.client() as client:
        read = client.get("/_sandbox/requests", headers=BEARER).headers["Request-Id"]
        page = client.get("/console/log", headers=BEARER).headers["Request-Id"]
        refused = client.get("/_sandbox/requests").headers["Request-Id"]
        change = client.delete("/_sandbox/limits", headers=BEARER).headers["Request-Id"]
        api = client.post(GET_ALL, json={}).headers["Request-Id"]
    deadline = time.monotonic() + 5
    while api not in demo_server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = demo_server.log.read_text()
    assert read not in lines
    assert page not in lines
    for request_id in (refused, change, api):
        assert request_id in lines
