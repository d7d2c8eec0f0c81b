"""``peerlane identity``: this terminal's identity key, and safety codes with others."""

from __future__ import annotations

import json

import typer

from peerlane.peer import PeerError

EXAMPLES = """
Examples:

  peerlane identity                     this terminal's public key (made the first time)

  peerlane identity --with 3q2-7wX...   the safety code with another member's key

Read the safety code aloud with the other member: the same digits on both screens mean
no one is in between.
"""


def identity_command(
    with_key: str | None = typer.Option(
        None, "--with", help="Another member's public key: print your safety code with it."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """This terminal's identity key (X25519, kept in the config directory, mode 0600)."""
    from peerlane.peer import identity

    try:
        private = identity.load_or_make()
        record = {"public_key": identity.public_key(private), "path": str(identity.identity_path())}
        if with_key is not None:
            record |= {
                "with": with_key.strip(),
                "safety_code": identity.safety_code_with(private, with_key),
            }
    except PeerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        typer.echo(json.dumps(record))
        return
    typer.echo(f"public key:  {record['public_key']}")
    typer.echo(f"kept in:     {record['path']}")
    if "safety_code" in record:
        typer.echo(f"safety code: {record['safety_code']}")


identity_command.__doc__ = (identity_command.__doc__ or "") + "\n" + EXAMPLES
