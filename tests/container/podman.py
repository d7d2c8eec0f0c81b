"""Podman for the container tests: the settings this machine needs, the local images.

No registry is reachable here, so every image is built from a Debian base that
``scripts/container-base-image.sh`` makes with mmdebstrap (cached) and imports. Two
settings make podman work here as root: the ``runc`` runtime (a containers.conf given
through ``CONTAINERS_CONF``, inherited by podman-compose's podman calls) and container
ulimits within the host's (``ULIMITS``; podman's rootful default raises them past the
host's hard limits, which runc may not). There is no systemd, so nothing runs health
checks on a timer: the tests run ``podman healthcheck run`` themselves.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "localhost/peerlane-base:bookworm"
PEERLANE_IMAGE = "localhost/peerlane:test"
# The Containerfile's build stage, tagged: its layers are the dependency cache, and a
# tag lets a newer build replace it instead of leaving it behind untagged.
PEERLANE_BUILD_STAGE = "localhost/peerlane-build:test"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Within the host's hard limits (nofile 20000 on the test machines).
ULIMITS = {"nofile": "20000:20000", "nproc": "4096:4096"}
ULIMIT_ARGS = [arg for name, value in ULIMITS.items() for arg in ("--ulimit", f"{name}={value}")]
CONTAINERS_CONF = '[engine]\nruntime = "runc"\n'


def unique(prefix: str) -> str:
    """A name no other test run uses (containers, volumes, compose projects)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def environment(conf_dir: Path) -> dict[str, str]:
    conf = conf_dir / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


class Podman:
    def __init__(self, env: dict[str, str]):
        self.env = env

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, **kw: object
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["podman", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kw,  # type: ignore[call-overload]
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"podman {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            )
        return proc

    def base_image(self) -> str:
        """The local Debian base image (tarball cached, made only when missing)."""
        proc = subprocess.run(
            [str(ROOT / "scripts" / "container-base-image.sh"), BASE_IMAGE],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip().splitlines()[-1]

    def build(
        self,
        tag: str,
        context: Path,
        containerfile: Path,
        base: str,
        target: str | None = None,
        **build_args: str,
    ) -> None:
        """Build with the Docker format (HEALTHCHECK is a Docker-format field) and the
        host's CA bundle for pip (networks here inspect TLS); ``target``: only up to that
        stage. The image ``tag`` named before is removed when the build replaced it, so
        that each source change does not leave the last build behind, untagged."""
        superseded = self.image_id(tag)
        args = [
            "build",
            "--format",
            "docker",
            "--network",
            "host",
            "--build-arg",
            f"BASE_IMAGE={base}",
            "--build-arg",
            "PIP_CERT=/run/host-ca.crt",
            "-v",
            f"{HOST_CA_BUNDLE}:/run/host-ca.crt:ro",
            "-t",
            tag,
            "-f",
            str(containerfile),
        ]
        if target is not None:
            args += ["--target", target]
        for name, value in build_args.items():
            args += ["--build-arg", f"{name}={value}"]
        self.run(*args, str(context), timeout=1200)
        if superseded is not None and superseded != self.image_id(tag):
            # fails (and is left) only while a container still uses it
            self.run("rmi", superseded, check=False)

    def image_id(self, name: str) -> str | None:
        proc = self.run("image", "inspect", "--format", "{{.Id}}", name, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def healthy(self, container: str) -> bool:
        return self.run("healthcheck", "run", container, check=False).returncode == 0

    def wait_healthy(self, container: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy(container):
            state = self.inspect(container, "{{.State.Status}}")
            if state != "running":
                raise AssertionError(f"{container} is {state}:\n{self.logs(container)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{container} not healthy:\n{self.logs(container)}")
            time.sleep(0.3)  # a health probe is a process start: poll, a few per second

    def inspect(self, container: str, template: str) -> str:
        return self.run("inspect", "--format", template, container).stdout.strip()

    def logs(self, container: str) -> str:
        proc = self.run("logs", container, check=False)
        return proc.stdout + proc.stderr
