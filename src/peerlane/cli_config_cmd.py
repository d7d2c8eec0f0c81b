"""``peerlane config``: the CLI's own settings (the server, your name)."""

from __future__ import annotations

import typer

from peerlane.peer import PeerError

config_app = typer.Typer(
    help="The CLI's settings: `peerlane config set server https://chat.example.org`.",
    no_args_is_help=True,
)


@config_app.command("set")
def config_set(
    key: str = typer.Argument(..., help="server or name"),
    value: str = typer.Argument(..., help="The value"),
) -> None:
    """Remember a setting: `server` (used when --server and PEERLANE_SERVER are not given)
    or `name` (your name in rooms)."""
    from peerlane.peer import cli_config

    try:
        path = cli_config.save(key, value)
    except PeerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(f"saved {key} in {path}")


@config_app.command("get")
def config_get(key: str = typer.Argument(None, help="server or name; all when left out")) -> None:
    """Print the saved settings."""
    from peerlane.peer import cli_config

    try:
        data = cli_config.load()
    except PeerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    for name, value in data.items():
        if key in (None, name):
            typer.echo(f"{name} = {value}")
