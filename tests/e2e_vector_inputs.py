"""Inputs of the end-to-end test vectors (tests/e2e_vectors.py, tests/e2e_file_vectors.py):
bytes derived from a label, so the vectors file is reproducible, and a tampered envelope."""

from __future__ import annotations

import hashlib

from peerlane.core import e2e


def fixed(label: str, size: int = 32) -> bytes:
    """Reproducible bytes for a vector's input."""
    return hashlib.sha256(f"peerlane e2e vector {label}".encode()).digest()[:size]


def tamper(envelope: str) -> str:
    """The envelope with the first byte of its ciphertext flipped."""
    head, _, sealed = envelope.rpartition(".")
    data = bytearray(e2e.b64u_decode(sealed))
    data[0] ^= 0x01
    return f"{head}.{e2e.b64u_encode(bytes(data))}"
