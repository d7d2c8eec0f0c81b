"""``peerlane doctor``: which paths work from this network, and what to do about the rest."""

from __future__ import annotations

import asyncio
import json

import typer

from peerlane.core.net_verdict import report_lines
from peerlane.peer import EXIT_INTERRUPTED, EXIT_USAGE, PeerError

EXAMPLES = """
Examples:

  peerlane doctor --server https://chat.example.org

  peerlane doctor --json | jq .advice

Exit code 0 when every check passed, 1 when one failed, 4 when the server is unreachable.
"""


def doctor_command(
    server: str | None = typer.Option(
        None, "--server", help="The server (else PEERLANE_SERVER, else `peerlane config`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Check the server, its WebSocket, STUN (your reflexive address) and TURN over each
    transport with the credentials the server issues; estimate the NAT; give advice."""
    from peerlane.peer import EXIT_UNREACHABLE, cli_config, doctor

    try:
        base = cli_config.server_url(server)
        if base is None:
            raise PeerError(
                "Which server? Give --server URL, set PEERLANE_SERVER, "
                "or run `peerlane config set server URL` once.",
                EXIT_USAGE,
            )
        report = asyncio.run(doctor.run(base))
    except PeerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        for line in report_lines(report.checks, report.findings):
            typer.echo(line)
    if not report.checks[0].ok:
        raise typer.Exit(EXIT_UNREACHABLE)
    raise typer.Exit(0 if report.ok else 1)


doctor_command.__doc__ = (doctor_command.__doc__ or "") + "\n" + EXAMPLES
