"""The console in a real browser (Debian's headless Chromium driven by Playwright) against a real
demo server: sign in, watch a request arrive in the log and open it, inject a 429 from the form,
freeze the clock and cancel with it, page through items, see a Closed item's cancel refused,
reset. Each page's screenshot goes to ``artifacts/console/``; ``ORDERITEMS_SCREENSHOT=1`` also
rewrites ``docs/console.png`` for the README."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from console_servers import BEARER, GET_ALL
from factories import make_item
from orderitems.api.admin import DEMO_ADMIN_TOKEN
from orderitems.fixtures.demo import DEMO_HOTEL_LONDON, DEMO_TOKENS
from orderitems.store.engine import connect
from orderitems.store.items import insert_items
from processes import ServerProcess

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "console"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PAIR = DEMO_TOKENS[0]
FROZEN = "2031-05-04T03:02:01Z"


def get_all(base_url: str, **filters: object) -> httpx.Response:
    body = {
        "ClientToken": PAIR.client_token,
        "AccessToken": PAIR.access_token,
        "Client": "console browser test",
        "CreatedUtc": {"StartUtc": "2025-01-01T00:00:00Z", "EndUtc": "2025-04-01T00:00:00Z"},
        "Limitation": {"Count": 5},
        **filters,
    }
    return httpx.post(base_url + GET_ALL, json=body, timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; .ci/run installs it")
        pytest.skip(reason)
    profile = tempfile.mkdtemp(prefix="orderitems-chromium-")
    with playwright_api.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def shoot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    print(f"screenshot: {path}")  # noqa: T201


def store_open_item(database_url: str) -> str:
    """The small demo world's items are all Closed or Canceled by now: one Open item to cancel."""
    item = make_item(
        enterprise_id=DEMO_HOTEL_LONDON.id, created_utc=datetime(2026, 11, 30, tzinfo=UTC)
    )
    engine = connect(database_url)
    with engine.begin() as connection:
        insert_items(connection, [item])
    engine.dispose()
    return str(item.id)


def test_the_console_in_a_browser(
    demo_server: ServerProcess, demo_database_url: str, browser: object
) -> None:
    open_item = store_open_item(demo_database_url)
    expect = playwright_api.expect
    base = demo_server.base_url
    page = browser.new_page()  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: dialog.accept())
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # Sign in: the start page says what runs.
    page.goto(base + "/")
    expect(page.locator("#sign-in")).to_be_visible()
    shoot(page, "0-login")
    page.fill("#token", DEMO_ADMIN_TOKEN)
    page.click("#sign-in")
    expect(page.locator("#enterprises")).to_contain_text(DEMO_HOTEL_LONDON.name)
    expect(page.locator("#tokens")).to_contain_text(PAIR.access_token)
    expect(page.locator("#curl-snippet")).to_contain_text(base + GET_ALL)
    shoot(page, "1-start")

    # The log: a request sent from outside appears within a second; open it.
    page.click("nav >> text=Request log")
    expect(page.locator("#live")).to_have_text("live")
    sent = get_all(base)
    assert sent.status_code == 200
    request_id = sent.headers["Request-Id"]
    row = page.locator(f'tr[data-request-id="{request_id}"]')
    expect(row).to_be_visible(timeout=1000)
    expect(row).to_contain_text(PAIR.label)
    row.click()
    expect(page.locator("#detail-title")).to_contain_text(request_id)
    expect(page.locator("#detail-request")).to_contain_text('"Client": "console browser test"')
    items = len(sent.json()["OrderItems"])
    expect(page.locator("#detail-response-size")).to_contain_text(f"{items} items")
    invalid = get_all(base, Limitation={"Count": 0})
    assert invalid.status_code == 400
    page.locator(f'tr[data-request-id="{invalid.headers["Request-Id"]}"]').click()
    expect(page.locator("#problems")).to_contain_text("Count")
    shoot(page, "2-log")

    # A 429 added in the form answers the next API call; the log says which fault.
    page.click("nav >> text=Faults and clock")
    page.select_option("#fault-form select[name=status]", "429")
    page.fill("#fault-form input[name=retryAfter]", "7")
    page.fill("#fault-form input[name=count]", "1")
    page.click("#add-fault")
    expect(page.locator("#faults tbody")).to_contain_text("429 Retry-After 7")
    refused = get_all(base)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"
    assert get_all(base).status_code == 200, "a fault for the next request only"

    # Freeze the clock from the form.
    page.fill("#clock-at", FROZEN)
    page.click("#freeze-clock")
    expect(page.locator("#clock")).to_contain_text(FROZEN)
    expect(page.locator("#clock")).to_contain_text("yes")
    shoot(page, "3-faults-and-clock")

    # Data: page through London's items; cancel an Open one, which carries the frozen time.
    page.click("nav >> text=Data")
    rows = page.locator("#items tbody tr")
    page.select_option("#enterprise", str(DEMO_HOTEL_LONDON.id))
    page.fill("#item-search input[name=count]", "5")
    page.click("#search")
    expect(page.locator("#page-number")).to_have_text("page 1")
    first_ids = page.locator("#items tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.itemId)"
    )
    page.click("#next-page")
    expect(page.locator("#page-number")).to_have_text("page 2")
    second_ids = page.locator("#items tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.itemId)"
    )
    assert len(second_ids) == 5
    assert not set(first_ids) & set(second_ids)
    page.select_option("#item-search select[name=states]", ["Open"])
    page.click("#search")
    expect(rows.filter(has_not_text="Open")).to_have_count(0)
    expect(rows.first).to_contain_text(open_item)
    page.locator("#items tbody tr").first.click()
    expect(page.locator("#item-title")).to_contain_text("Open")
    page.click("#cancel-item")
    expect(page.locator("#item-result")).to_have_text(f"Canceled at {FROZEN}.")
    expect(page.locator("#item-document")).to_contain_text(f'"CanceledUtc": "{FROZEN}"')
    # A Closed item: the API's own refusal.
    page.select_option("#item-search select[name=states]", ["Closed"])
    page.click("#search")
    expect(rows.filter(has_not_text="Closed")).to_have_count(0)
    expect(rows.first).to_contain_text("Closed")
    page.locator("#items tbody tr").first.click()
    expect(page.locator("#item-title")).to_contain_text("Closed")
    page.click("#cancel-item")
    expect(page.locator("#item-result")).to_contain_text("400: Invalid OrderItemIds")
    expect(page.locator("#item-result")).to_have_class("error")
    shoot(page, "4-data")

    # Traffic: the chart and the token's window.
    page.click("nav >> text=Traffic")
    expect(page.locator("#windows")).to_contain_text(PAIR.label)
    expect(page.locator("#chart rect").first).to_be_attached()
    shoot(page, "5-traffic")

    # Reset: the clock runs again, the faults and the log are gone, the data is as it was.
    page.click("nav >> text=Faults and clock")
    page.click("#reset")
    expect(page.locator("#reset-result")).to_contain_text("Reset: 300 items", timeout=60_000)
    expect(page.locator("#clock")).to_contain_text("no")
    clock = httpx.get(base + "/_sandbox/clock", headers=BEARER).json()
    assert clock["Frozen"] is False
    assert httpx.get(base + "/_sandbox/faults", headers=BEARER).json() == []

    # The picture for the README: the log with a few requests in it.
    page.click("nav >> text=Request log")
    for _ in range(3):
        get_all(base)
    get_all(base, Limitation={"Count": 0})
    expect(page.locator("#log tbody tr")).to_have_count(4, timeout=2000)
    page.locator("#log tbody tr").first.click()
    expect(page.locator("#problems")).to_be_visible()
    shoot(page, "6-log-after-reset")
    if os.environ.get("ORDERITEMS_SCREENSHOT") == "1":
        page.screenshot(path=str(ROOT / "docs" / "console.png"))
    assert not errors, errors
