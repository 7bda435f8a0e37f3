"""``orderitems tokens``: list, create and revoke access tokens."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from sqlalchemy.exc import IntegrityError

from orderitems.access.tokens import create_access_token, new_token
from orderitems.cli.common import DbOption, console, engine_for, settings_from
from orderitems.domain.errors import InvalidInput
from orderitems.store.tokens import list_access_tokens, set_access_token_enabled

app = typer.Typer(help="Client and access tokens (stored hashed).", no_args_is_help=True)


@app.command("list")
def list_tokens(db: DbOption = None) -> None:
    """List access tokens with their scope (token values are never stored, only hashes)."""
    with engine_for(settings_from(database_url=db)) as engine:
        with engine.connect() as connection:
            for t in list_access_tokens(connection):
                kind = "portfolio" if t.portfolio else "single"
                flags = ("demo " if t.demo else "") + ("" if t.enabled else "REVOKED")
                scope = ",".join(str(e) for e in t.enterprise_ids)
                typer.echo(f"{t.label:<40} {kind:<9} {flags:<12} {t.client_name:<36} {scope}")


@app.command("create")
def create(
    enterprise: Annotated[
        list[uuid.UUID],
        typer.Option(help="Enterprise in scope (repeat for a portfolio token)."),
    ],
    label: Annotated[str, typer.Option(help="A name to recognise the token by.")],
    client_name: Annotated[str, typer.Option(help="The integration's name.")] = "Local client",
    client_token: Annotated[
        str | None, typer.Option(help="Reuse this ClientToken (default: a new one).")
    ] = None,
    access_token: Annotated[
        str | None, typer.Option(help="Use this AccessToken value (default: a new one).")
    ] = None,
    portfolio: Annotated[
        bool | None,
        typer.Option("--portfolio/--single", help="Default: portfolio when several enterprises."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create a token pair; prints the values once (only their hashes are stored)."""
    with engine_for(settings_from(database_url=db)) as engine:
        client_value = client_token or new_token()
        access_value = access_token or new_token()
        try:
            with engine.begin() as connection:
                create_access_token(
                    connection,
                    client_token=client_value,
                    client_name=client_name,
                    access_token=access_value,
                    label=label,
                    enterprise_ids=enterprise,
                    portfolio=portfolio,
                )
        except InvalidInput as exc:
            console.print(f"[red]{exc.message}[/]")
            raise typer.Exit(1) from None
        except IntegrityError:
            console.print(f"[red]An access token labelled {label!r} or with that value exists.[/]")
            raise typer.Exit(1) from None
        typer.echo(f"ClientToken: {client_value}")
        typer.echo(f"AccessToken: {access_value}")


@app.command("revoke")
def revoke(
    label: Annotated[str, typer.Argument(help="Label of the token.")], db: DbOption = None
) -> None:
    """Disable an access token: it answers 401 from now on."""
    with engine_for(settings_from(database_url=db)) as engine:
        with engine.begin() as connection:
            changed = set_access_token_enabled(connection, label, enabled=False)
        if not changed:
            console.print(f"[red]No access token labelled {label!r}.[/]")
            raise typer.Exit(1)
        console.print(f"Revoked {changed} token(s) labelled {label!r}.")
