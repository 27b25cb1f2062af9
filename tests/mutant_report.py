"""Which course mutants are caught only by a cancellation sweep or a property check.

    python tests/mutant_report.py [NN ...]

Grades every mutant through the real CLI and prints, per exercise, the
mutants whose failing checks are all sweep or property checks (the JSON
report's ``instruments``): the proof that the instruments catch what the
hand-picked cases miss. Run by ``nox -s bench`` too (its cost is printed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]


def main() -> None:
    wanted = set(sys.argv[1:])
    folders = sorted((COURSE / "tests" / "course" / "mutants").iterdir())
    for folder in folders:
        code = folder.name[:2]
        if wanted and code not in wanted:
            continue
        only, total = [], 0
        for mutant in sorted(folder.glob("*.py")):
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "grader",
                    "exercise",
                    code,
                    "--file",
                    str(mutant),
                    "--format",
                    "json",
                ],
                cwd=COURSE,
                capture_output=True,
                text=True,
                check=False,
            )
            try:
                doc = json.loads(proc.stdout)
            except ValueError:
                continue
            if doc.get("status") == "skipped":
                continue
            total += 1
            failing = [c for c in doc["checks"] if c["status"] != "passed"]
            if failing and all(c.get("instruments") for c in failing):
                kinds = sorted({i for c in failing for i in c["instruments"]})
                only.append(f"{mutant.stem} ({'/'.join(kinds)})")
        print(
            f"{folder.name}: {len(only)} of {total} mutants caught only by a sweep or property"
            + (f": {', '.join(only)}" if only else "")
        )


if __name__ == "__main__":
    main()
