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


def test_durations_alone_are_not_a_drift() -> None:
    shown = ["  total                    176 rows in 0.04 s, 4,258 rows/s"]
    printed = ["  total                    176 rows in 1.62 s, 108 rows/s"]
    assert transcripts.normalised(shown) == transcripts.normalised(printed)
    assert transcripts.normalised(["176 rows"]) != transcripts.normalised(["175 rows"])
