"""Do the in-process command-line tests still catch what a child process would show?

The suite calls `cli.main(argv)` inside the test's process (`tests/dbtools.run_cli`)
instead of starting `python -m echelon_seed` for each command. This check
breaks the command line on purpose, once per way a user would notice, in a
scratch copy of the repository, and runs in-process tests against each broken
copy; each must fail:

- `exit-code`: a deliberate error exits 0 instead of its own code;
- `stream`: the error line goes to stdout instead of stderr;
- `traceback`: the error prints a Python traceback before its line.

    .venv/bin/python scripts/mutation_check.py          # all three, about a minute
    .venv/bin/python scripts/mutation_check.py stream   # one

It first runs the same tests on the unbroken copy (they must pass), then
prints one line per mutant (`caught` or `MISSED`, with the first failing
test) and exits 1 if any was missed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET = Path("echelon_seed") / "cli.py"
# The error branch of cli._main, as it is written.
ORIGINAL = (
    "    except EchelonSeedError as exc:\n"
    '        print(f"echelon-seed: error: {_one_line(str(exc))}", file=sys.stderr)\n'
    "        return exc.exit_code\n"
)
MUTANTS = {
    "exit-code": ORIGINAL.replace("return exc.exit_code", "return 0"),
    "stream": ORIGINAL.replace("file=sys.stderr", "file=sys.stdout"),
    "traceback": ORIGINAL.replace(
        "    except EchelonSeedError as exc:\n",
        "    except EchelonSeedError as exc:\n        import traceback\n\n        traceback.print_exc()\n",
    ),
}
# In-process tests only: each runs `cli.main` through `run_cli` and judges the exit code and both streams.
TESTS = [
    "tests/test_fixtures.py::test_cli_apply_with_bad_fixture_exits_2_naming_the_value_and_writes_nothing",
    "tests/test_cli_conventions.py",
]


def _copy(into: Path) -> None:
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    )
    for name in filter(None, tracked):
        source = REPO / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


def run(mutant: str | None) -> tuple[bool, str]:
    """Whether the tests failed against `mutant` (None: the copy unbroken), and the first failure or pytest's last line."""
    with tempfile.TemporaryDirectory(prefix="echelon-mutant-") as scratch:
        root = Path(scratch)
        _copy(root)
        cli = root / TARGET
        text = cli.read_text(encoding="utf-8")
        if text.count(ORIGINAL) != 1:
            raise SystemExit(f"mutation_check: {TARGET}'s error branch changed; update ORIGINAL in {__file__}")
        if mutant is not None:
            cli.write_text(text.replace(ORIGINAL, MUTANTS[mutant]), encoding="utf-8")
        # The copy first on the path: the installed (editable) package is the unbroken one.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(root / "projects" / "echelon")])}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *TESTS],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        first = next((line for line in lines if line.startswith("FAILED ")), lines[-1] if lines else done.stderr)
        return done.returncode == 1, first


def main(argv: list[str]) -> int:
    chosen = argv or list(MUTANTS)
    unknown = [name for name in chosen if name not in MUTANTS]
    if unknown:
        print(f"mutation_check: unknown mutant {unknown[0]!r}; known: {', '.join(MUTANTS)}", file=sys.stderr)
        return 2
    failed, last = run(None)
    if failed:  # a check whose tests fail anyway proves nothing
        print(f"mutation_check: the tests fail on the unbroken copy: {last}", file=sys.stderr)
        return 2
    print(f"{'unbroken':<10} passes: {last}")
    missed = 0
    for name in chosen:
        caught, first = run(name)
        missed += not caught
        print(f"{name:<10} {'caught' if caught else 'MISSED'}: {first}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
