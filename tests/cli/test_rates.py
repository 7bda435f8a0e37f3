"""``orderitems rates`` as an operator runs it, and the demo rates that generate and --demo seed."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from factories import Tenant, make_item, make_tenant, store_items
from orderitems.cli import app
from orderitems.cli.data import prepare_demo
from orderitems.fixtures.demo import DEMO_ENTERPRISES, DEMO_HOTEL_LONDON
from orderitems.fixtures.rates import DEMO_CURRENCIES
from orderitems.settings import Settings
from orderitems.store.engine import connect
from orderitems.store.rates import list_rates

runner = CliRunner()
HEADER = "EnterpriseId,SourceCurrency,TargetCurrency,Value"


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def fail(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return " ".join(result.output.split())


def listed(database_url: str, tenant: Tenant) -> list[dict[str, str]]:
    out = run("rates", "list", "--enterprise", str(tenant.enterprise_id), "--db", database_url)
    assert out.splitlines()[0] == HEADER
    return list(csv.DictReader(io.StringIO(out)))


def test_set_then_list_shows_the_rate_in_the_import_format(
    engine: Engine, database_url: str
) -> None:
    tenant = make_tenant(engine)
    run("rates", "set", "gbp", "EUR", "1.17573170", "--enterprise", str(tenant.enterprise_id),
        "--db", database_url)  # fmt: skip
    run("rates", "set", "GBP", "EUR", "1.18", "--enterprise", str(tenant.enterprise_id),
        "--db", database_url)  # fmt: skip
    assert listed(database_url, tenant) == [
        {
            "EnterpriseId": str(tenant.enterprise_id),
            "SourceCurrency": "GBP",
            "TargetCurrency": "EUR",
            "Value": "1.18",
        }
    ]


def test_set_refuses_bad_rates_and_unknown_enterprises(engine: Engine, database_url: str) -> None:
    tenant = make_tenant(engine)
    own = ["--enterprise", str(tenant.enterprise_id), "--db", database_url]
    assert "Invalid TargetCurrency" in fail("rates", "set", "GBP", "XYZ", "1.2", *own)
    assert "positive" in fail("rates", "set", "GBP", "EUR", "0", *own)
    assert "always 1" in fail("rates", "set", "GBP", "GBP", "1", *own)
    stranger = str(uuid.uuid4())
    message = fail(
        "rates", "set", "GBP", "EUR", "1.2", *own[:2], "--enterprise", stranger, *own[2:]
    )
    assert f"Unknown enterprises: {stranger}" in message
    assert listed(database_url, tenant) == [], "nothing is stored when one enterprise is unknown"


def test_imported_rates_drive_get_all_conversion(
    engine: Engine, database_url: str, tmp_path: Path, http: httpx.Client
) -> None:
    tenant = make_tenant(engine)
    store_items(engine, tenant, [make_item(enterprise_id=tenant.enterprise_id, gross="100.00")])
    source = tmp_path / "rates.csv"
    source.write_text(
        "value,TARGETCURRENCY,SourceCurrency,EnterpriseId\n"
        f"1.25,chf,GBP,{tenant.enterprise_id}\n"
        "\n"
        f"190.9,JPY,GBP,{tenant.enterprise_id}\n"
    )
    run("rates", "import", str(source), "--db", database_url)
    assert [(r["TargetCurrency"], r["Value"]) for r in listed(database_url, tenant)] == [
        ("CHF", "1.25"),
        ("JPY", "190.9"),
    ]

    response = http.post(
        "/api/connector/v1/orderItems/getAll",
        json=tenant.envelope(
            OrderItemIds=[str(tenant.items[0].id)], Currency="CHF", Limitation={"Count": 1}
        ),
    )
    assert response.status_code == 200, response.text
    amount = response.json(parse_float=Decimal)["OrderItems"][0]["Amount"]
    assert (amount["Currency"], amount["GrossValue"]) == ("CHF", Decimal("125.00"))


def test_an_import_with_one_bad_line_stores_nothing_and_names_the_line(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    tenant = make_tenant(engine)
    source = tmp_path / "rates.csv"
    source.write_text(
        f"{HEADER}\n{tenant.enterprise_id},GBP,EUR,1.17\n{tenant.enterprise_id},GBP,USD,lots\n"
    )
    message = fail("rates", "import", str(source), "--db", database_url)
    assert "Nothing imported" in message
    assert "line 3" in message
    assert listed(database_url, tenant) == []

    source.write_text("Enterprise,Source,Target,Value\n")
    assert "header lacks EnterpriseId" in fail("rates", "import", str(source), "--db", database_url)


def test_generate_seeds_every_direction_for_the_generated_enterprises_only(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'generated.db'}"
    run("generate", "--items", "40", "--enterprise", "GBP", "--db", url)
    engine = connect(url)
    with engine.connect() as connection:
        rates = list_rates(connection)
    engine.dispose()
    assert {r.enterprise_id for r in rates} == {DEMO_HOTEL_LONDON.id}
    assert {(r.source, r.target) for r in rates} == {
        (s, t) for s in DEMO_CURRENCIES for t in DEMO_CURRENCIES if s != t
    }
    by_pair = {(r.source, r.target): r.value for r in rates}
    assert by_pair["EUR", "GBP"] == Decimal("0.8505342")
    assert by_pair["GBP", "EUR"] == Decimal("1.1757317")


def test_the_demo_first_run_seeds_rates_and_later_runs_keep_a_rate_someone_set(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = Settings(database_url=url, demo=True, demo_items=30)
    engine = connect(url)
    try:
        prepare_demo(engine, settings)
        with engine.connect() as connection:
            assert len(list_rates(connection)) == len(DEMO_ENTERPRISES) * 7 * 6
        london = str(DEMO_HOTEL_LONDON.id)
        run("rates", "set", "GBP", "CHF", "2", "--enterprise", london, "--db", url)
        prepare_demo(engine, settings)
        with engine.connect() as connection:
            rates = list_rates(connection, [DEMO_HOTEL_LONDON.id])
    finally:
        engine.dispose()
    assert {(r.source, r.target): r.value for r in rates}["GBP", "CHF"] == Decimal("2")
