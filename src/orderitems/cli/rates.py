"""``orderitems rates``: the exchange rates getAll's ``Currency`` converts with.

Rates are per enterprise and per direction, as Mews' ``exchangeRates/getAll`` publishes them
(one ``SourceCurrency`` unit is worth ``Value`` ``TargetCurrency`` units). ``list`` prints the
CSV that ``import`` reads, so a database's rates can be copied to another one.
"""

from __future__ import annotations

import csv
import io
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from orderitems.cli.common import DbOption, console, engine_for, settings_from
from orderitems.domain.conversion import ExchangeRate, parse_exchange_rate
from orderitems.domain.errors import InvalidInput
from orderitems.fixtures.rates import demo_rates
from orderitems.store.documents import to_micros
from orderitems.store.rates import add_missing_rates, list_rates, set_rates
from orderitems.store.reference import existing_enterprise_ids

COLUMNS = ("EnterpriseId", "SourceCurrency", "TargetCurrency", "Value")

app = typer.Typer(
    help="Exchange rates per enterprise and direction (exchangeRates/getAll shape).",
    no_args_is_help=True,
)


def _now_us() -> int:
    return to_micros(datetime.now(UTC))


def seed_demo_rates(engine: Engine, enterprise_ids: Iterable[uuid.UUID]) -> int:
    """Add the demo rates these enterprises lack (fixtures/rates.py); a rate someone set stays."""
    wanted = sorted(set(enterprise_ids))
    with engine.begin() as connection:
        present = existing_enterprise_ids(connection, wanted)
        return add_missing_rates(
            connection, demo_rates(e for e in wanted if e in present), now_us=_now_us()
        )


def _store(engine: Engine, rates: Sequence[ExchangeRate]) -> int:
    """All or nothing; every enterprise must exist."""
    with engine.begin() as connection:
        wanted = sorted({r.enterprise_id for r in rates})
        missing = set(wanted) - existing_enterprise_ids(connection, wanted)
        if missing:
            raise InvalidInput("Unknown enterprises: " + ", ".join(map(str, sorted(missing))))
        return set_rates(connection, rates, now_us=_now_us())


@app.command("list")
def list_command(
    enterprise: Annotated[
        list[uuid.UUID] | None, typer.Option(help="Only these enterprises (repeatable).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Print the rates as CSV (EnterpriseId,SourceCurrency,TargetCurrency,Value)."""
    with engine_for(settings_from(database_url=db)) as engine, engine.connect() as connection:
        rates = list_rates(connection, enterprise)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for rate in rates:
        writer.writerow([rate.enterprise_id, rate.source, rate.target, f"{rate.value:f}"])
    typer.echo(out.getvalue(), nl=False)


@app.command("set")
def set_command(
    source: Annotated[str, typer.Argument(help="ISO 4217 code converted from, e.g. GBP.")],
    target: Annotated[str, typer.Argument(help="ISO 4217 code converted into, e.g. EUR.")],
    value: Annotated[str, typer.Argument(help="One SOURCE unit in TARGET units, e.g. 1.1757.")],
    enterprise: Annotated[
        list[uuid.UUID], typer.Option(help="Enterprise the rate belongs to (repeatable).")
    ],
    db: DbOption = None,
) -> None:
    """Set one direction of a pair for some enterprises (the other direction is separate)."""
    try:
        rates = [parse_exchange_rate(e, source, target, value) for e in enterprise]
        with engine_for(settings_from(database_url=db)) as engine:
            _store(engine, rates)
    except InvalidInput as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(1) from None
    rate = rates[0]
    console.print(f"1 {rate.source} = {rate.value:f} {rate.target} for {len(rates)} enterprise(s).")


class _BadLine(Exception):
    """A CSV line that is not a rate."""


def _read_csv(lines: Iterable[str], source: str) -> Iterator[ExchangeRate]:
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [c for c in COLUMNS if c.lower() not in header]
    if missing:
        raise _BadLine(f"{source}, line 1: the header lacks {', '.join(missing)}")
    position = {c: header.index(c.lower()) for c in COLUMNS}
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        where = f"{source}, line {reader.line_num}"
        try:
            cells = {c: row[i] for c, i in position.items()}
            yield parse_exchange_rate(
                uuid.UUID(cells["EnterpriseId"].strip()),
                cells["SourceCurrency"],
                cells["TargetCurrency"],
                cells["Value"],
            )
        except IndexError:
            raise _BadLine(f"{where}: expected {len(header)} columns") from None
        except ValueError:
            raise _BadLine(f"{where}: EnterpriseId is not a uuid") from None
        except InvalidInput as exc:
            raise _BadLine(f"{where}: {exc.message}") from None


@app.command("import")
def import_command(
    source: Annotated[
        str, typer.Argument(help="CSV with EnterpriseId,SourceCurrency,TargetCurrency,Value.")
    ],
    db: DbOption = None,
) -> None:
    """Load rates from CSV, all or nothing; a pair already stored takes the new value."""
    try:
        if source == "-":
            rates = list(_read_csv(sys.stdin, "stdin"))
        else:
            with Path(source).open(newline="", encoding="utf-8-sig") as lines:
                rates = list(_read_csv(lines, source))
        with engine_for(settings_from(database_url=db)) as engine:
            count = _store(engine, rates)
    except (_BadLine, InvalidInput) as exc:
        message = exc.message if isinstance(exc, InvalidInput) else str(exc)
        console.print(f"[red]Nothing imported.[/] {message}")
        raise typer.Exit(1) from None
    except OSError as exc:
        console.print(f"[red]Nothing imported.[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"Imported {count} exchange rates")
