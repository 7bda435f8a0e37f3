"""A database that cannot be used as given, said in one or two lines: what is wrong, what to do.

Every command that takes ``--db`` and the server share these words (issue 18): the CLI prints
them and exits with the code of the problem's kind, the server logs them and answers 503. The
driver's own exception stays the ``__cause__``, for ``--log-level debug``.
"""

from __future__ import annotations

import enum
import sqlite3
import urllib.parse
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import URL, Engine

from orderitems.store.engine import BUSY_SECONDS, connect, normalise_url

SUPPORTED_FORMS = "sqlite:///path/to/file.db or postgresql://user:password@host:port/database"


class ProblemKind(enum.Enum):
    """What kind of mistake; the CLI gives each its own exit code (README, The CLI)."""

    UNREACHABLE = "unreachable"  # nothing listening, host name unknown, connection lost
    REFUSED = "refused"  # authentication refused
    MISSING = "missing"  # no such database, SQLite file or directory
    URL = "url"  # not a database URL this server supports, or not a database file
    SCHEMA = "schema"  # no schema, or an older or newer one than this version's


class DatabaseProblem(Exception):
    """A database that cannot be used as given; ``message`` says what is wrong and what to do."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def shown_url(url: str) -> str:
    """The URL as it may be printed: never its password."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _parsed(url: str) -> URL:
    try:
        parsed = sa.make_url(normalise_url(url))
    except sa.exc.ArgumentError:
        raise DatabaseProblem(
            ProblemKind.URL, f"{url!r} is not a database URL; use {SUPPORTED_FORMS}."
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseProblem(
            ProblemKind.URL,
            f"{shown_url(url)} is not a database orderitems supports; use {SUPPORTED_FORMS}.",
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise DatabaseProblem(
            ProblemKind.URL,
            f"{shown_url(url)} names a driver orderitems does not use; write postgresql://"
            " (psycopg 3 is used).",
        )
    return parsed


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for PostgreSQL."""
    parsed = _parsed(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise DatabaseProblem(
            ProblemKind.URL, f"{url!r} names no SQLite file; use {SUPPORTED_FORMS}."
        )
    return Path(parsed.database).expanduser()


def check_url(url: str, *, create: bool) -> None:
    """Refuse, before connecting, a URL that is not ours or a SQLite file that cannot be opened.

    ``create``: the command may create a missing SQLite file (``db upgrade``, ``generate``,
    ``import``, ``serve --demo``); any other command opens an existing one or stops, so a
    mistyped path never leaves an empty database behind (issue 12, defect 8).
    """
    path = sqlite_path(url)
    if path is None:
        return
    upgrade = f"orderitems db upgrade --db {shown_url(url)}"
    if not path.parent.is_dir():
        raise DatabaseProblem(
            ProblemKind.MISSING,
            f"The directory {path.parent} of the SQLite database does not exist;"
            " create it, or give a path in an existing directory.",
        )
    if path.is_dir():
        raise DatabaseProblem(
            ProblemKind.URL, f"{path} is a directory, not a SQLite database file."
        )
    if not create and not path.exists():
        raise DatabaseProblem(
            ProblemKind.MISSING, f"There is no SQLite database at {path}; create it with: {upgrade}"
        )


def _where(url: str) -> str:
    try:
        parsed = sa.make_url(normalise_url(url))
    except sa.exc.ArgumentError:
        return url
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()


def problem_for(exc: BaseException, url: str) -> DatabaseProblem | None:
    """The problem behind a driver's exception, or None when it is not one we can name."""
    if isinstance(exc, DatabaseProblem):
        return exc
    original = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(original, psycopg.Error):
        return _postgres_problem(original, url)
    if isinstance(original, sqlite3.Error):
        return _sqlite_problem(original, url)
    return None


def _postgres_problem(exc: psycopg.Error, url: str) -> DatabaseProblem | None:
    text = str(exc)
    where = _where(url)
    upgrade = f"orderitems db upgrade --db {shown_url(url)}"
    if isinstance(exc, psycopg.errors.UndefinedTable):
        return DatabaseProblem(
            ProblemKind.SCHEMA,
            f"The database at {where} has no orderitems tables; create them with: {upgrade}",
        )
    if "failed to resolve host" in text or "could not translate host name" in text:
        host = sa.make_url(normalise_url(url)).host
        return DatabaseProblem(
            ProblemKind.UNREACHABLE,
            f"The host name {host!r} does not resolve; check the host in the database URL.",
        )
    if "Connection refused" in text or "No such file or directory" in text:
        return DatabaseProblem(
            ProblemKind.UNREACHABLE,
            f"Nothing is listening for PostgreSQL at {where} (connection refused);"
            " start PostgreSQL there, or correct the host and port in the database URL.",
        )
    if "timeout expired" in text or "timed out" in text:
        return DatabaseProblem(
            ProblemKind.UNREACHABLE,
            f"PostgreSQL at {where} did not answer in time; check the host and port.",
        )
    if "does not exist" in text and "database" in text and "FATAL" in text:
        parsed = sa.make_url(normalise_url(url))
        user = f" -U {parsed.username}" if parsed.username else ""
        host = f"-h {parsed.host or 'localhost'} -p {parsed.port or 5432}"
        return DatabaseProblem(
            ProblemKind.MISSING,
            f"The database {parsed.database!r} does not exist at {where}; create it with"
            f" `createdb {host}{user} {parsed.database}`, then run: {upgrade}",
        )
    if any(
        sign in text
        for sign in (
            "authentication failed",
            "no password supplied",
            "pg_hba.conf",
            "FATAL:  role",
        )
    ):
        return DatabaseProblem(
            ProblemKind.REFUSED,
            f"PostgreSQL at {where} refused the login ({_first_line(text)});"
            " check the user and password in the database URL.",
        )
    if lost_connection(exc):
        return DatabaseProblem(
            ProblemKind.UNREACHABLE,
            f"The connection to PostgreSQL at {where} was lost ({_first_line(text)}).",
        )
    if isinstance(exc, psycopg.OperationalError) and "connection" in text:
        return DatabaseProblem(
            ProblemKind.UNREACHABLE,
            f"Cannot connect to PostgreSQL at {where}: {_first_line(text)}",
        )
    return None


def _sqlite_problem(exc: sqlite3.Error, url: str) -> DatabaseProblem | None:
    text = str(exc)
    try:
        path = sqlite_path(url)
    except DatabaseProblem as problem:
        return problem
    upgrade = f"orderitems db upgrade --db {shown_url(url)}"
    if "no such table" in text:
        return DatabaseProblem(
            ProblemKind.SCHEMA,
            f"The SQLite database {path} has no orderitems tables; create them with: {upgrade}",
        )
    if "unable to open database file" in text:
        if path is not None and not path.exists():
            return DatabaseProblem(
                ProblemKind.MISSING,
                f"There is no SQLite database at {path}; create it with: {upgrade}",
            )
        return DatabaseProblem(
            ProblemKind.MISSING,
            f"The SQLite database {path} cannot be opened; check that it and its directory"
            " can be read and written.",
        )
    if "file is not a database" in text:
        return DatabaseProblem(ProblemKind.URL, f"{path} is not a SQLite database file.")
    return None


def lost_connection(exc: BaseException) -> bool:
    """Whether ``exc`` is a connection that went away under a statement (its backend was
    terminated, the server restarted): another connection may well succeed."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    original = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(original, psycopg.errors.AdminShutdown | psycopg.errors.CrashShutdown):
        return True
    if isinstance(original, psycopg.OperationalError):
        text = str(original)
        return any(
            sign in text
            for sign in (
                "server closed the connection",
                "terminating connection",
                "consuming input failed",
                "the connection is closed",
                "connection is lost",
            )
        )
    return False


def open_existing(url: str, *, pool_size: int = 8, busy_seconds: float = BUSY_SECONDS) -> Engine:
    """``connect``, except that a SQLite connection opens the file only if it exists.

    ``sqlite3`` creates a missing file on connect; a server whose database was deleted would
    then serve an empty file without tables (issue 12, defect 8). Opened read-write by URI
    (``mode=rw``), a missing file is "unable to open database file": a 503 and a log line.
    """
    engine = connect(url, pool_size=pool_size, busy_seconds=busy_seconds)
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:":
        sa.event.listen(engine, "do_connect", _open_existing_file)
        sa.event.listen(engine, "checkout", _still_there(Path(path).expanduser().resolve()))
    return engine


def _still_there(path: Path) -> Any:
    """A pooled connection to a file since deleted would go on reading the deleted file:
    one ``stat`` per checkout notices, and the pool reconnects, which then fails (503)."""

    def check(_dbapi: Any, _record: Any, _proxy: Any) -> None:
        if not path.exists():
            raise sa.exc.DisconnectionError(f"{path} was deleted")

    return check


def _open_existing_file(
    _dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]
) -> None:
    if cparams.get("uri") or not cargs or str(cargs[0]).startswith("file:"):
        return
    path = Path(str(cargs[0])).expanduser().resolve()
    cargs[0] = f"file:{urllib.parse.quote(str(path))}?mode=rw"
    cparams["uri"] = True
