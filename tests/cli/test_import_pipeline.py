"""``orderitems import`` through its worker processes: a bad line, a repeated id and a killed
import all leave nothing behind, on both databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from orderitems.cli import app
from orderitems.store.engine import connect
from orderitems.store.items import count_items
from processes import wait_until

runner = CliRunner()
BIN = Path(sys.executable).parent / "orderitems"


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def exported(tmp_path: Path, items: int) -> Path:
    """A JSON Lines file of ``items`` generated items (about 1,700 bytes each)."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    run("generate", "--items", str(items), "--seed", "4", "--db", source)
    path = tmp_path / "items.jsonl"
    run("export", "--out", str(path), "--db", source)
    return path


def index_names(url: str) -> set[str]:
    engine = connect(url)
    with engine.connect() as connection:
        names = {str(i["name"]) for i in sa.inspect(connection).get_indexes("order_items")}
    engine.dispose()
    return names


def stored_items(url: str) -> int:
    engine = connect(url)
    with engine.connect() as connection:
        count = count_items(connection)
    engine.dispose()
    return count


def test_a_bad_line_found_by_a_worker_loads_nothing_and_names_the_line(
    tmp_path: Path, empty_database_url: str
) -> None:
    path = exported(tmp_path, 1500)  # three blocks of a megabyte
    lines = path.read_bytes().splitlines()
    broken = json.loads(lines[1400])
    broken["ConsumedUtc"] = "yesterday"
    lines[1400] = json.dumps(broken).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = runner.invoke(app, ["import", str(path), "--workers", "2", "--db", empty_database_url])
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert "Nothing imported" in output
    assert "line 1401" in output
    assert "Traceback" not in output
    assert stored_items(empty_database_url) == 0


def test_an_id_repeated_in_the_file_loads_nothing(tmp_path: Path, empty_database_url: str) -> None:
    path = exported(tmp_path, 1500)
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([*lines, lines[3]]) + b"\n")
    result = runner.invoke(app, ["import", str(path), "--workers", "2", "--db", empty_database_url])
    assert result.exit_code == 1
    assert "Nothing imported" in result.output
    assert stored_items(empty_database_url) == 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    def started() -> bool:
        assert process.poll() is None, "the import ended before it could be killed"
        return condition()

    wait_until(started, timeout=60, message="the import never started writing", every=0.005)


@contextmanager
def _writing_started(url: str) -> Iterator[Callable[[], bool]]:
    """True once the load writes items: SQLite's rollback journal exists, or PostgreSQL's
    ``COPY`` into the test's schema has rows."""
    if url.startswith("sqlite"):
        yield Path(url.removeprefix("sqlite:///") + "-journal").exists
        return
    schema = url.rsplit("csearch_path%3D", 1)[1]
    admin = connect(url)
    query = sa.text(
        "select count(*) from pg_stat_progress_copy p join pg_class c on c.oid = p.relid"
        " join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = :schema and c.relname = 'order_items' and p.tuples_processed > 0"
    )

    def copying() -> bool:
        with admin.connect() as connection:
            return bool(connection.execute(query, {"schema": schema}).scalar_one())

    yield copying
    admin.dispose()


@pytest.mark.parametrize(
    "interrupt",
    ["kill -9 of the loading process", "Ctrl-C, to the whole process group"],
)
def test_an_interrupted_import_leaves_nothing_and_a_sound_database(
    tmp_path: Path, empty_database_url: str, interrupt: str
) -> None:
    path = exported(tmp_path, 20_000)
    run("db", "upgrade", "--db", empty_database_url)
    indexes = index_names(empty_database_url)
    process = subprocess.Popen(
        [BIN, "import", str(path), "--workers", "2", "--db", empty_database_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a process group of its own, as a terminal gives a command
    )
    with _writing_started(empty_database_url) as started:
        _wait_for(lambda: started() and len(_children(process.pid)) >= 2, process)
    workers = _children(process.pid)  # the decoding workers (and multiprocessing's tracker)
    if interrupt.startswith("kill"):
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    else:
        os.killpg(process.pid, signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
        assert process.returncode != 0
        assert "Imported" not in output
        assert "Traceback" not in output, output
    assert len(workers) >= 2
    wait_until(
        lambda: not any(_alive(worker) for worker in workers),
        timeout=10,
        message="worker processes outlived the killed import",
    )

    assert stored_items(empty_database_url) == 0
    assert index_names(empty_database_url) == indexes
    engine = connect(empty_database_url)
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
    run("import", str(path), "--db", empty_database_url)
    assert stored_items(empty_database_url) == 20_000
