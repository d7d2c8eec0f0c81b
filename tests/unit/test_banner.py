"""The start banner: the LAN addresses, and a QR code of one (never of loopback)."""

from __future__ import annotations

import io
from pathlib import Path

import segno

from peerlane.config import Settings
from peerlane.server.runner import print_banner


def banner(addresses: list[str], **settings: object) -> str:
    out = io.StringIO()
    print_banner(Settings(**settings), 8123, addresses=addresses, out=out)  # type: ignore[arg-type]
    return out.getvalue()


def qr_of(url: str) -> str:
    out = io.StringIO()
    segno.make(url, error="l").terminal(out=out, compact=True)
    return out.getvalue()


def test_every_interface_lists_the_lan_addresses_and_a_qr_code_of_the_first() -> None:
    text = banner(["192.168.1.20", "127.0.0.1", "10.0.0.5"], host="0.0.0.0")
    assert "http://192.168.1.20:8123/" in text
    assert "http://10.0.0.5:8123/" in text
    assert "http://127.0.0.1:8123/ (this computer)" in text
    assert qr_of("http://192.168.1.20:8123/") in text
    assert "(QR code of http://192.168.1.20:8123/)" in text
    assert qr_of("http://127.0.0.1:8123/") not in text


def test_no_lan_address_means_no_qr_code_rather_than_one_of_loopback() -> None:
    text = banner(["127.0.0.1", "127.0.1.1"], host="0.0.0.0")
    assert "QR code of" not in text
    assert "No LAN address found" in text
    assert qr_of("http://127.0.0.1:8123/") not in text


def test_loopback_only_gets_no_qr_code() -> None:
    text = banner(["192.168.1.20"], host="127.0.0.1")
    assert "http://127.0.0.1:8123/" in text
    assert "192.168.1.20" not in text
    assert "QR code of" not in text


def test_ipv6_addresses_are_bracketed_and_tls_is_https(tmp_path: Path) -> None:
    from peerlane.server import tls

    cert, key = tls.ensure_self_signed(tmp_path)
    text = banner(["fd00::5"], host="::", tls_cert=cert, tls_key=key)
    assert "https://[fd00::5]:8123/" in text
    assert "(QR code of https://[fd00::5]:8123/)" in text
    assert "fingerprint" in text


def test_the_public_url_is_what_phones_scan() -> None:
    text = banner(["192.168.1.20"], host="0.0.0.0", public_url="https://chat.example.org")
    assert "(QR code of https://chat.example.org)" in text
