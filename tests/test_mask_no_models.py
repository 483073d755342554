"""A masked export of a project without models (examples/bookshop, grown by a migration with a date).

Such a project knows its tables only from the database, so everything the
masked export and the leak check do must read them there: a date read as
its text keeps being a date, and a leak check of a database scans its
reflected tables (it used to scan none, and always said OK).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from echelon_seed import cli, commands, project
from echelon_seed.mask import Policy
from tests import dbtools, masking

ORIGINAL_NAMES = ("Ursula K. Le Guin", "Italo Calvino")


@pytest.fixture
def bookshop(tmp_path: Path) -> project.Project:
    root = tmp_path / "bookshop"
    shutil.copytree(dbtools.REPO / "examples" / "bookshop", root)
    (root / "migrations" / "003_born.sql").write_text("ALTER TABLE author ADD COLUMN born DATE;\n")
    (root / "seed" / "fixtures" / "author.json").write_text(
        json.dumps(
            {
                "rows": [
                    {"author_id": 1, "name": ORIGINAL_NAMES[0], "born": "1929-10-21"},
                    {"author_id": 2, "name": ORIGINAL_NAMES[1], "status": "archived", "born": "1923-10-15"},
                ]
            }
        )
    )
    return project.resolve(root)


async def test_dates_stay_dates_and_the_leak_check_reads_the_database(
    db_url: str, bookshop: project.Project, tmp_path: Path
) -> None:
    await commands.apply(db_url, project=bookshop)
    policy = Policy.from_mapping({"author.name": "name", "author.born": "date:±30"}, "the test policy")
    out = tmp_path / "masked"
    await commands.export(db_url, out, project=bookshop, mask=policy, mask_key=masking.key())

    rows = json.loads((out / "author.json").read_text())["rows"]
    born = [date.fromisoformat(r["born"]) for r in rows]
    assert born != [date(1929, 10, 21), date(1923, 10, 15)]
    assert all(abs((b - o).days) <= 30 for b, o in zip(born, [date(1929, 10, 21), date(1923, 10, 15)], strict=True))
    assert not {r["name"] for r in rows} & set(ORIGINAL_NAMES)

    found = await commands.check_leaks(fixtures_dir=out, database_url=db_url, project=bookshop, mask_key=masking.key())
    assert {(leak.where, leak.column) for leak in found.leaks} >= {("table author", "name")}
    clean = await commands.check_leaks(fixtures_dir=out, project=bookshop, mask_key=masking.key())
    assert clean.leaks == []


def test_the_digest_file_is_not_named_as_an_ignored_fixture(
    bookshop: project.Project, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    asyncio.run(commands.apply(url, project=bookshop))
    monkeypatch.setenv("ECHELON_MASK_KEY", masking.KEY)
    toml = bookshop.source
    assert toml is not None
    with toml.open("a") as f:
        f.write('\n[tool.echelon-seed.mask]\n"author.name" = "name"\n')
    masked = str(tmp_path / "masked")
    assert cli.main(["--project", str(toml.parent), "export", "--mask", "--database-url", url, "-o", masked]) == 0
    assert (tmp_path / "masked" / "echelon-mask.digests").is_file()
    (tmp_path / "masked" / "notes.yaml").write_text("not a fixture\n")
    capsys.readouterr()
    assert cli.main(["--project", str(toml.parent), "--fixtures", masked, "check", "--leaks"]) == 0
    err = capsys.readouterr().err
    assert "ignored: notes.yaml (only *.json fixtures are read)" in err and "digests" not in err
