"""The ``peerlane`` command line.

``serve`` has one option per :class:`peerlane.config.Settings` field, generated from the
model so the two never drift apart; each can also be set as ``PEERLANE_<NAME>``.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

import typer

from peerlane import __version__
from peerlane.config import Settings, default_text, env_name, load_settings, option_name
from peerlane.errors import ConfigError

app = typer.Typer(
    help="peerlane: group chat and file sharing, peer to peer over WebRTC.",
    no_args_is_help=True,
    add_completion=False,
)
db = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db, name="db")
deploy = typer.Typer(help="Deployment: the compose stack's settings.", no_args_is_help=True)
app.add_typer(deploy, name="deploy")


def _cli_type(annotation: Any) -> Any:
    """The type Typer parses an option as; pydantic does the real validation after."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = (
        args[0] if typing.get_origin(annotation) in (typing.Union, types.UnionType) else annotation
    )
    if typing.get_origin(base) is typing.Annotated:
        base = typing.get_args(base)[0]
    if base in (int, float, bool, Path):
        return base | None
    return str | None  # str, Literal, lists (comma-separated or JSON), secrets


def settings_options() -> list[inspect.Parameter]:
    params = []
    for name, info in Settings.model_fields.items():
        help_text = f"{info.description} (env: {env_name(name)}; default: {default_text(name)})"
        kind = _cli_type(info.annotation)
        decls = [option_name(name)]
        if kind == bool | None:
            decls = [f"{option_name(name)}/--no-{name.replace('_', '-')}"]
        option = typer.Option(None, *decls, help=help_text, show_default=False)
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        )
    return params


def serve(check_config: bool = False, **options: Any) -> None:
    """Run the server (embedded SQLite and local disk unless configured otherwise)."""
    from peerlane.config_check import check
    from peerlane.server import logs
    from peerlane.server.runner import serve as run

    try:
        settings = load_settings(**options)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    findings = check(settings)
    if check_config:
        for finding in findings:
            typer.echo(str(finding))
        errors = sum(f.level == "error" for f in findings)
        typer.echo(
            f"profile {settings.profile}: {errors} errors, {len(findings) - errors} warnings"
        )
        raise typer.Exit(1 if errors else 0)
    for finding in findings:  # start anyway: --check-config is the gate
        typer.echo(f"config {finding}", err=True)
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    try:
        run(settings)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


_CHECK_CONFIG = inspect.Parameter(
    "check_config",
    inspect.Parameter.KEYWORD_ONLY,
    default=typer.Option(
        False,
        "--check-config",
        help="Print what is unsafe or will not work for the chosen --profile, then exit "
        "(1 if anything is an error, else 0) without starting.",
    ),
    annotation=bool,
)
serve.__signature__ = inspect.Signature([_CHECK_CONFIG, *settings_options()])  # type: ignore[attr-defined]
app.command("serve")(serve)


@db.command("upgrade")
def db_upgrade(
    database_url: str | None = typer.Option(
        None, "--database-url", help="SQLAlchemy URL [env: PEERLANE_DATABASE_URL]"
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="[env: PEERLANE_DATA_DIR]"),
) -> None:
    """Apply every pending schema migration, then exit."""
    from peerlane.storage.migrate import upgrade

    try:
        settings = load_settings(database_url=database_url, data_dir=data_dir)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.db_url))
    typer.echo("database is up to date")


@app.command("backup")
def backup_command(
    dest: Path = typer.Argument(..., help="A new folder, or a file name ending in .tar"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="[env: PEERLANE_DATA_DIR]"),
    database_url: str | None = typer.Option(
        None, "--database-url", help="[env: PEERLANE_DATABASE_URL]"
    ),
    files_dir: Path | None = typer.Option(None, "--files-dir", help="[env: PEERLANE_FILES_DIR]"),
) -> None:
    """Back up the SQLite database and the complete files, while the server runs."""
    from peerlane import backup

    try:
        settings = load_settings(data_dir=data_dir, database_url=database_url, files_dir=files_dir)
        done = backup.backup(settings.db_url, settings.files_path, settings.data_dir / "tls", dest)
    except (ConfigError, backup.BackupError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"backed up {done.files} files, {done.bytes} bytes in all, to {done.path}")
    if done.gone:
        typer.echo(f"{len(done.gone)} files deleted while the backup ran are left out")


@app.command("restore")
def restore_command(
    source: Path = typer.Argument(..., help="A backup folder or .tar made by peerlane backup"),
    data_dir: Path = typer.Option(..., "--data-dir", help="The data directory to restore into"),
    files_dir: Path | None = typer.Option(
        None, "--files-dir", help="Where the files go (default: files/ in the data directory)"
    ),
    force: bool = typer.Option(
        False, "--force", help="Replace the database and files of a data directory in use"
    ),
) -> None:
    """Check a backup against its manifest and restore it into a data directory."""
    from peerlane import backup

    try:
        done = backup.restore(source, data_dir, files_dir, force=force)
    except backup.BackupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"restored {done.files} files into {done.path}; start peerlane serve on it")


@app.command("healthcheck")
def healthcheck() -> None:
    """Exit 0 when this machine's server answers /readyz (for a container HEALTHCHECK);
    reads the same PEERLANE_* settings as serve."""
    from peerlane.deploy import check_ready

    try:
        settings = load_settings()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    ready, detail = check_ready(settings)
    typer.echo(detail, err=not ready)
    raise typer.Exit(0 if ready else 1)


@app.command("turn-config")
def turn_config(
    provider: str | None = typer.Option(None, "--provider", help="Which TURN provider (name)."),
    realm: str | None = typer.Option(None, "--realm", help="Default: the TURN URL's host."),
    listening_ip: str | None = typer.Option(None, "--listening-ip"),
    relay_ip: str | None = typer.Option(None, "--relay-ip"),
    external_ip: str | None = typer.Option(
        None, "--external-ip", help="The public address, when coturn is behind 1:1 NAT."
    ),
    port: int = typer.Option(3478, "--port", min=1, max=65535),
    tls_port: int = typer.Option(5349, "--tls-port", min=1, max=65535),
    cert: Path | None = typer.Option(None, "--cert", help="TLS certificate chain (turns:)."),
    pkey: Path | None = typer.Option(None, "--pkey", help="TLS private key."),
    min_port: int = typer.Option(49152, "--min-port", min=1024, max=65535),
    max_port: int = typer.Option(65535, "--max-port", min=1024, max=65535),
) -> None:
    """Print a coturn configuration using this server's TURN secret (PEERLANE_* settings)."""
    from peerlane.turn_config import CoturnOptions, TurnConfigError, pick_provider, render

    try:
        chosen = pick_provider(load_settings(), provider)
        if (cert is None) != (pkey is None):
            raise TurnConfigError("--cert and --pkey go together")
        if min_port > max_port:
            raise TurnConfigError("--min-port is above --max-port")
    except (ConfigError, TurnConfigError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    options = CoturnOptions(
        realm=realm,
        listening_ip=listening_ip,
        relay_ip=relay_ip,
        external_ip=external_ip,
        port=port,
        tls_port=tls_port,
        cert=cert,
        pkey=pkey,
        min_port=min_port,
        max_port=max_port,
    )
    typer.echo(render(chosen, options), nl=False)


@deploy.command("init")
def deploy_init(
    env_file: Path = typer.Option(Path(".env"), "--env-file", help="Where to write it."),
    public_url: str = typer.Option(
        "https://localhost", "--public-url", help="The URL people open (nginx, TLS)."
    ),
    https_port: int = typer.Option(443, "--https-port", min=1, max=65535),
    http_port: int = typer.Option(80, "--http-port", min=1, max=65535),
    turn_port: int = typer.Option(3478, "--turn-port", min=1, max=65535),
    tls_dir: Path = typer.Option(
        Path("deploy/compose/tls"),
        "--tls-dir",
        help="nginx's cert.pem + key.pem; a self-signed pair is made when none is there.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write the compose stack's env file (compose.yaml) with fresh random secrets."""
    from peerlane.deploy import EnvFileExists, StackOptions, public_host, write_env_file

    try:
        public_host(public_url)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    options = StackOptions(
        public_url=public_url, https_port=https_port, http_port=http_port, turn_port=turn_port
    )
    try:
        write_env_file(env_file, options, force=force)
    except EnvFileExists as exc:
        typer.echo(f"{env_file} exists already; --force replaces it (and its secrets)", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {env_file} (mode 0600); keep it out of version control")
    if not any((tls_dir / name).exists() for name in ("cert.pem", "key.pem")):
        from peerlane.server.tls import ensure_self_signed

        ensure_self_signed(tls_dir, hosts=(public_host(public_url),))
        typer.echo(f"made a self-signed certificate in {tls_dir}; replace it with a real one")


def _register_peer_commands() -> None:
    """The terminal peer's commands live in their own modules (cli_*.py)."""
    from peerlane.cli_chat import chat_command
    from peerlane.cli_config_cmd import config_app
    from peerlane.cli_doctor import doctor_command
    from peerlane.cli_identity import identity_command
    from peerlane.cli_transfer import receive_command, send_command

    app.command("chat")(chat_command)
    app.command("doctor")(doctor_command)
    app.command("send")(send_command)
    app.command("receive")(receive_command)
    app.command("identity")(identity_command)
    app.add_typer(config_app, name="config")


_register_peer_commands()


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    sys.exit(app())
