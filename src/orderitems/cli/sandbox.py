"""``orderitems sandbox``: the admin API of a running sandbox or demo server, from a shell.

Every command is one request to ``/_sandbox/...`` (api/admin.py), so it acts on the state that
all of the server's processes share, whichever one answers.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from orderitems.access.admin_token import DEMO_ADMIN_TOKEN
from orderitems.api.admin import PREFIX
from orderitems.cli.common import console, settings_from

app = typer.Typer(
    help="Control a running sandbox or demo server: faults, clock, drills, request log, reset.",
    no_args_is_help=True,
)
fault_app = typer.Typer(help="Inject faults into the next requests.", no_args_is_help=True)
clock_app = typer.Typer(help="Freeze or set the server's clock.", no_args_is_help=True)
drill_app = typer.Typer(
    help="Make answers look like a future API version: unknown properties and enum values.",
    no_args_is_help=True,
)
app.add_typer(fault_app, name="fault")
app.add_typer(clock_app, name="clock")
app.add_typer(drill_app, name="drill")


class Target:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One admin request; a refusal or an unreachable server ends the command (exit 1)."""
        try:
            response = httpx.request(
                method,
                f"{self.url}{PREFIX}{path}",
                json=body,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=600,
            )
        except httpx.TransportError as exc:
            console.print(f"[red]Cannot reach {self.url}:[/] {exc}")
            raise typer.Exit(1) from None
        if response.status_code >= 400:
            try:
                message = response.json().get("Message", response.text)
            except ValueError:
                message = response.text
            console.print(f"[red]{response.status_code}:[/] {message}")
            raise typer.Exit(1)
        return response.json() if response.content else None


def _show(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@app.callback()
def target(
    context: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(
            envvar="ORDERITEMS_SANDBOX_URL",
            help="The server (default: http://$ORDERITEMS_HOST:$ORDERITEMS_PORT).",
        ),
    ] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="ORDERITEMS_ADMIN_TOKEN",
            help=f"The admin token the server printed (default: {DEMO_ADMIN_TOKEN}).",
        ),
    ] = None,
) -> None:
    settings = settings_from()
    context.obj = Target(
        url or f"http://{settings.host}:{settings.port}", admin_token or DEMO_ADMIN_TOKEN
    )


@fault_app.command("add")
def add_fault(
    context: typer.Context,
    status: Annotated[
        int | None, typer.Option(help="Answer 408, 429, 500 or 503 instead of serving.")
    ] = None,
    retry_after: Annotated[
        int | None, typer.Option(help="Retry-After seconds on a 429 or 503 (default: none).")
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, help="Only the next N matching requests.")
    ] = None,
    percent: Annotated[
        float, typer.Option(min=0.001, max=100, help="Share of matching requests hit.")
    ] = 100.0,
    operation: Annotated[
        str | None, typer.Option(help="Only this operation, e.g. orderItems/getAll.")
    ] = None,
    access_token: Annotated[str | None, typer.Option(help="Only this AccessToken.")] = None,
    delay_ms: Annotated[int, typer.Option(min=0, help="Added latency before answering.")] = 0,
    database_delay_ms: Annotated[
        int, typer.Option(min=0, help="A slow query of this length first (meets the deadline).")
    ] = 0,
    message: Annotated[str | None, typer.Option(help="The error body's Message.")] = None,
) -> None:
    """Answer matching requests with a fault, or slow them down."""
    body = {
        "Status": status,
        "RetryAfter": retry_after,
        "Count": count,
        "Percent": percent,
        "Operation": operation,
        "AccessToken": access_token,
        "DelayMs": delay_ms,
        "DatabaseDelayMs": database_delay_ms,
        "Message": message,
    }
    _show(context.obj.send("POST", "/faults", {k: v for k, v in body.items() if v is not None}))


@fault_app.command("list")
def list_faults(context: typer.Context) -> None:
    """The injected faults, with how many uses each has left."""
    _show(context.obj.send("GET", "/faults"))


@fault_app.command("remove")
def remove_fault(context: typer.Context, fault_id: int) -> None:
    """Remove one fault by its id."""
    context.obj.send("DELETE", f"/faults/{fault_id}")
    console.print(f"Removed fault {fault_id}")


@fault_app.command("clear")
def clear_faults(context: typer.Context) -> None:
    """Remove every fault: normal service resumes."""
    context.obj.send("DELETE", "/faults")
    console.print("No faults")


@clock_app.command("show")
def show_clock(context: typer.Context) -> None:
    """The server's now, and whether it is frozen."""
    _show(context.obj.send("GET", "/clock"))


@clock_app.command("freeze")
def freeze_clock(
    context: typer.Context,
    at: Annotated[datetime | None, typer.Option(help="The instant (UTC); default: now.")] = None,
) -> None:
    """Stop the server's clock, at an instant or now: written timestamps become fixed."""
    body = {"Frozen": True} if at is None else {"Frozen": True, "NowUtc": _utc(at)}
    _show(context.obj.send("PUT", "/clock", body))


@clock_app.command("set")
def set_clock(
    context: typer.Context,
    at: Annotated[datetime, typer.Option(help="The instant (UTC) the clock runs on from.")],
) -> None:
    """Move the server's clock to an instant and let it run on from there."""
    _show(context.obj.send("PUT", "/clock", {"Frozen": False, "NowUtc": _utc(at)}))


@clock_app.command("release")
def release_clock(context: typer.Context) -> None:
    """Back to the system clock."""
    _show(context.obj.send("DELETE", "/clock"))


@drill_app.command("start")
def start_drill(
    context: typer.Context,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Replay a drill with its seed (default: drawn).")
    ] = None,
    percent: Annotated[
        float, typer.Option(min=0, max=100, help="Share of items given unknown enum values.")
    ] = 25.0,
    enum: Annotated[
        list[str] | None,
        typer.Option(
            help="Which values change (repeat): Type, DataDiscriminator, AccountingState,"
            " RevenueType, TaxCode (default: all)."
        ),
    ] = None,
    no_properties: Annotated[
        bool, typer.Option("--no-properties", help="Add no unknown properties.")
    ] = False,
    operation: Annotated[
        str | None, typer.Option(help="Only this operation, e.g. orderItems/getAll.")
    ] = None,
    access_token: Annotated[str | None, typer.Option(help="Only this AccessToken.")] = None,
) -> None:
    """Start a drift drill (replacing any other); prints it with its seed."""
    body = {
        "Seed": seed,
        "Percent": percent,
        "Enums": enum or None,
        "Properties": not no_properties,
        "Operation": operation,
        "AccessToken": access_token,
    }
    _show(context.obj.send("PUT", "/drill", {k: v for k, v in body.items() if v is not None}))


@drill_app.command("show")
def show_drill(context: typer.Context) -> None:
    """The drill running now (null: none)."""
    _show(context.obj.send("GET", "/drill"))


@drill_app.command("stop")
def stop_drill(context: typer.Context) -> None:
    """Stop the drill: answers are the contract's again."""
    context.obj.send("DELETE", "/drill")
    console.print("No drill")


@app.command("requests")
def list_requests(
    context: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
) -> None:
    """The last requests: operation, token label, status, latency and the error message."""
    _show(context.obj.send("GET", f"/requests?limit={limit}"))


@app.command("clear-requests")
def clear_requests(context: typer.Context) -> None:
    """Empty the request log."""
    context.obj.send("DELETE", "/requests")
    console.print("Request log emptied")


@app.command("clear-limits")
def clear_limits(context: typer.Context) -> None:
    """Forget every AccessToken's rate-limit window."""
    context.obj.send("DELETE", "/limits")
    console.print("Rate-limit windows emptied")


@app.command("reset")
def reset(context: typer.Context) -> None:
    """Regenerate the demo data from its seed; forget faults, clock, drill, log and limits."""
    answer = context.obj.send("POST", "/reset")
    console.print(f"Reset: {answer['Items']} demo items in {answer['Seconds']:.1f} s")


def _utc(at: datetime) -> str:
    """Naive instants are UTC."""
    return at.isoformat() + ("Z" if at.tzinfo is None else "")
