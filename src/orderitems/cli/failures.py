"""How every command ends when something goes wrong: one or two lines, a documented exit code.

A database that cannot be used (store/connect_errors.py) is said in its own words; Ctrl-C is
exit 130 and one line; anything unexpected is one line naming the file that holds its
traceback. ``--log-level debug`` (or ``ORDERITEMS_LOG_LEVEL=debug``) prints the traceback too.
The codes are listed in the README's CLI section.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from orderitems.cli.common import console, debugging
from orderitems.store.connect_errors import DatabaseProblem, ProblemKind

#: Exit codes, one per kind of database mistake (README, The CLI).
EXIT_CODES: dict[ProblemKind, int] = {
    ProblemKind.UNREACHABLE: 3,
    ProblemKind.REFUSED: 4,
    ProblemKind.MISSING: 5,
    ProblemKind.URL: 6,
    ProblemKind.SCHEMA: 7,
}
#: A bug, or a failure nobody foresaw: the details are in a file (sysexits' EX_SOFTWARE).
UNEXPECTED = 70
#: Interrupted by Ctrl-C (128 + SIGINT, what a shell reports).
INTERRUPTED = 130


def _show_traceback(ctx: typer.Context) -> None:
    if debugging(ctx):
        console.print_exception()


def report_problem(problem: DatabaseProblem, ctx: typer.Context) -> int:
    _show_traceback(ctx)
    console.print(
        f"[red]Database problem:[/] {escape(problem.message)}", soft_wrap=True, highlight=False
    )
    return EXIT_CODES[problem.kind]


def report_unexpected(exc: BaseException, ctx: typer.Context) -> int:
    """One line naming the file with the traceback (it is printed as well when debugging)."""
    details = "".join(traceback.format_exception(exc))
    descriptor, path = tempfile.mkstemp(prefix="orderitems-error-", suffix=".txt")
    with os.fdopen(descriptor, "w") as file:
        file.write(details)
    _show_traceback(ctx)
    summary = (str(exc).strip().splitlines() or [""])[0]
    console.print(
        f"[red]Unexpected error[/] ({type(exc).__name__}: {escape(summary)})."
        f" The details are in {escape(path)}; please include them in a bug report.",
        soft_wrap=True,
        highlight=False,
    )
    return UNEXPECTED


class GuardedGroup(TyperGroup):
    """The root command: whatever a subcommand raises ends as described in this module."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context, which it does not export
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except DatabaseProblem as problem:
            raise typer.Exit(report_problem(problem, ctx)) from None
        except KeyboardInterrupt:
            console.print("[red]Interrupted.[/]")
            raise typer.Exit(INTERRUPTED) from None
        except Exception as exc:
            code = report_unexpected(exc, ctx)
            raise typer.Exit(code) from None
