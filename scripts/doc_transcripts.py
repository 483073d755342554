"""Run the command transcripts of the README and docs/, and check (or rewrite) what they show.

A transcript is a fenced block opened with ```console: lines that begin with
"$ " are commands, the lines after each are what it printed (stdout and
stderr, in order). Every transcript of a page runs, in page order, in one
bash session inside a scratch copy of this repository's project files, with
the virtualenv's `echelon-seed` first on PATH and no DATABASE_URL, so the
documentation shows what the program prints today and cannot drift from it.

Each `echelon-seed` of a transcript is a fork of one process that imported the
package once (scripts/command_server.py): the command's own streams, directory,
environment and exit code, without a fresh interpreter's imports per command.
`--fresh` runs each in a fresh interpreter instead, as the installed command
starts; a test checks that both print the same.

Only durations vary between runs: "0.04 s", "4,258 rows/s", "ETA 3 s" and
pytest's "in 1.30s" are compared as numbers of any value. Everything else must match exactly.

    python scripts/doc_transcripts.py            # check every page; exit 1 naming each drift
    python scripts/doc_transcripts.py --update   # rewrite the blocks with what the commands print
    python scripts/doc_transcripts.py docs/commands.md   # one page
    python scripts/doc_transcripts.py --fresh    # every command in an interpreter of its own
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_SERVER = Path(__file__).resolve().with_name("command_server.py")
PAGES = ("README.md", "docs")
#: What a page's scratch directory holds: the repository's own project, as a user's checkout has it.
PROJECT_FILES = ("pyproject.toml", "projects", "examples")
_FENCE = "```console"
_DURATIONS = (
    (re.compile(r"\b\d[\d,]*(?:\.\d+)? s\b"), "N s"),
    (re.compile(r"\b\d[\d,]* rows/s\b"), "N rows/s"),
    (re.compile(r"\b\d+(?:\.\d+)? ms\b"), "N ms"),
    (re.compile(r"\b\d+\.\d+s\b"), "Ns"),  # pytest's "4 passed in 1.30s"
)
_MARK = "\x1e"  # between commands' outputs: a byte no command prints


@dataclass
class Command:
    line: int  # 1-based line of the "$ " line in the page
    text: str
    shown: list[str]


@dataclass
class Block:
    start: int  # 0-based index of the ```console line
    end: int  # 0-based index of the closing fence
    commands: list[Command]


def pages(arguments: list[str]) -> list[Path]:
    if arguments:
        return [Path(a).resolve() for a in arguments]
    found = [REPO / "README.md"]
    found += sorted((REPO / "docs").glob("*.md"))
    return [p for p in found if _FENCE in p.read_text(encoding="utf-8")]


def blocks(lines: list[str]) -> list[Block]:
    found: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != _FENCE:
            i += 1
            continue
        start = i
        i += 1
        commands: list[Command] = []
        while i < len(lines) and lines[i].strip() != "```":
            if lines[i].startswith("$ "):
                commands.append(Command(i + 1, lines[i][2:], []))
            elif commands:
                commands[-1].shown.append(lines[i])
            i += 1
        found.append(Block(start, i, commands))
        i += 1
    return found


def normalised(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        for pattern, replacement in _DURATIONS:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    return out


def _command_server() -> object:
    """scripts/command_server.py as a module (this script is also loaded by path, from the tests)."""
    spec = importlib.util.spec_from_file_location("command_server", _SERVER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _forking(scratch: Path, venv_bin: Path, env: dict[str, str], log: Path | None) -> Iterator[Path]:
    """A command server for one page's session; the directory holding its `echelon-seed` client."""
    bin_dir = scratch / "bin"
    bin_dir.mkdir()
    sock = scratch / "commands.sock"
    python = venv_bin / "python"
    _command_server().install_client(bin_dir, sock, python)  # type: ignore[attr-defined]
    server = subprocess.Popen(
        [str(python), str(_SERVER), str(sock), *([str(log)] if log is not None else [])],
        cwd=scratch, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        if server.stdout.readline() != "ready\n":
            server.kill()
            raise SystemExit(f"the command server did not start: {server.communicate()[1].strip()}")
        yield bin_dir
    finally:
        server.terminate()
        server.communicate(timeout=60)


def run_page(
    commands: list[Command], venv_bin: Path, *, fresh: bool = False, log: Path | None = None
) -> list[list[str]]:
    """Run every command of one page in one bash session; what each printed.

    `fresh`: each `echelon-seed` in an interpreter of its own rather than a fork of the command
    server; `log` (forks only): the server writes each command's arguments there.
    """
    with tempfile.TemporaryDirectory(prefix="echelon-doc-") as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        for name in PROJECT_FILES:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".venv"))
            else:
                shutil.copy2(source, root / name)
        # The marker keeps $? for the next command (a transcript may `echo $?`); each command's
        # streams are merged in the order it wrote them.
        script = "".join(f"__s=$?; printf '{_MARK}\\n'; (exit $__s)\n{{ {c.text}\n}} 2>&1\n" for c in commands)
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith(("ECHELON_", "PYTEST"))}
        env.update(PATH=f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}", COLUMNS="100", TZ="UTC", LC_ALL="C.UTF-8")
        # A transcript's pytest runs as a team's would: without this suite's own hypothesis plugin,
        # whose import alone is most of a small session's start-up (it prints nothing either way).
        env["PYTEST_ADDOPTS"] = "-p no:hypothesispytest"
        with contextlib.ExitStack() as stack:
            if not fresh:
                client = stack.enter_context(_forking(Path(scratch), venv_bin, env, log))
                env["PATH"] = f"{client}:{env['PATH']}"
            done = subprocess.run(
                ["bash", "--noprofile", "--norc"],
                input=script,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        outputs = done.stdout.split(f"{_MARK}\n")[1:]
        if len(outputs) != len(commands):
            raise SystemExit(f"the transcript session stopped early: {done.stderr.strip()}")
        return [o.splitlines() for o in outputs]


def check_or_update(page: Path, *, update: bool, venv_bin: Path, fresh: bool = False) -> list[str]:
    """The drifts of one page (empty when it is true); with `update`, the page rewritten instead."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = blocks(lines)
    commands = [c for b in found for c in b.commands]
    if not commands:
        return []
    printed = run_page(commands, venv_bin, fresh=fresh)
    drifts = []
    for command, actual in zip(commands, printed, strict=True):
        if normalised(command.shown) != normalised(actual):
            drifts.append(
                f"{page.relative_to(REPO) if page.is_relative_to(REPO) else page}:{command.line}: $ {command.text}\n"
                + "".join(f"    shown:   {s}\n" for s in command.shown)
                + "".join(f"    printed: {s}\n" for s in actual)
            )
    if update and drifts:
        results = iter(printed)
        out: list[str] = []
        cursor = 0
        for block in found:
            out += lines[cursor : block.start + 1]
            for command in block.commands:
                actual = next(results)
                same = normalised(command.shown) == normalised(actual)
                out += [f"$ {command.text}", *(command.shown if same else actual)]  # durations alone: kept
            cursor = block.end
        out += lines[cursor:]
        page.write_text("\n".join(out) + "\n", encoding="utf-8")
    return drifts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages to run (default: README.md and docs/*.md)")
    parser.add_argument("--update", action="store_true", help="rewrite the transcripts with what was printed")
    parser.add_argument("--fresh", action="store_true", help="run each echelon-seed in an interpreter of its own")
    args = parser.parse_args(argv)
    venv_bin = Path(sys.executable).parent
    drifts = [
        d
        for page in pages(args.pages)
        for d in check_or_update(page, update=args.update, venv_bin=venv_bin, fresh=args.fresh)
    ]
    for drift in drifts:
        print(drift, end="")
    if drifts:
        print(f"{len(drifts)} transcript(s) {'rewritten' if args.update else 'differ from what the commands print'}")
    return 1 if drifts and not args.update else 0


if __name__ == "__main__":
    sys.exit(main())
