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

WITHOUT_ASYNCPG = """
import sys
sys.modules["asyncpg"] = None
from echelon_seed import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def _without_asyncpg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_ASYNCPG, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(dbtools.REPO)},
    )


def test_a_postgresql_url_without_the_driver_names_the_extra_in_one_line(tmp_path: Path) -> None:
    done = _without_asyncpg(
        "snapshot", "--database-url", "postgresql://someone:hunter2@127.0.0.1:1/shop", cwd=dbtools.ECHELON
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "echelon-seed: error: PostgreSQL needs the asyncpg driver, which is not installed: "
        "pip install 'echelon-seed[postgresql]'"
    ]
    assert "hunter2" not in done.stderr


def test_sqlite_needs_no_postgresql_driver(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"

    applied = _without_asyncpg("apply", "--anchor", "2026-01-15T12:00:00Z", "--database-url", url, cwd=dbtools.ECHELON)
    verified = _without_asyncpg("verify", "--database-url", url, cwd=dbtools.ECHELON)

    assert applied.returncode == 0, applied.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr


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

    def mypy(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache"), str(path)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    good, bad = mypy(module), mypy(wrong)

    assert good.returncode == 0, good.stdout
    assert bad.returncode == 1 and 'incompatible type "int"' in bad.stdout, bad.stdout
