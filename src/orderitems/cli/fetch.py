"""``orderitems fetch``: export order items from any Connector API, ours or Mews'.

A fetch is a list of getAll requests (windows times id chunks, ``plan_requests``). Each page is
appended to a JSON Lines spool; when a request is complete its key and the spool's size go to
the state file. A rerun of the same command truncates the spool to the last complete request
and carries on, so an interrupted fetch neither loses nor repeats items. At the end the spool
becomes the output and the state file is removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orderitems.cli.common import console
from orderitems.cli.fetch_output import (
    Format,
    ParquetUnavailable,
    check_format_available,
    dump_line,
    finish,
)
from orderitems.client import (
    LOCALHOST,
    MEWS_DEMO,
    MEWS_PRODUCTION,
    ApiError,
    Client,
    ClientError,
    GetAllRequest,
    OrderItemFilter,
    plan_requests,
    to_wire,
)

ALIASES = {"localhost": LOCALHOST, "demo": MEWS_DEMO, "production": MEWS_PRODUCTION}
TIME_FIELDS = ("created", "updated", "consumed", "canceled", "closed")
STATE_VERSION = 1


def open_client(base_url: str, client_token: str, access_token: str, client_name: str) -> Client:
    """The client a fetch uses (tests replace this to inject faults)."""
    return Client(
        base_url=base_url,
        client_token=client_token,
        access_token=access_token,
        client_name=client_name,
    )


def parse_time(text: str) -> datetime:
    """ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 date or date-time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class FetchState:
    """What survives an interruption: the job, its period, and the requests already written."""

    job: dict[str, Any]
    start: str
    end: str
    done: list[str] = field(default_factory=list)
    spool_bytes: int = 0
    max_updated: str | None = None
    version: int = STATE_VERSION

    def save(self, path: Path) -> None:
        """Write beside and rename, so a crash leaves the old state or the new, never half."""
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=1))
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> FetchState:
        return cls(**json.loads(path.read_text()))


def request_key(request: GetAllRequest) -> str:
    return hashlib.sha256(msgspec.json.encode(request)).hexdigest()[:20]


def _read_bookmark(path: Path) -> datetime | None:
    if not path.exists():
        return None
    try:
        return parse_time(json.loads(path.read_text())["UpdatedUtc"])
    except (ValueError, KeyError, TypeError, typer.BadParameter):
        raise typer.BadParameter(f"{path} is not a bookmark written by orderitems fetch") from None


@contextmanager
def client_logging() -> Iterator[None]:
    """Show the client's retry warnings on the console for the length of the command."""
    logger = logging.getLogger("orderitems.client")
    handler = RichHandler(console=console, show_path=False, level=logging.WARNING)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def fetch(
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    client_token: Annotated[
        str, typer.Option(envvar="MEWS_CLIENT_TOKEN", help="ClientToken.", show_default=False)
    ],
    access_token: Annotated[
        str, typer.Option(envvar="MEWS_ACCESS_TOKEN", help="AccessToken.", show_default=False)
    ],
    base_url: Annotated[
        str,
        typer.Option(
            envvar="MEWS_BASE_URL", help="Server address, or localhost, demo, production."
        ),
    ] = "localhost",
    output_format: Annotated[Format, typer.Option("--format", help="Output format.")] = (
        Format.JSONL
    ),
    start: Annotated[str | None, typer.Option(help="Period start (ISO 8601, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Period end, exclusive (default: now).")] = None,
    by: Annotated[
        str | None,
        typer.Option(help="Which time the period filters: " + ", ".join(TIME_FIELDS) + "."),
    ] = None,
    since_bookmark: Annotated[
        Path | None,
        typer.Option(help="Incremental: items updated since the UpdatedUtc saved in this file."),
    ] = None,
    enterprise: Annotated[
        list[uuid.UUID] | None, typer.Option(help="Only this enterprise (repeatable).")
    ] = None,
    service: Annotated[
        list[uuid.UUID] | None, typer.Option(help="Only this service (repeatable).")
    ] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only this item type (repeatable).")
    ] = None,
    state: Annotated[
        list[str] | None, typer.Option(help="Only this accounting state (repeatable).")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="Convert amounts to this.")] = None,
    page_size: Annotated[int, typer.Option(min=1, max=1000, help="Limitation.Count.")] = 1000,
    state_file: Annotated[
        Path | None, typer.Option(help="Resumable state (default: OUT.fetch-state.json).")
    ] = None,
    restart: Annotated[bool, typer.Option(help="Discard a saved state; start over.")] = False,
    client_name: Annotated[str, typer.Option("--client", help="Client name.")] = (
        "orderitems fetch 0.1.0"
    ),
) -> None:
    """Export order items from a Connector API (ours or Mews') to JSON Lines, CSV or Parquet.

    The JSON Lines output is what [bold]orderitems import[/] reads. Interrupted, the same
    command resumes where it stopped.
    """
    try:
        check_format_available(output_format)
    except ParquetUnavailable as exc:
        raise typer.BadParameter(str(exc)) from None
    field_name = by or ("updated" if since_bookmark else "created")
    if field_name not in TIME_FIELDS:
        raise typer.BadParameter(f"--by must be one of {', '.join(TIME_FIELDS)}")
    if since_bookmark and field_name != "updated":
        raise typer.BadParameter("--since-bookmark always filters by UpdatedUtc")
    bookmark = _read_bookmark(since_bookmark) if since_bookmark else None
    if bookmark is None and start is None:
        raise typer.BadParameter("give --start (or --since-bookmark with a saved bookmark)")
    period_start = bookmark or parse_time(start or "")
    period_end = parse_time(end) if end else datetime.now(UTC).replace(microsecond=0)
    address = ALIASES.get(base_url, base_url)
    job: dict[str, Any] = {
        "base_url": address,
        "by": field_name,
        "bookmarked": since_bookmark is not None,
        "enterprise": sorted(map(str, enterprise or [])),
        "service": sorted(map(str, service or [])),
        "type": sorted(type_ or []),
        "state": sorted(state or []),
        "currency": currency,
        "out": str(out.resolve()),
        "format": output_format.value,
        "page_size": page_size,
    }
    state_path = state_file or out.with_name(out.name + ".fetch-state.json")
    spool = out.with_name(out.name + ".partial.jsonl")
    saved = _resume(state_path, job, restart)
    fresh = saved is None
    if saved is None:
        saved = FetchState(job=job, start=_iso(period_start), end=_iso(period_end))
    elif (start and not since_bookmark and parse_time(start) != parse_time(saved.start)) or (
        end and parse_time(end) != parse_time(saved.end)
    ):
        raise typer.BadParameter(
            f"{state_path} is for the period {saved.start} to {saved.end};"
            " use --restart to fetch another one"
        )
    period = (parse_time(saved.start), parse_time(saved.end))
    periods = {name: period if name == field_name else None for name in TIME_FIELDS}
    query = OrderItemFilter(
        enterprise_ids=enterprise or None,
        service_ids=service or None,
        types=type_ or None,
        accounting_states=state or None,
        currency=currency,
        created_utc=periods["created"],
        updated_utc=periods["updated"],
        consumed_utc=periods["consumed"],
        canceled_utc=periods["canceled"],
        closed_utc=periods["closed"],
    )
    try:
        requests = plan_requests(query, page_size=page_size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if fresh:
        spool.write_bytes(b"")
        saved.save(state_path)
    client = open_client(address, client_token, access_token, client_name)
    try:
        with client, client_logging():
            _run(client, requests, saved, state_path, spool)
    except ApiError as exc:
        console.print(f"[red]Stopped by the API:[/] {exc}")
        console.print(f"Progress is kept in {state_path}; run the same command to continue.")
        raise typer.Exit(1) from None
    except ClientError as exc:
        console.print(f"[red]Stopped:[/] {exc}")
        console.print(f"Progress is kept in {state_path}; run the same command to continue.")
        raise typer.Exit(1) from None
    written = finish(spool, out, output_format)
    spool.unlink()
    state_path.unlink()
    if since_bookmark is not None:
        mark = saved.max_updated or _iso(bookmark or period[0])
        since_bookmark.write_text(json.dumps({"UpdatedUtc": mark}) + "\n")
    console.print(
        f"Fetched {written} order items ({len(requests)} windows and chunks)"
        f" from {address} to {out}"
    )


def _resume(path: Path, job: dict[str, Any], restart: bool) -> FetchState | None:
    if restart or not path.exists():
        return None
    saved = FetchState.load(path)
    if saved.version != STATE_VERSION or saved.job != job:
        raise typer.BadParameter(
            f"{path} belongs to a different fetch; use --restart to start this one over"
        )
    console.print(f"Resuming: {len(saved.done)} requests already done ({path})")
    return saved


def _run(
    client: Client, requests: list[GetAllRequest], saved: FetchState, state: Path, spool: Path
) -> None:
    done = set(saved.done)
    columns = [
        TextColumn("[bold]Fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests, {task.fields[items]} items"),
        TimeElapsedColumn(),
    ]
    with (
        Progress(*columns, console=console, disable=not console.is_terminal) as progress,
        spool.open("r+b") as sink,
    ):
        sink.truncate(saved.spool_bytes)
        sink.seek(saved.spool_bytes)
        task = progress.add_task("fetch", total=len(requests), completed=len(done), items=0)
        items = 0
        latest = parse_time(saved.max_updated) if saved.max_updated else None
        for request in requests:
            key = request_key(request)
            if key in done:
                continue
            for page in client.iter_pages(request):
                for item in page.order_items:
                    sink.write(dump_line(to_wire(item)))
                    if latest is None or item.updated_utc > latest:
                        latest = item.updated_utc
                items += len(page.order_items)
                progress.update(task, items=items)
            sink.flush()
            os.fsync(sink.fileno())
            saved.max_updated = None if latest is None else _iso(latest.astimezone(UTC))
            saved.done.append(key)
            saved.spool_bytes = sink.tell()
            saved.save(state)
            progress.advance(task)
