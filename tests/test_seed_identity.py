"""A generator's code is part of the seed's identity: an edited generator is another seed.

The shop example is copied, seeded through the command line (in process, each
call importing the project afresh, as a new process would), then its
generator is edited (a constant moved by two hours, the same number of
bytes, the modification time put back, so that nothing but the content
tells). `apply` must not answer "already seeded": it names the other seed
and the command to run, and that command, pasted, reseeds with the rows the
current code makes. No bytecode is written, so that Python's own cache
(which trusts size and time) cannot run the old code.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from echelon_seed import generate
from tests import dbtools
from tests.test_reliability_kill import cli_env

EXAMPLE = dbtools.REPO / "examples" / "shop"
OLD = b"SEASON_START = datetime(2024, 3, 1, 7, 0)"
NEW = b"SEASON_START = datetime(2024, 3, 1, 9, 0)"


@pytest.fixture(autouse=True)
def _no_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHONDONTWRITEBYTECODE=1 for the commands run in this process: the generator is compiled from its source."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in process (`dbtools.run_cli`: a project's modules are forgotten after each call)."""
    return dbtools.run_cli(*args, cwd=cwd, env=env)


def hint_in(line: str) -> str:
    """The command a message ends with (every hint is the last thing on its line)."""
    found = re.search(r"(echelon-seed (?:apply|verify|check|status|snapshot|diff|export)\b.*)$", line)
    assert found is not None, line
    return found[1]


def _paste(hint: str, cwd: Path, password: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a printed hint as a user would: a hint never holds a password, which PGPASSWORD gives, as to psql."""
    words = shlex.split(hint)
    assert words[0] == "echelon-seed"
    assert password is None or password not in hint
    return _cli(*words[1:], cwd=cwd, env={"PGPASSWORD": password} if password else None)


@pytest.fixture
def shop_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "shop"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    return copy


def _edit_generator_keeping_size_and_time(shop: Path) -> None:
    source = shop / "shop" / "seed_generators.py"
    before = source.stat()
    data = source.read_bytes()
    assert data.count(OLD) == 1
    source.write_bytes(data.replace(OLD, NEW))
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = source.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_apply_after_an_edited_generator_names_the_other_seed_and_the_pasted_hint_reseeds(
    db_url: str, shop_copy: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    common = ("--project", str(shop_copy), "--database-url", db_url)
    first = _cli("apply", *common, "--anchor", "2026-03-01T12:00:00Z", cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    again = _cli("apply", *common, cwd=elsewhere)
    assert again.stdout.startswith("already seeded"), again.stdout + again.stderr

    _edit_generator_keeping_size_and_time(shop_copy)
    changed = _cli("apply", *common, cwd=elsewhere)

    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "already seeded" not in changed.stdout
    lines = changed.stderr.strip().splitlines()
    assert len(lines) == 1 and "it holds another seed" in lines[0], changed.stderr
    hint = hint_in(lines[0])
    assert hint.startswith("echelon-seed apply --force --project ")
    reseeded = _paste(hint, elsewhere, password=unquote(urlsplit(db_url).password or "") or None)
    assert reseeded.returncode == 0, reseeded.stderr
    assert reseeded.stdout.startswith("reseeded")
    # The committed golden file is of the old code: verify fails on the rows, and notes the provenance.
    verdict = _cli("verify", *common, cwd=elsewhere)
    assert verdict.returncode == 1, verdict.stdout + verdict.stderr
    assert any(line.startswith("note:") and "fixtures" in line for line in verdict.stdout.splitlines()), verdict.stdout
    assert '"2024-03-' in verdict.stdout and "seed_runs[" in verdict.stdout
    # And the current code's seed is now the one in place.
    assert _cli("apply", *common, cwd=elsewhere).stdout.startswith("already seeded")


_IDENTITIES = """
import sys
from datetime import UTC, datetime
from echelon_seed import fixtures, project, templates
shop = project.resolve(sys.argv[1])
seed = templates.Seed(anchor=datetime(2026, 3, 1, tzinfo=UTC))
print(fixtures.load(shop.fixtures, shop).digest, templates.key(shop, seed))
"""


def _identities(shop: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _IDENTITIES, str(shop)],
        env=cli_env({"PYTHONDONTWRITEBYTECODE": "1"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.split()


def test_fixture_digest_and_template_key_both_follow_the_generator_code(shop_copy: Path) -> None:
    before = _identities(shop_copy)
    _edit_generator_keeping_size_and_time(shop_copy)
    after = _identities(shop_copy)

    assert len(before) == len(after) == 2
    assert [b != a for b, a in zip(before, after, strict=True)] == [True, True]
    # Put back, both come back: the identity is the content, nothing else.
    source = shop_copy / "shop" / "seed_generators.py"
    source.write_bytes(source.read_bytes().replace(NEW, OLD))
    assert _identities(shop_copy) == before


def test_generate_code_is_the_module_source_by_name() -> None:
    code = generate.code(["echelon_project.generators"])
    path = dbtools.ECHELON / "echelon_project" / "generators.py"
    assert code == [("echelon_project.generators", path.read_bytes())]
    assert generate.code(["no_such_module_here"]) == [("no_such_module_here", b"")]
