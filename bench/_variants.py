"""The versions of peerlane a bench compares (``--compare-with REV``): the working tree,
and a git revision checked out with ``git worktree add --detach`` into a temporary
directory, whose server runs with ``PYTHONPATH=<worktree>/src`` (its own server code and
web client). Shared by connect_time.py and chat_fanout.py."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    """A git command's output in REPO ("" when it fails)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


@dataclass
class Variant:
    """A version of peerlane to measure: the working tree, or (--compare-with) a revision
    checked out in a git worktree."""

    name: str  # "current", or the revision as given
    tree: Path  # its server runs tree/src/peerlane and serves tree/src/peerlane/web
    commit: str  # short hash of HEAD or of the revision
    env: dict[str, str] = field(default_factory=dict)  # added to its server's environment
    returning: bool = False  # connect_time --returning: B's profile has the app shell
    encrypted: bool = True  # connect_time --e2e: False = a room made without encryption

    @property
    def web(self) -> Path:
        return self.tree / "src" / "peerlane" / "web"


def current_variant() -> Variant:
    """The working tree, as installed in the virtualenv (uncommitted changes included)."""
    return Variant("current", REPO, git("rev-parse", "--short", "HEAD"))


def add_worktree(rev: str, path: Path) -> Variant:
    """`git worktree add --detach path rev`; its server gets PYTHONPATH=path/src. Raises
    ValueError when rev is not a commit or git fails."""
    commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if not commit:
        raise ValueError(f"--compare-with {rev}: not a commit in {REPO}")
    done = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), commit],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise ValueError(f"git worktree add {path} {rev} failed: {done.stderr.strip()}")
    pythonpath = [str(path / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    return Variant(rev, path, commit[:7], {"PYTHONPATH": os.pathsep.join(pythonpath)})


def remove_worktree(path: Path) -> None:
    """`git worktree remove --force path` (a warning when that fails)."""
    if not path.exists():
        return
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        problem = done.stderr.strip() if done.returncode != 0 else ""
    except (OSError, subprocess.SubprocessError) as exc:
        problem = str(exc)
    if problem:
        print(
            f"bench: git worktree remove --force {path} failed ({problem}); "
            "`git worktree prune` drops it once the directory is gone",
            file=sys.stderr,
        )
