"""This terminal's identity key (docs/protocol.md, "Keys"): an X25519 key pair made once
and kept in the CLI's config directory, readable by its owner only (mode 0600), as the
browser keeps its own in IndexedDB. Other members compare safety codes made from it."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from peerlane.core import e2e
from peerlane.peer import EXIT_FAILED, EXIT_USAGE, PeerError, cli_config


def identity_path() -> Path:
    return cli_config.config_path().with_name("identity.json")


def load_or_make() -> X25519PrivateKey:
    """The identity key; made (32 random bytes) the first time it is asked for."""
    path = identity_path()
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = os.urandom(e2e.KEY_SIZE)
    text = json.dumps({"x25519_private": e2e.b64u_encode(secret)}) + "\n"
    try:
        # O_EXCL: two commands started together make one key, not two half-written ones.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    return e2e.x25519_private(secret)


def _load(path: Path) -> X25519PrivateKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PeerError(
            f"The identity key {path} can be read by other users of this machine; "
            f"run `chmod 600 {path}` (or delete it to make a new identity).",
            EXIT_FAILED,
        )
    try:
        data = json.loads(path.read_text())
        return e2e.x25519_private(e2e.b64u_decode(data["x25519_private"]))
    except (OSError, ValueError, KeyError, TypeError, e2e.E2EError) as exc:
        raise PeerError(
            f"The identity key {path} is damaged; delete it to make a new identity "
            "(members who verified you will see that your key changed).",
            EXIT_FAILED,
        ) from exc


def public_key(private: X25519PrivateKey) -> str:
    """The public key as members see it: 43 base64url characters."""
    return e2e.b64u_encode(e2e.x25519_public_bytes(private))


def safety_code_with(private: X25519PrivateKey, theirs: str) -> str:
    """The safety code of this identity and another member's public key (base64url)."""
    try:
        return e2e.safety_code(e2e.x25519_public_bytes(private), e2e.b64u_decode(theirs.strip()))
    except e2e.E2EError as exc:
        raise PeerError(
            f"{theirs!r} is not a public key; give the 43 characters the other member's "
            "device shows.",
            EXIT_USAGE,
        ) from exc
