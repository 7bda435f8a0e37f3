"""Ctrl-C while an import's rows go into an empty SQLite database: exit 130 and one line, as
an import into a non-empty database already did (issue 12, defect 9), and nothing stored.

The interrupt is raised where a real Ctrl-C lands while the driver inserts a batch: inside
SQLAlchemy's statement execution, which then closes the connection under the load.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from orderitems.cli import app

runner = CliRunner()


class CtrlC:
    """Armed, the first insert of items raises KeyboardInterrupt as it returns."""

    armed = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if self.armed and statement.startswith("INSERT INTO order_items"):
            self.armed = False
            raise KeyboardInterrupt


@pytest.fixture
def ctrl_c() -> Iterator[CtrlC]:
    listener = CtrlC()
    sa.event.listen(Engine, "after_cursor_execute", listener)
    yield listener
    sa.event.remove(Engine, "after_cursor_execute", listener)


def test_ctrl_c_during_an_import_into_an_empty_sqlite_database(
    tmp_path: Path, ctrl_c: CtrlC
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    items = tmp_path / "items.jsonl"
    assert runner.invoke(app, ["generate", "--items", "300", "--db", source]).exit_code == 0
    assert runner.invoke(app, ["export", "--out", str(items), "--db", source]).exit_code == 0
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", target]).exit_code == 0

    ctrl_c.armed = True
    result = runner.invoke(app, ["import", str(items), "--workers", "0", "--db", target])

    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.strip()] == ["Interrupted."]
    # What the user finds once the interrupted command has ended: another process's view.
    check = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " print(c.execute('select count(*) from order_items').fetchone()[0],"
        " c.execute('pragma integrity_check').fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", check, str(tmp_path / "target.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["0", "ok"]
