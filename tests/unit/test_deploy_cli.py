"""`peerlane deploy init` (the compose stack's env file) and `peerlane healthcheck` (the
container's HEALTHCHECK), run as the commands operators run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from peerlane.config import Settings
from peerlane.deploy import readyz_url
from support import TIMEOUT, ServerProcess, free_port, wait_until


def peerlane(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "peerlane", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_deploy_init_writes_fresh_secrets_privately_and_never_overwrites(tmp_path: Path):
    proc = peerlane("deploy", "init", "--public-url", "https://chat.example.org", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    env_file = tmp_path / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    first = read_env(env_file)
    assert first["PUBLIC_URL"] == "https://chat.example.org"
    assert first["PUBLIC_HOST"] == "chat.example.org"
    assert first["PEERLANE_TRUSTED_PROXY_HOPS"] == "1"
    assert first["TURN_URLS"].startswith("turn:chat.example.org:3478?transport=udp")
    secrets = [first[k] for k in ("PEERLANE_SECRET", "POSTGRES_PASSWORD", "REDIS_PASSWORD",
                                  "TURN_SECRET")]  # fmt: skip
    assert len(set(secrets)) == 4
    assert all(len(s) >= 43 for s in secrets)  # 32 random bytes, URL-safe base64
    # A self-signed pair for nginx when the operator gave none, naming the public host.
    cert = x509.load_pem_x509_certificate((tmp_path / "deploy/compose/tls/cert.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "chat.example.org" in names.get_values_for_type(x509.DNSName)
    assert stat.S_IMODE((tmp_path / "deploy/compose/tls/key.pem").stat().st_mode) == 0o600

    again = peerlane("deploy", "init", cwd=tmp_path)
    assert again.returncode == 1
    assert "exists already" in again.stderr
    assert read_env(env_file) == first  # untouched

    env_file.chmod(0o644)
    forced = peerlane("deploy", "init", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    replaced = read_env(env_file)
    assert replaced["PEERLANE_SECRET"] != first["PEERLANE_SECRET"]
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_deploy_init_keeps_a_certificate_the_operator_gave(tmp_path: Path):
    tls = tmp_path / "deploy/compose/tls"
    tls.mkdir(parents=True)
    (tls / "cert.pem").write_text("operator's certificate")
    (tls / "key.pem").write_text("operator's key")
    assert peerlane("deploy", "init", cwd=tmp_path).returncode == 0
    assert (tls / "cert.pem").read_text() == "operator's certificate"
    assert (tls / "key.pem").read_text() == "operator's key"


def test_deploy_init_refuses_a_public_url_that_is_not_one(tmp_path: Path):
    proc = peerlane("deploy", "init", "--public-url", "chat.example.org", cwd=tmp_path)
    assert proc.returncode == 2
    assert "https://" in proc.stderr
    assert not (tmp_path / ".env").exists()


def test_the_env_file_gives_settings_peerlane_accepts(tmp_path: Path):
    assert peerlane("deploy", "init", cwd=tmp_path).returncode == 0
    env = read_env(tmp_path / ".env")
    # What compose.yaml hands each instance, built from the file.
    settings = Settings(
        database_url=f"postgresql+asyncpg://peerlane:{env['POSTGRES_PASSWORD']}@postgres/peerlane",
        redis_url=f"redis://:{env['REDIS_PASSWORD']}@redis:6379/0",
        secret=env["PEERLANE_SECRET"],
        public_url=env["PUBLIC_URL"],
        trusted_proxy_hops=int(env["PEERLANE_TRUSTED_PROXY_HOPS"]),
        turn_urls=env["TURN_URLS"],  # type: ignore[arg-type]
        turn_secret=env["TURN_SECRET"],
    )
    assert settings.proxy_trust.hops == 1
    assert len(settings.turn_urls) == 2


@pytest.fixture
def running(tmp_path: Path):
    proc = ServerProcess(tmp_path / "data").start()
    yield proc
    proc.stop()


def test_healthcheck_exits_0_when_ready_and_1_when_not(running: ServerProcess, tmp_path: Path):
    ok = peerlane("healthcheck", cwd=tmp_path, env={"PEERLANE_PORT": str(running.port)})
    assert ok.returncode == 0, ok.stderr
    assert "/readyz: 200" in ok.stdout
    nobody = peerlane("healthcheck", cwd=tmp_path, env={"PEERLANE_PORT": str(free_port())})
    assert nobody.returncode == 1
    assert "/readyz" in nobody.stderr


def test_healthcheck_speaks_https_when_tls_is_on(tmp_path: Path):
    """With TLS on (a self-signed certificate), the check asks over HTTPS."""
    env = {"PEERLANE_SELF_SIGNED": "true", "PEERLANE_PORT": str(free_port()),
           "PEERLANE_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "peerlane", "serve"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: peerlane("healthcheck", cwd=tmp_path, env=env).returncode == 0,
            timeout=6 * TIMEOUT,
            interval=0.5,
            what="healthcheck over https",
        )
        assert "https://127.0.0.1:" in peerlane("healthcheck", cwd=tmp_path, env=env).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/readyz"),  # the image's: reached through loopback
        ("::", "http://[::1]:8000/readyz"),
        ("10.1.2.3", "http://10.1.2.3:8000/readyz"),
    ],
)
def test_healthcheck_asks_the_listener_it_can_reach(host: str, url: str):
    assert readyz_url(Settings(host=host, port=8000)) == url
