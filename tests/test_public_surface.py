"""The public surface is listed, sorted, complete, and documented where users look (the reference under docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import echelon_seed
from echelon_seed import cli

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_every_name_exists() -> None:
    assert echelon_seed.__all__ == sorted(echelon_seed.__all__)
    for name in echelon_seed.__all__:
        assert hasattr(echelon_seed, name), name


def test_every_cli_command_and_option_appears_in_the_command_reference() -> None:
    readme = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    # Masking's options (export --mask, check --leaks ...) are documented on its own page.
    pages = readme + (ROOT / "docs" / "masking.md").read_text(encoding="utf-8")
    parser = cli.build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb").choices  # noqa: SLF001
    assert set(verbs) == {"apply", "cache", "snapshot", "verify", "check", "diff", "export", "export-sql", "status"}
    for verb, sub in verbs.items():
        assert f"echelon-seed {verb}" in readme, verb
        for action in sub._actions:  # noqa: SLF001
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert flag in pages, f"{verb} {flag}"


def test_the_command_reference_states_the_exit_codes_that_verify_returns() -> None:
    readme = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    for code, meaning in (("0", "matches"), ("1", "differs"), ("2", "error")):
        assert re.search(rf"\|\s*{code}\s*\|[^\n]*{meaning}", readme), code


def test_version_is_the_packaged_version() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{echelon_seed.__version__}"' in pyproject


def test_every_pytest_plugin_option_fixture_and_marker_appears_in_the_plugin_reference() -> None:
    import subprocess
    import sys

    from echelon_seed import pytest_plugin

    readme = (ROOT / "docs" / "pytest-plugin.md").read_text(encoding="utf-8")
    shown = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    section = shown.split("echelon-seed: a seeded database per test:", 1)[1].split("\n\n", 1)[0]
    flags = re.findall(r"^  (--echelon-[a-z-]+)", section, flags=re.MULTILINE)
    assert len(flags) >= 4, section
    names = [f"${pytest_plugin.ENV_URL}", f"${pytest_plugin.ENV_POSTGRES}", "echelon_postgres", "echelon_engine"]
    for name in [*flags, *names, "echelon_db_url", "echelon_template", "pytest.mark.echelon_seed"]:
        assert name in readme, name
