"""The documentation shows what the program prints: every ```console transcript of the
README and docs/ runs (scripts/doc_transcripts.py) and must match, durations aside.

A failure names the page, the line and both texts; `python scripts/doc_transcripts.py
--update` rewrites the transcripts after an intended change of output.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests import dbtools

_SPEC = importlib.util.spec_from_file_location("doc_transcripts", dbtools.REPO / "scripts" / "doc_transcripts.py")
assert _SPEC is not None and _SPEC.loader is not None
transcripts = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = transcripts  # dataclasses look their module up there
_SPEC.loader.exec_module(transcripts)

PAGES = transcripts.pages([])


def test_the_readme_and_the_reference_pages_have_transcripts() -> None:
    names = {page.relative_to(dbtools.REPO).as_posix() for page in PAGES}
    assert {"README.md", "docs/commands.md", "docs/configuration.md"} <= names, names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(dbtools.REPO).as_posix())
def test_every_transcript_is_what_the_commands_print(page: Path) -> None:
    drifts = transcripts.check_or_update(page, update=False, venv_bin=Path(sys.executable).parent)
    assert not drifts, "\n" + "".join(drifts)


def test_a_drifted_transcript_is_caught_and_named(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```console\n$ echelon-seed --version\nechelon-seed 9.9.9\n```\n", encoding="utf-8")

    drifts = transcripts.check_or_update(page, update=False, venv_bin=Path(sys.executable).parent)

    assert len(drifts) == 1 and "page.md:2: $ echelon-seed --version" in drifts[0], drifts


# What a command server's fork could get wrong against a fresh interpreter: the exit code, which stream
# a line goes to and their order, redirects, the working directory, a variable set for one command,
# a usage error, a failure without a traceback, and the standard input.
FIDELITY = """```console
$ cd projects/echelon
$ echelon-seed --version; echo "exit $?"
$ echelon-seed apply --database-url sqlite:///./t.db --anchor 2026-11-24T12:00:00Z; echo "exit $?"
$ echelon-seed apply --database-url sqlite:///./t.db --scale 0; echo "exit $?"
$ echelon-seed verify --database-url sqlite:///./t.db --golden nowhere.jsonl > out.txt 2> err.txt; echo "exit $?"; wc -c < out.txt; cat err.txt
$ sqlite3 t.db "UPDATE agents SET win_rate = 0.5 WHERE id = 'AGT_RAVEN'"; echelon-seed verify --database-url sqlite:///./t.db; echo "exit $?"
$ DATABASE_URL=sqlite:///./t.db echelon-seed status < /dev/null; echo "exit $?"
```
"""


def test_a_forked_command_prints_what_a_fresh_interpreter_prints(tmp_path: Path) -> None:
    """The transcripts run each command as a fork of a command server: same streams, order, exit codes."""
    commands = [c for b in transcripts.blocks(FIDELITY.splitlines()) for c in b.commands]
    log = tmp_path / "forked.log"
    venv_bin = Path(sys.executable).parent

    fresh = transcripts.run_page(commands, venv_bin, fresh=True)
    forked = transcripts.run_page(commands, venv_bin, log=log)

    assert [transcripts.normalised(lines) for lines in forked] == [transcripts.normalised(lines) for lines in fresh]
    # Every echelon-seed of the page was a fork of the server, none a fresh interpreter.
    assert len(log.read_text().splitlines()) == sum(c.text.count("echelon-seed ") for c in commands)
    # And the page means something: success, failure and usage error, both streams.
    codes = [line for lines in fresh for line in lines if line.startswith("exit ")]
    assert {"exit 0", "exit 1", "exit 2"} <= set(codes), fresh
    assert not any("Traceback" in line for lines in fresh for line in lines), fresh


def test_durations_alone_are_not_a_drift() -> None:
    shown = ["  total                    176 rows in 0.04 s, 4,258 rows/s"]
    printed = ["  total                    176 rows in 1.62 s, 108 rows/s"]
    assert transcripts.normalised(shown) == transcripts.normalised(printed)
    assert transcripts.normalised(["176 rows"]) != transcripts.normalised(["175 rows"])
