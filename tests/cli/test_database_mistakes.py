"""Each database mistake, in every command that takes ``--db``: one or two lines saying what is
wrong and what to do, the documented exit code, no traceback (issue 18).

Real unreachable ports, a real PostgreSQL that refuses a wrong password (a cluster of the
tests' own, tests/scram_postgres.py), a real missing database, real SQLite paths. ``serve`` and
the host name that does not resolve run as processes of their own; the other commands run
in-process through the same root command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from conftest import free_port
from orderitems.cli import app
from orderitems.store.engine import connect
from orderitems.store.migrate import upgrade
from scram_postgres import ScramPostgres, scram_postgres  # noqa: F401  (a fixture)

BIN = Path(sys.executable).parent / "orderitems"
ENTERPRISE = str(uuid.uuid4())

#: Each command that takes --db, as a user types it ({tmp}: the test's directory).
COMMANDS: dict[str, list[str]] = {
    "serve": ["serve", "--port", "{port}"],
    "db upgrade": ["db", "upgrade"],
    "db status": ["db", "status"],
    "generate": ["generate", "--items", "5"],
    "import": ["import", "{tmp}/items.jsonl"],
    "export": ["export", "--out", "{tmp}/out.jsonl"],
    "tokens list": ["tokens", "list"],
    "tokens create": ["tokens", "create", "--enterprise", ENTERPRISE, "--label", "l"],
    "tokens revoke": ["tokens", "revoke", "nobody"],
    "rates list": ["rates", "list"],
    "rates set": ["rates", "set", "GBP", "EUR", "1.17", "--enterprise", ENTERPRISE],
    "rates import": ["rates", "import", "{tmp}/rates.csv"],
    "enterprises": ["enterprises"],
}
#: Commands that make the schema themselves, so may start from no file or no schema.
CREATING = {"db upgrade", "generate", "import"}


@dataclass(frozen=True)
class Mistake:
    url: str
    code: int
    says: tuple[str, ...]


def _sqlite_at(tmp: Path, revision: str | None) -> str:
    url = f"sqlite:///{tmp / 'ledger.db'}"
    engine = connect(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("create table unrelated (x integer)")
        connection.commit()
    if revision is not None:
        upgrade(engine, revision)
    engine.dispose()
    return url


def _newer(tmp: Path) -> str:
    url = _sqlite_at(tmp, "head")
    engine = connect(url)
    with engine.begin() as connection:
        connection.execute(sa.text("update alembic_version set version_num = '9999_future'"))
    engine.dispose()
    return url


def _postgres_mistake(name: str, request: pytest.FixtureRequest) -> Mistake:
    if name == "wrong password":
        own: ScramPostgres = request.getfixturevalue("scram_postgres")
        return Mistake(
            own.url(password="wrong"),
            4,
            ("refused the login", "password authentication failed", "user and password"),
        )
    admin: str = request.getfixturevalue("postgres_admin_url")
    base = sa.make_url(admin)
    missing = base.set(database=f"orderitems_missing_{uuid.uuid4().hex[:8]}")
    return Mistake(
        missing.render_as_string(hide_password=False),
        5,
        ("does not exist", "createdb", "orderitems db upgrade"),
    )


MISTAKES: dict[str, Callable[[Path], Mistake] | None] = {
    "nothing listening": lambda _tmp: Mistake(
        f"postgresql://postgres@127.0.0.1:{free_port()}/test",
        3,
        ("Nothing is listening", "127.0.0.1:", "host and port"),
    ),
    "wrong password": None,  # a PostgreSQL of the tests' own
    "no such database": None,  # the shared PostgreSQL
    "not a database URL": lambda _tmp: Mistake(
        "mysql://user@127.0.0.1/ledger", 6, ("not a database", "sqlite:///", "postgresql://")
    ),
    "not a URL at all": lambda _tmp: Mistake(
        "ledger.db", 6, ("not a database URL", "sqlite:///", "postgresql://")
    ),
    "SQLite directory missing": lambda tmp: Mistake(
        f"sqlite:///{tmp / 'no-such-dir' / 'ledger.db'}", 5, ("no-such-dir", "does not exist")
    ),
    "SQLite file missing": lambda tmp: Mistake(
        f"sqlite:///{tmp / 'ledger.db'}", 5, ("no SQLite database at", "orderitems db upgrade")
    ),
    "no schema": lambda tmp: Mistake(
        _sqlite_at(tmp, None), 7, ("no orderitems schema", "orderitems db upgrade")
    ),
    "older schema": lambda tmp: Mistake(
        _sqlite_at(tmp, "0004"), 7, ("older than this version", "orderitems db upgrade")
    ),
    "newer schema": lambda tmp: Mistake(
        _newer(tmp), 7, ("newer than this version", "upgrade orderitems")
    ),
}
#: Mistakes only for commands that expect an existing database at this version's schema.
NOT_FOR_CREATING = {"SQLite file missing", "no schema", "older schema"}
#: ``db status`` reports the schema revision, whatever it is.
NOT_FOR_STATUS = {"no schema", "older schema", "newer schema"}


def _cases() -> list[tuple[str, str]]:
    return [
        (command, mistake)
        for command in COMMANDS
        for mistake in MISTAKES
        if not (command in CREATING and mistake in NOT_FOR_CREATING)
        and not (command == "db status" and mistake in NOT_FOR_STATUS)
    ]


def _arguments(command: str, tmp: Path) -> list[str]:
    (tmp / "items.jsonl").write_text("")
    (tmp / "rates.csv").write_text(
        f"EnterpriseId,SourceCurrency,TargetCurrency,Value\n{ENTERPRISE},GBP,EUR,1.17\n"
    )
    return [
        part.replace("{tmp}", str(tmp)).replace("{port}", str(free_port()))
        for part in COMMANDS[command]
    ]


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ORDERITEMS_")}


def run_command(arguments: list[str], *, network: bool = True) -> tuple[int, str]:
    """Exit code and everything printed; ``serve`` (and, without a network, any command) in
    a process of its own."""
    if arguments[0] == "serve" or not network:
        prefix = [] if network else ["unshare", "--map-root-user", "--net"]
        done = subprocess.run(
            [*prefix, str(BIN), *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            env=_clean_environment(),
        )
        return done.returncode, done.stdout + done.stderr
    result = CliRunner().invoke(app, arguments, env={"ORDERITEMS_DATABASE_URL": None})
    return result.exit_code, result.output


def assert_said(code: int, output: str, mistake: Mistake) -> None:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, output
    flat = " ".join(output.split())
    for words in mistake.says:
        assert words in flat, output
    assert code == mistake.code, output


@pytest.mark.parametrize(("command", "mistake_name"), _cases())
def test_a_database_mistake_is_one_clear_line_and_its_exit_code(
    command: str, mistake_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    make = MISTAKES[mistake_name]
    mistake = _postgres_mistake(mistake_name, request) if make is None else make(tmp_path)
    code, output = run_command([*_arguments(command, tmp_path), "--db", mistake.url])
    assert_said(code, output, mistake)


@pytest.fixture(scope="module")
def without_network() -> None:
    """A network namespace of the command's own has no route to any name server, so a host
    name cannot resolve and no packet leaves the machine."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "--map-root-user", "--net", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no network namespaces here: {probe.stderr.decode().strip()}")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_host_name_that_does_not_resolve_is_said_so(
    command: str, tmp_path: Path, without_network: None
) -> None:
    mistake = Mistake(
        "postgresql://postgres@ledger.orderitems.invalid:5432/ledger",
        3,
        ("'ledger.orderitems.invalid' does not resolve", "check the host"),
    )
    arguments = [*_arguments(command, tmp_path), "--db", mistake.url]
    code, output = run_command(arguments, network=False)
    assert_said(code, output, mistake)


def test_the_password_is_never_printed(scram_postgres: ScramPostgres, tmp_path: Path) -> None:  # noqa: F811
    code, output = run_command(["tokens", "list", "--db", scram_postgres.url(password="s3cr3t-x")])
    assert code == 4
    assert "s3cr3t-x" not in output


def test_debug_level_prints_the_traceback_as_well(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    (tmp_path / "ledger.db").write_bytes(b"")
    code, output = run_command(["--log-level", "debug", "enterprises", "--db", url])
    assert code == 7
    assert "Traceback" in output or "DatabaseProblem" in output
    assert "no orderitems schema" in " ".join(output.split())


def test_a_right_password_gets_in(scram_postgres: ScramPostgres) -> None:  # noqa: F811
    """The refusal above is the password's doing, not the cluster's."""
    code, output = run_command(["db", "upgrade", "--db", scram_postgres.url()])
    assert code == 0, output
    code, output = run_command(["enterprises", "--db", scram_postgres.url()])
    assert code == 0, output


def test_an_unexpected_error_is_one_line_naming_the_file_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert run_command(["db", "upgrade", "--db", url])[0] == 0

    def broken(*_args: object) -> list[object]:
        raise RuntimeError("a bug nobody foresaw")

    monkeypatch.setattr("orderitems.cli.data.list_enterprises", broken)
    code, output = run_command(["enterprises", "--db", url])

    assert code == 70
    assert "Traceback" not in output
    flat = " ".join(output.split())
    assert "Unexpected error (RuntimeError: a bug nobody foresaw)" in flat
    named = Path(flat.split("The details are in ", 1)[1].split(";", 1)[0])
    try:
        details = named.read_text()
        assert "Traceback" in details
        assert "a bug nobody foresaw" in details
    finally:
        named.unlink()
