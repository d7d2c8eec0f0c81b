"""Why a test stage failed, in a few lines: `make test` prints this last, so that the
end of a long CI log (often all that is kept of it) names each failed test and its
error, not only the stage.

Usage: python3 scripts/test_recap.py LOG...   (the stage logs in test-artifacts/)

For each pytest failure it prints the test's header, where it failed (file:line) and
its ``E`` lines (the exception and its message), capped; for a log with no pytest
failure section (lint, typecheck, jstest), its last lines.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$")
END = re.compile(r"^=+ (short test summary info|warnings summary|.*(passed|failed|error).*) =+$")
HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")
LOCATION = re.compile(r"^\S+\.py:\d+: \w+")
MAX_E_LINES = 30
TAIL_LINES = 25


def failures(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(test header, lines that say why) for each failure in a pytest log."""
    found: list[tuple[str, list[str]]] = []
    inside = False
    for line in lines:
        if SECTION.match(line):
            inside = True
            continue
        if inside and END.match(line):
            inside = False
            continue
        if not inside:
            continue
        if header := HEADER.match(line):
            found.append((header.group(1), []))
        elif found and (line.startswith("E ") or LOCATION.match(line)):
            found[-1][1].append(line)
    return found


def recap(path: Path) -> list[str]:
    lines = path.read_text(errors="replace").splitlines()
    found = failures(lines)
    if not found:
        return [f"(no pytest failure section; the last {TAIL_LINES} lines)", *lines[-TAIL_LINES:]]
    out: list[str] = []
    for header, why in found:
        out.append(f"--- {header}")
        errors = [w for w in why if w.startswith("E ")]
        where = [w for w in why if not w.startswith("E ")]
        out.extend(where[-2:])
        if len(errors) > MAX_E_LINES:  # the first lines name the error, the last are latest
            skipped = len(errors) - MAX_E_LINES
            errors = [*errors[:10], f"E   ... {skipped} lines (in {path})", *errors[-20:]]
        out.extend(errors)
    return out


def main(paths: list[str]) -> None:
    for name in paths:
        path = Path(name)
        print(f"=================== why {path.stem} failed ({path}) ===================")
        if not path.exists():
            print("(no log)")
            continue
        print("\n".join(recap(path)))


if __name__ == "__main__":
    main(sys.argv[1:])
