"""The data commands as a user runs them: generate, export, import, tokens, on real databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderitems.access.tokens import authenticate
from orderitems.cli import app
from orderitems.domain.errors import Unauthenticated
from orderitems.fixtures.demo import DEMO_HOTEL_BERLIN
from orderitems.store.engine import connect
from orderitems.store.items import count_items

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def export_lines(url: str, path: Path) -> list[bytes]:
    run("export", "--out", str(path), "--db", url)
    return path.read_bytes().splitlines()


def test_export_then_import_into_an_empty_database_gives_back_the_same_items(
    tmp_path: Path, empty_database_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    run("generate", "--items", "700", "--seed", "3", "--db", source)
    exported = export_lines(source, tmp_path / "items.jsonl")
    assert len(exported) == 700
    run("import", str(tmp_path / "items.jsonl"), "--db", empty_database_url)
    again = export_lines(empty_database_url, tmp_path / "again.jsonl")
    assert sorted(again) == sorted(exported)


def test_an_import_with_one_bad_line_loads_nothing_and_names_the_line(
    tmp_path: Path, empty_database_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    run("generate", "--items", "50", "--db", source)
    lines = export_lines(source, tmp_path / "items.jsonl")
    broken = json.loads(lines[30])
    broken["Amount"] = "a lot"
    lines[30] = json.dumps(broken).encode()
    (tmp_path / "broken.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = runner.invoke(
        app, ["import", str(tmp_path / "broken.jsonl"), "--db", empty_database_url]
    )
    assert result.exit_code == 1
    assert "line 31" in " ".join(result.output.split())
    engine = connect(empty_database_url)
    with engine.connect() as connection:
        assert count_items(connection) == 0
    engine.dispose()


def test_importing_the_same_items_twice_is_refused_and_keeps_the_first_copy(
    tmp_path: Path, empty_database_url: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    run("generate", "--items", "40", "--db", source)
    export_lines(source, tmp_path / "items.jsonl")
    run("import", str(tmp_path / "items.jsonl"), "--db", empty_database_url)
    result = runner.invoke(
        app, ["import", str(tmp_path / "items.jsonl"), "--db", empty_database_url]
    )
    assert result.exit_code == 1
    assert "Nothing imported" in result.output
    engine = connect(empty_database_url)
    with engine.connect() as connection:
        assert count_items(connection) == 40
    engine.dispose()


def test_generate_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    run("generate", "--items", "300", "--seed", "9", "--db", first)
    run("generate", "--items", "300", "--seed", "9", "--db", second)
    assert export_lines(first, tmp_path / "a.jsonl") == export_lines(second, tmp_path / "b.jsonl")


def test_generate_can_target_one_enterprise(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'berlin.db'}"
    run("generate", "--items", "200", "--enterprise", "berlin", "--db", url)
    items = [json.loads(line) for line in export_lines(url, tmp_path / "berlin.jsonl")]
    assert {item["EnterpriseId"] for item in items} == {str(DEMO_HOTEL_BERLIN.id)}


def test_a_created_token_authenticates_until_it_is_revoked(empty_database_url: str) -> None:
    run("generate", "--items", "10", "--enterprise", "berlin", "--db", empty_database_url)
    output = run(
        "tokens",
        "create",
        "--enterprise",
        str(DEMO_HOTEL_BERLIN.id),
        "--label",
        "ledger",
        "--db",
        empty_database_url,
    )
    values = dict(line.split(": ", 1) for line in output.strip().splitlines())
    engine = connect(empty_database_url)
    with engine.connect() as connection:
        principal = authenticate(
            connection,
            client_token=values["ClientToken"],
            access_token=values["AccessToken"],
            allow_demo=False,
        )
    assert principal.enterprise_ids == (DEMO_HOTEL_BERLIN.id,)
    assert "ledger" in run("tokens", "list", "--db", empty_database_url)
    run("tokens", "revoke", "ledger", "--db", empty_database_url)
    with engine.connect() as connection, pytest.raises(Unauthenticated):
        authenticate(
            connection,
            client_token=values["ClientToken"],
            access_token=values["AccessToken"],
            allow_demo=False,
        )
    engine.dispose()


def test_a_duplicate_token_label_is_refused_clearly(empty_database_url: str) -> None:
    run("generate", "--items", "10", "--enterprise", "berlin", "--db", empty_database_url)
    args = [
        "tokens",
        "create",
        "--enterprise",
        str(DEMO_HOTEL_BERLIN.id),
        "--label",
        "twice",
        "--db",
        empty_database_url,
    ]
    run(*args)
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "labelled 'twice'" in " ".join(result.output.split())
