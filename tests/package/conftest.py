"""The package built and installed once per test run (tests/wheel_install.py).

Under xdist every worker has its own session, so the build goes to a folder all workers
share (the run's base temporary folder), under a file lock: the first worker builds,
the others wait and reuse it.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from wheel_install import InstalledPackage, build_and_install


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledPackage:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    root = base / "installed-package"
    root.mkdir(exist_ok=True)
    done = root / "built.json"
    with (base / "installed-package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            fields = json.loads(done.read_text())
            return InstalledPackage(
                **{k: Path(v) for k, v in fields.items() if k != "seconds"},
                seconds=fields["seconds"],
            )
        package = build_and_install(root)
        fields = {k: str(v) for k, v in vars(package).items() if k != "seconds"}
        done.write_text(json.dumps({**fields, "seconds": package.seconds}))
    timings = ", ".join(f"{step} {secs:.1f}s" for step, secs in package.seconds.items())
    print(f"\nwheel build and install: {timings}")
    return package
