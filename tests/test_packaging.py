"""What a team installing echelon-seed meets: the PostgreSQL driver as an extra, types for mypy.

The driver tests block `asyncpg` in a fresh interpreter (`sys.modules["asyncpg"] = None`
makes every import of it fail, as on an install without the extra) and run the real
command line there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import dbtools

# Each argument is one command line (words split on spaces), run in turn in the one interpreter; the
# first that fails ends it. Its exit code is the interpreter's.
WITHOUT_ASYNCPG = """
import sys
sys.modules["asyncpg"] = None
from echelon_seed import cli
for line in sys.argv[1:]:
    code = cli.main(line.split(" "))
    if code:
        sys.exit(code)
"""


def _without_asyncpg(*commands: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_ASYNCPG, *commands],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(dbtools.REPO)},
    )


def test_a_postgresql_url_without_the_driver_names_the_extra_in_one_line(tmp_path: Path) -> None:
    done = _without_asyncpg(
        "snapshot --database-url postgresql://someone:hunter2@127.0.0.1:1/shop", cwd=dbtools.ECHELON
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "echelon-seed: error: PostgreSQL needs the asyncpg driver, which is not installed: "
        "pip install 'echelon-seed[postgresql]'"
    ]
    assert "hunter2" not in done.stderr


def test_sqlite_needs_no_postgresql_driver(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"

    # One interpreter for both commands: asyncpg is as absent for the second as for the first.
    done = _without_asyncpg(
        f"apply --anchor 2026-01-15T12:00:00Z --database-url {url}", f"verify --database-url {url}", cwd=dbtools.ECHELON
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("seeded "), done.stdout
    assert done.stdout.splitlines()[-1].startswith("OK: "), done.stdout


def test_mypy_strict_accepts_generators_written_on_the_public_api(tmp_path: Path) -> None:
    """The package ships py.typed, so a project's typed code checks against our annotations."""
    module = tmp_path / "team_generators.py"
    module.write_text(
        """from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from echelon_seed.generators import Context, Draw, Spec, register


@register("team.nickname", table="users")
def nickname(spec: Spec, index: int, context: Context, draw: Draw) -> Mapping[str, Any]:
    return {"nickname": f"n{index}"}
""",
        encoding="utf-8",
    )
    wrong = tmp_path / "team_wrong.py"
    wrong.write_text(
        "from echelon_seed.generators import register\n\nregister(42)\n",
        encoding="utf-8",
    )

    # One run over both modules (a cold mypy run costs seconds): each error line names its file.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), module.name, wrong.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    errors = [line for line in done.stdout.splitlines() if ": error: " in line]
    assert done.returncode == 1, done.stdout
    assert errors and all(line.startswith("team_wrong.py:") for line in errors), done.stdout
    assert any('incompatible type "int"' in line for line in errors), done.stdout


def test_the_wheel_ships_the_built_in_project_and_nothing_a_checkout_left_lying_around(tmp_path: Path) -> None:
    """A wheel built from a checkout holding a seeded dev.db and caches: the project goes in, they do not."""
    import shutil
    import zipfile

    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=dbtools.REPO, capture_output=True, check=True)
    source = tmp_path / "checkout"
    for name in filter(None, tracked.stdout.decode().split("\0")):
        if (dbtools.REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dbtools.REPO / name, source / name)
    (source / "projects" / "echelon" / "dev.db").write_bytes(b"SQLite format 3\0")
    (source / "projects" / "echelon" / "echelon_project" / "__pycache__").mkdir()
    (source / "projects" / "echelon" / "echelon_project" / "__pycache__" / "schema.cpython-311.pyc").write_bytes(b"x")

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("echelon_seed-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    project = "echelon_seed/_project/"
    for needed in ("pyproject.toml", "echelon_project/schema.py", "echelon_project/generators.py",
                   "data/agents.json", "migrations/versions/0001_initial.py", "snapshots/echelon.snapshot.jsonl"):  # fmt: skip
        assert project + needed in names, needed
    assert [n for n in names if n.endswith(".db") or "__pycache__" in n] == []
    assert {n.split("/")[0] for n in names if not n.startswith("echelon_seed")} <= {
        n.split("/")[0] for n in names if ".dist-info" in n or ".data" in n
    }
