"""Getting items in and out: generate, import, export, and the demo database."""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.engine import Engine

from orderitems.access.tokens import create_access_token, hash_token
from orderitems.cli.common import DbOption, console, engine_for, settings_from
from orderitems.cli.importing import (
    ImportProblem,
    import_batches,
    import_progress,
    taken_id_message,
)
from orderitems.cli.rates import seed_demo_rates
from orderitems.domain.enterprises import Enterprise
from orderitems.fixtures.demo import (
    DEMO_ENTERPRISES,
    DEMO_PERIOD_END,
    DEMO_PERIOD_START,
    DEMO_TOKENS,
)
from orderitems.fixtures.generator import demo_services
from orderitems.fixtures.generator import generate as generate_bundles
from orderitems.settings import Settings
from orderitems.store import tokens as token_store
from orderitems.store.bulk_lines import BLOCK_BYTES, decoded_blocks
from orderitems.store.item_ids import ItemIdTaken
from orderitems.store.items import count_items, iter_documents
from orderitems.store.loading import Batch, item_encoder, load
from orderitems.store.migrate import upgrade
from orderitems.store.reference import list_enterprises

#: Items per loaded batch: small enough that a batch's decoded objects stay in the CPU cache.
BATCH = 1000
FIRST_TASK = TaskID(0)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Progress]:
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.speed:>8.0f} items/s" if total else ""),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        progress.add_task(description, total=total)
        yield progress


def _generated_batches(
    *, seed: int, count: int, start: datetime, end: datetime, enterprises: Sequence[Enterprise]
) -> Iterator[Batch]:
    yield Batch(items=(), enterprises=enterprises, services=demo_services(enterprises))
    bundles = generate_bundles(
        seed=seed, count=count, start=start, end=end, enterprises=enterprises
    )
    while chunk := list(itertools.islice(bundles, BATCH // 8)):
        yield Batch(
            items=[i for b in chunk for i in b.items],
            service_orders=[b.service_order for b in chunk],
        )


def generate_into(
    engine: Engine,
    *,
    seed: int,
    count: int,
    enterprises: Sequence[Enterprise] = DEMO_ENTERPRISES,
    start: datetime = DEMO_PERIOD_START,
    end: datetime = DEMO_PERIOD_END,
) -> int:
    batches = _generated_batches(
        seed=seed, count=count, start=start, end=end, enterprises=enterprises
    )
    with progress_bar("Generating", count) as progress:
        return load(engine, batches, on_progress=lambda n: progress.advance(FIRST_TASK, n))


def seed_demo_tokens(engine: Engine) -> int:
    """Store every demo token pair that is not stored yet; returns how many were added."""
    added = 0
    with engine.begin() as connection:
        present = {e.id for e in list_enterprises(connection)}
        for token in DEMO_TOKENS:
            if not present.issuperset(token.enterprise_ids):
                continue  # generated for some enterprises only: their tokens, not the others'
            if token_store.find_credentials(connection, hash_token(token.access_token)):
                continue
            create_access_token(
                connection,
                client_token=token.client_token,
                client_name=token.client_name,
                access_token=token.access_token,
                label=token.label,
                enterprise_ids=token.enterprise_ids,
                profile_id=token.profile_id,
                portfolio=token.portfolio,
                demo=True,
            )
            added += 1
    return added


def prepare_demo(engine: Engine, settings: Settings) -> None:
    """First run: schema, generated items and demo tokens. Later runs reuse the database."""
    upgrade(engine)
    with engine.connect() as connection:
        existing = count_items(connection)
    if existing == 0:
        console.print(
            f"Creating demo data: {settings.demo_items} items (seed {settings.demo_seed})"
        )
        generate_into(engine, seed=settings.demo_seed, count=settings.demo_items)
    seed_demo_tokens(engine)
    seed_demo_rates(engine, [e.id for e in DEMO_ENTERPRISES])


def _pick_enterprises(selectors: Sequence[str] | None) -> list[Enterprise]:
    if not selectors:
        return list(DEMO_ENTERPRISES)
    chosen: list[Enterprise] = []
    for selector in selectors:
        matches = [
            e
            for e in DEMO_ENTERPRISES
            if selector.lower() in e.name.lower()
            or selector.lower() == str(e.id)
            or selector.upper() == e.currency
        ]
        if not matches:
            names = ", ".join(f"{e.name} ({e.currency})" for e in DEMO_ENTERPRISES)
            raise typer.BadParameter(f"{selector!r} names no demo enterprise; choose from {names}")
        chosen.extend(m for m in matches if m not in chosen)
    return chosen


def _as_utc(moment: datetime) -> datetime:
    """Command-line times without an offset are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def generate(
    items: Annotated[int, typer.Option(min=1, help="How many order items to create.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 1,
    enterprise: Annotated[
        list[str] | None,
        typer.Option(help="Demo enterprise by name, id or currency (repeatable; default all)."),
    ] = None,
    start: Annotated[datetime, typer.Option(help="Earliest consumption.")] = DEMO_PERIOD_START,
    end: Annotated[datetime, typer.Option(help="Latest consumption.")] = DEMO_PERIOD_END,
    db: DbOption = None,
    demo_tokens: Annotated[bool, typer.Option(help="Also store the demo token pairs.")] = True,
) -> None:
    """Generate realistic, deterministic demo order items into a database."""
    settings = settings_from(database_url=db)
    with engine_for(settings, create=True) as engine:
        upgrade(engine)
        chosen = _pick_enterprises(enterprise)
        try:
            loaded = generate_into(
                engine,
                seed=seed,
                count=items,
                enterprises=chosen,
                start=_as_utc(start),
                end=_as_utc(end),
            )
        except ItemIdTaken:
            console.print(
                "[red]These items already exist in the database[/] (same seed twice?)."
                " Nothing was written; use another --seed or a fresh database."
            )
            raise typer.Exit(1) from None
        if demo_tokens:
            seed_demo_tokens(engine)
        seed_demo_rates(engine, [e.id for e in chosen])
        console.print(f"Generated {loaded} order items into {settings.database_url}")


def import_items(
    source: Annotated[str, typer.Argument(help="JSON Lines file of order items, or - for stdin.")],
    db: DbOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            show_default="the number of CPUs",
            help="Processes that decode lines beside the one writing; 0 decodes in the writer.",
        ),
    ] = None,
) -> None:
    """Load order items (JSON Lines, the API's Order item shape) into a database, atomically."""
    settings = settings_from(database_url=db)
    lines: Path | BinaryIO = sys.stdin.buffer if source == "-" else Path(source)
    try:
        size = lines.stat().st_size if isinstance(lines, Path) else None
    except OSError as exc:
        console.print(f"[red]Nothing imported.[/] Cannot read {source}: {exc.strerror}")
        raise typer.Exit(1) from None
    if workers is None:
        workers = os.cpu_count() or 1
    if size is not None and size < BLOCK_BYTES:
        workers = 0  # one block: starting workers would take longer than decoding it
    with engine_for(settings, create=True) as engine:
        upgrade(engine)
        with engine.connect() as connection:
            known = {e.id for e in list_enterprises(connection)}
        try:
            with import_progress(size) as progress:
                blocks = decoded_blocks(lines, item_encoder(engine), workers=workers)
                loaded = load(
                    engine,
                    import_batches(blocks, known, source, on_read=progress.read),
                    on_progress=progress.loaded,
                )
        except ImportProblem as exc:
            console.print(f"[red]Nothing imported.[/] {exc}")
            raise typer.Exit(1) from None
        except ItemIdTaken as exc:
            message = taken_id_message(engine, source, lines, exc.item_id)
            console.print(f"[red]Nothing imported.[/] {message}")
            raise typer.Exit(1) from None
        console.print(f"Imported {loaded} order items into {settings.database_url}")


def export_items(
    out: Annotated[str, typer.Option("--out", "-o", help="File to write, or - for stdout.")] = "-",
    enterprise: Annotated[
        list[uuid.UUID] | None, typer.Option(help="Only these enterprises (repeatable).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write order items as JSON Lines in exactly the API's Order item shape."""
    settings = settings_from(database_url=db)
    with engine_for(settings) as engine:
        with engine.connect() as connection:
            enterprise_ids = enterprise or [e.id for e in list_enterprises(connection)]
            total = count_items(connection)
            sink = sys.stdout.buffer if out == "-" else Path(out).open("wb")
            written = 0
            with progress_bar("Exporting", total) as progress:
                for document in iter_documents(connection, enterprise_ids=enterprise_ids):
                    sink.write(document + b"\n")
                    written += 1
                    if written % 1000 == 0:
                        progress.advance(FIRST_TASK, 1000)
            sink.flush()
            if sink is not sys.stdout.buffer:
                sink.close()
        console.print(f"Exported {written} order items")


def list_enterprises_command(db: DbOption = None) -> None:
    """List the enterprises in the database."""
    with engine_for(settings_from(database_url=db)) as engine:
        with engine.connect() as connection:
            for e in list_enterprises(connection):
                typer.echo(
                    f"{e.id}  {e.currency}  {e.pricing.value:<5}  {e.tax_environment:<6}  {e.name}"
                )
