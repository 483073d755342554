"""Every output path problem is one line naming the path and the reason, exit 2, before any work.

Never "internal error", never the database blamed for a path it has nothing
to do with. One helper (`project.check_output`) says them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from echelon_seed import commands, project
from echelon_seed.errors import ConfigError
from tests import dbtools


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("outputs") / "good.db"
    done = dbtools.run_cli("apply", "-q", "--database-url", f"sqlite:///{path}")
    assert done.returncode == 0, done.stderr
    return f"sqlite:///{path}"


def _cases(tmp: Path, db: str) -> list[tuple[list[str], str, str]]:
    """(arguments, the path named, the reason) for every command that writes a file or a directory."""
    a_dir = tmp / "a-directory"
    a_dir.mkdir(exist_ok=True)
    a_file = tmp / "a-file"
    a_file.write_text("x")
    missing = tmp / "no-such-dir" / "out"
    url = ["--database-url", db]
    is_dir = "it is a directory; give a file name"
    no_parent = f"the directory {tmp / 'no-such-dir'} does not exist (create it first)"
    proc = "the directory /proc does not take new files"
    return [
        (["snapshot", *url, "-o", str(a_dir)], str(a_dir), is_dir),
        (["snapshot", *url, "-o", str(missing)], str(missing), no_parent),
        (["snapshot", *url, "-o", "/proc/x"], "/proc/x", proc),
        (["export-sql", "-o", str(a_dir)], str(a_dir), is_dir),
        (["export-sql", "-o", "/proc/x.sql"], "/proc/x.sql", proc),
        (["export", *url, "-o", "/proc/x"], "/proc/x", proc),
        (["export", *url, "-o", str(a_file)], str(a_file), "it exists and is not a directory"),
        # `export -o` makes a missing fixture directory with its parents (a new project's
        # seed/fixtures); under a file it cannot, and says so.
        (["export", *url, "-o", str(a_file / "out")], str(a_file / "out"), f"{a_file} is not a directory"),
        (["verify", *url, "--save-actual", "/proc/x"], "/proc/x", proc),
        (["verify", *url, "--save-actual", str(a_dir)], str(a_dir), is_dir),
        (["verify", *url, "--junit-xml", "/proc/x.xml"], "/proc/x.xml", proc),
        (["verify", *url, "--junit-xml", str(missing)], str(missing), no_parent),
        (["verify", *url, "--update", "--golden", str(a_dir)], str(a_dir), is_dir),
        (["diff", db, db, "--save-actual", str(missing)], str(missing), no_parent),
        (["diff", db, db, "--junit-xml", "/proc/x.xml"], "/proc/x.xml", proc),
    ]


def test_each_output_path_problem_is_one_line_naming_the_path_and_why(good_db: str, tmp_path: Path) -> None:
    for args, path, reason in _cases(tmp_path, good_db):
        done = dbtools.run_cli(*args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (args, done.stderr)
        assert len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith(f"echelon-seed: error: cannot write {path}: {reason}"), (args, lines[0])
        assert "internal error" not in done.stderr and "good.db" not in lines[0], (args, lines[0])
        assert done.stdout == ""
    assert not (tmp_path / "no-such-dir").exists()


def test_check_output_is_the_library_helper_and_replaced_uses_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot write .*: it is a directory"):
        project.check_output(tmp_path)
    with pytest.raises(ConfigError, match=r"the directory /proc does not take new files"):
        with project.replaced(Path("/proc/echelon-x")) as out:
            out.write(b"never")
    project.check_output(tmp_path / "fine")
    project.check_output(tmp_path / "fine-dir", directory=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the probes leave nothing behind


async def test_the_library_refuses_a_golden_file_in_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        await commands.verify(golden=tmp_path / "missing" / "golden.jsonl", update=True)
