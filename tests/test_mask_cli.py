"""`export --mask` and `check --leaks` from the command line: what they print, and never the key."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from echelon_seed import commands
from tests import dbtools, masking

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SECRET = "cli-secret-key-7d1f0c9a2b"


def forms(secret: str) -> list[str]:
    """The key as text and in the encodings a careless message could use."""
    raw = secret.encode()
    return [secret, raw.hex(), base64.b64encode(raw).decode(), repr(raw)]


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for form in forms(SECRET):
            assert form not in text


def files_text(directory: Path) -> str:
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(directory.rglob("*")) if p.is_file())


@pytest.fixture
def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    import anyio

    anyio.run(
        lambda: commands.apply(
            url, anchor=ANCHOR, fixtures_dir=masking.write_source(tmp_path / "src", 20), project=masking.clinic()
        )
    )
    return url


def run(*args: str, key: str | None = SECRET, debug: bool = False, **env: str) -> tuple[int, str, str]:
    extra = dict(env)
    if key is not None:
        extra["ECHELON_MASK_KEY"] = key
    if debug:
        extra["ECHELON_SEED_DEBUG"] = "1"
    done = dbtools.run_cli("--project", str(masking.CLINIC), *args, env=extra)
    return done.returncode, done.stdout, done.stderr


def test_masked_export_and_leak_check_print_results_and_never_the_key(seeded: str, tmp_path: Path) -> None:
    out = tmp_path / "masked"

    code, stdout, stderr = run("export", "--database-url", seeded, "-o", str(out), "--mask", debug=True)
    checked = run("check", "--leaks", "--fixtures", str(out), debug=True)
    original = run("check", "--leaks", "--fixtures", str(out), "--database-url", seeded)

    assert code == 0, stderr
    assert "masked 17 columns: clinics.region, clinics.code, clinics.name, patients.id, patients.email" in stdout
    assert "leak check: none of" in stdout and "appears in the files" in stdout
    assert checked[0] == 0 and checked[1].startswith("leak check OK: none of")
    assert original[0] == 1
    assert (
        "table patients rows 1, 2, 3 and 17 more column 'email': hold original values of patients.email" in original[2]
    )
    assert_hidden(stdout, stderr, *checked[1:], *original[1:], files_text(out))


def test_export_without_a_key_is_refused_before_reading(tmp_path: Path) -> None:
    code, stdout, stderr = run(
        "export", "--database-url", f"sqlite:///{tmp_path}/x.db", "-o", str(tmp_path / "o"), "--mask", key=None
    )
    assert code == 2 and stdout == ""
    assert "masking needs a key: set $ECHELON_MASK_KEY" in stderr
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "o").exists()


def test_a_transform_that_fails_shows_a_traceback_without_the_key(seeded: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('"patients.badge" = "clinic.jam"\n"patients.email" = "email"\n')

    code, stdout, stderr = run(
        "export", "--database-url", seeded, "-o", str(tmp_path / "o"), "--mask", str(policy), debug=True
    )

    assert code == 2
    assert "Traceback (most recent call last)" in stderr and "RuntimeError: badge printer jammed" in stderr
    assert not (tmp_path / "o").exists()
    assert_hidden(stdout, stderr)


def test_a_short_key_and_a_key_file(seeded: str, tmp_path: Path) -> None:
    short = run("export", "--database-url", seeded, "-o", str(tmp_path / "a"), "--mask", key="hunter2")
    (tmp_path / "key").write_text(SECRET + "\n")
    from_file = run(
        "export", "--database-url", seeded, "-o", str(tmp_path / "b"), "--mask", key=None,
        ECHELON_MASK_KEY_FILE=str(tmp_path / "key"),
    )  # fmt: skip
    from_env = run("export", "--database-url", seeded, "-o", str(tmp_path / "c"), "--mask")

    assert short[0] == 2 and "shorter than 16 bytes" in short[2] and "hunter2" not in short[2]
    assert from_file[0] == 0 and from_env[0] == 0
    assert (tmp_path / "b" / "patients.json").read_bytes() == (tmp_path / "c" / "patients.json").read_bytes()
