"""No silent choices: the fallback project is said, files that are not fixtures are named, hints work when pasted.

Each hint the tool prints is the last thing on its line; the tests cut it
out, paste it (from the same directory, as a person would) and require it
to do what it says. A URL in a hint never has its password: the pasted
command takes it from PGPASSWORD, as psql does.
"""

from __future__ import annotations

import shlex
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests import dbtools
from tests.test_seed_identity import hint_in

FALLBACK = (
    "echelon-seed: no [tool.echelon-seed] project here or above: using the built-in Echelon project "
    "(name yours with --project PATH or ECHELON_SEED_PROJECT)"
)


def _paste(hint: str, cwd: Path, url: str | None = None) -> dbtools.subprocess.CompletedProcess[str]:
    words = shlex.split(hint)
    assert words[0] == "echelon-seed", hint
    password = unquote(urlsplit(url).password or "") if url else ""
    assert not password or password not in hint
    return dbtools.run_cli(*words[1:], cwd=cwd, env={"PGPASSWORD": password} if password else None)


@pytest.mark.parametrize("verb", [["check"], ["status"], ["apply"], ["export-sql", "-o", "-"]])
def test_a_command_outside_any_project_says_it_uses_the_built_in_one(tmp_path: Path, verb: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    args = [*verb, *(["--database-url", url] if verb[0] in ("status", "apply") else [])]
    if verb[0] == "status":
        assert dbtools.run_cli("apply", "-q", "--database-url", url, cwd=tmp_path).returncode == 0

    done = dbtools.run_cli(*args, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines().count(FALLBACK) == 1, done.stderr
    quiet = dbtools.run_cli(*args, "-q", cwd=tmp_path)
    assert FALLBACK not in quiet.stderr
    inside = dbtools.run_cli(*args)  # the repository's own pyproject names the project
    assert FALLBACK not in inside.stderr


def test_files_that_are_not_fixtures_are_named_once(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(dbtools.ECHELON / "data", fixtures)
    (fixtures / "users.yaml").write_text("- id: 1\n")
    (fixtures / "notes.csv").write_text("a,b\n")
    (fixtures / ".gitkeep").write_text("")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    line = "echelon-seed: ignored: notes.csv, users.yaml (only *.json fixtures are read)"

    for args in (["check"], ["apply"], ["apply"], ["status", "--database-url", url]):
        extra = ["--database-url", url] if args == ["apply"] else []
        done = dbtools.run_cli(*args, *extra, "--fixtures", str(fixtures))
        assert done.returncode == 0, done.stderr
        assert done.stderr.splitlines().count(line) == 1, (args, done.stderr)


def _verdict_line(stdout: str) -> str:
    """The report's verdict line (notes on provenance may follow it)."""
    return next(line for line in reversed(stdout.strip().splitlines()) if not line.startswith("note:"))


def test_the_hints_of_apply_verify_status_and_snapshot_work_when_pasted(db_url: str, tmp_path: Path) -> None:
    cwd = tmp_path / "elsewhere"  # with --project: a hint must name the project too
    cwd.mkdir()
    other = tmp_path / "other-fixtures"
    shutil.copytree(dbtools.ECHELON / "data", other)
    agents = other / "agents.json"
    agents.write_text(agents.read_text().replace('"ARBITER"', '"ARBITRE"', 1))
    own = tmp_path / "project"  # a copy: the pasted hints write its golden files
    for name in ("data", "migrations", "snapshots"):
        shutil.copytree(dbtools.ECHELON / name, own / name, ignore=shutil.ignore_patterns("__pycache__"))
    (own / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "echelon"\nmetadata = "echelon_project.schema:metadata"\nmigrations = "migrations"\n'
        'fixtures = "data"\nsnapshots = "snapshots"\ngenerators = ["echelon_project.generators"]\n'
    )
    repo = ["--project", str(own), "--database-url", db_url]

    # verify of a database seeded at another scale: its hint makes that scale's golden file
    assert dbtools.run_cli("apply", "-q", *repo, "--scale", "2", cwd=cwd).returncode == 0
    verify = dbtools.run_cli("verify", *repo, cwd=cwd)
    assert verify.returncode == 1, verify.stderr
    hint = hint_in(_verdict_line(verify.stdout))
    assert "--scale 2" in hint
    pasted = _paste(hint, cwd, db_url)
    assert pasted.returncode == 0, pasted.stderr
    assert (own / "snapshots" / "echelon.scale-2.manifest.json").is_file()
    assert _paste(hint.replace(" --update", ""), cwd, db_url).returncode == 0

    # status of a stale seed: its hint reseeds, and then status says current
    stale = dbtools.run_cli("status", *repo, "--fixtures", str(other), cwd=cwd)
    assert stale.returncode == 0, stale.stderr
    line = next(line for line in stale.stdout.splitlines() if line.startswith("fixtures stale"))
    assert _paste(hint_in(line), cwd, db_url).returncode == 0
    assert "fixtures current" in dbtools.run_cli("status", *repo, "--fixtures", str(other), cwd=cwd).stdout

    # apply over another seed: refused, and its hint reseeds
    refused = dbtools.run_cli("apply", *repo, cwd=cwd)
    assert refused.returncode == 2 and "it holds another seed" in refused.stderr, refused.stderr
    pasted = _paste(hint_in(refused.stderr.strip()), cwd, db_url)
    assert pasted.returncode == 0 and pasted.stdout.startswith("reseeded"), pasted.stderr

    # verify of another seed than the golden file's fixtures: its hint reseeds from these fixtures
    assert dbtools.run_cli("apply", "-q", "--force", *repo, "--fixtures", str(other), cwd=cwd).returncode == 0
    verify = dbtools.run_cli("verify", *repo, cwd=cwd)
    assert verify.returncode == 1
    assert _paste(hint_in(_verdict_line(verify.stdout)), cwd, db_url).returncode == 0
    final = dbtools.run_cli("verify", *repo, cwd=cwd)
    assert final.returncode == 0, final.stdout[-2000:]


def test_the_hints_of_a_missing_database_and_of_bad_fixtures_work_when_pasted(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-yet.db"
    snap = dbtools.run_cli("snapshot", "--database-url", f"sqlite:///{missing}", cwd=tmp_path)
    assert snap.returncode == 2
    assert _paste(hint_in(snap.stderr.strip()), tmp_path).returncode == 0
    assert sqlite3.connect(missing).execute("SELECT count(*) FROM agents").fetchone() == (12,)

    bad = tmp_path / "bad"
    shutil.copytree(dbtools.ECHELON / "data", bad)
    (bad / "agents.json").write_text('{"rows": [{"id": "A"}, {"id": "B"}]}')
    # The built-in project is what a pasted command finds here anyway: its hint needs no --project.
    builtin = dbtools.run_cli("apply", "--project", str(dbtools.ECHELON), "--fixtures", str(bad), cwd=tmp_path)
    assert builtin.returncode == 2
    assert builtin.stderr.split("run '", 1)[1].startswith("echelon-seed check --fixtures "), builtin.stderr
    # Another project, named with --project: so must the hint.
    own = tmp_path / "own"
    own.mkdir()
    (own / "pyproject.toml").write_text(
        '[tool.echelon-seed]\nname = "echelon"\nmetadata = "echelon_project.schema:metadata"\n'
        f'fixtures = "{dbtools.ECHELON / "data"}"\nsnapshots = "{dbtools.ECHELON / "snapshots"}"\n'
        'generators = ["echelon_project.generators"]\n'
    )
    refused = dbtools.run_cli("apply", "--project", str(own), "--fixtures", str(bad), cwd=tmp_path)
    assert refused.returncode == 2
    hint = refused.stderr.split("run '", 1)[1].split("' to list them", 1)[0]
    assert hint.startswith("echelon-seed check --project ")
    listed = _paste(hint, tmp_path)
    assert listed.returncode == 2 and "problems in the fixtures" in listed.stderr, listed.stderr
    assert "agents.json row 2 (B)" in listed.stderr
