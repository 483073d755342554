"""`export --mask` on a clinic's records: masked keys still join, the bytes are the same on both engines,
the leak check finds originals wherever they hide, and a bad policy is refused before a row is read."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String

from echelon_seed import commands, fixtures
from echelon_seed.errors import ConfigError
from echelon_seed.mask import DIGESTS_FILE, LeakError, Policy
from echelon_seed.project import Project
from tests import masking
from tests.masking import KEY, OTHER_KEY

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
JOINS = (
    "SELECT count(*) FROM visits v JOIN patients p ON p.id = v.patient_id "
    "JOIN clinics c ON c.region = v.region AND c.code = v.clinic_code",
    "SELECT count(*) FROM referrals r JOIN patients a ON a.id = r.patient_id JOIN patients b ON b.id = r.referred_by",
    "SELECT count(*) FROM patients p JOIN patients q ON q.id = p.referrer_id",
    # A join on values, not only on keys: every patient's visits in clinics of the region of their first visit.
    "SELECT count(*) FROM patients p JOIN visits v ON v.patient_id = p.id "
    "JOIN visits w ON w.patient_id = p.id AND w.region = v.region",
)


@pytest.fixture(scope="module")
def clinic() -> Project:
    return masking.clinic()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return masking.write_source(tmp_path / "source")


async def export(
    url: str, out: Path, clinic: Project, secret: str = KEY, rules: dict[str, str] | None = None, **options: object
) -> commands.ExportResult:
    policy = masking.policy(clinic, **(rules or {}))
    return await commands.export(url, out, project=clinic, mask=policy, mask_key=masking.key(secret), **options)  # type: ignore[arg-type]


async def test_masked_export_applies_passes_check_and_joins_like_the_original(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)
    out = tmp_path / "masked"

    result = await export(db_url, out, clinic)

    assert fixtures.check(out, clinic) == []
    e = new_database()
    await commands.apply(e, anchor=ANCHOR, fixtures_dir=out, project=clinic)
    for sql in JOINS:
        assert await masking.query(e, sql) == await masking.query(db_url, sql), sql
    assert (await masking.query(e, JOINS[0]))[0][0] == 180
    original = {r[0] for r in await masking.query(db_url, "SELECT email FROM patients")}
    masked = {r[0] for r in await masking.query(e, "SELECT email FROM patients")}
    assert len(masked) == 60 and not masked & original
    ids = await masking.query(e, "SELECT id FROM patients")
    assert sorted(i for (i,) in ids) != list(range(1, 61))  # permuted: not the original ids
    assert all(1 <= i <= 99 for (i,) in ids)  # but in range: one and two digits stay so
    assert "visits.patient_id" in result.masked and "visits.clinic_code" in result.masked
    assert result.recorded > 0 and (out / DIGESTS_FILE).is_file()


async def test_masked_export_is_the_same_bytes_on_both_engines_and_another_key_changes_it(
    sqlite_url: str, pg_url: str, tmp_path: Path, clinic: Project, source: Path
) -> None:
    for url in (sqlite_url, pg_url):
        await commands.apply(url, anchor=ANCHOR, fixtures_dir=source, project=clinic)

    # visits streams (its key is kept): its masked times come from raw driver values, patients' from typed ones.
    shifted = {"visits__visited_at": "date:±10"}
    await export(sqlite_url, tmp_path / "a", clinic, rules=shifted)
    await export(pg_url, tmp_path / "b", clinic, rules=shifted)
    await export(pg_url, tmp_path / "c", clinic, secret=OTHER_KEY, rules=shifted)

    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["clinics.json", DIGESTS_FILE, "patients.json", "referrals.json", "visits.json"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    a, c = masking.rows(tmp_path / "a", "patients"), masking.rows(tmp_path / "c", "patients")
    assert {r["email"] for r in a}.isdisjoint(r["email"] for r in c)
    assert [r["id"] for r in a] != [r["id"] for r in c]
    # Rows go out in masked-key order, so the file's order does not tell the original keys.
    keys = [(r["region"], r["code"]) for r in masking.rows(tmp_path / "a", "clinics")]
    assert keys == sorted(keys)
    visits = masking.rows(tmp_path / "a", "visits")
    assert [v["id"] for v in visits] == list(range(1, 181))
    assert [v["visited_at"] for v in visits] != [v["visited_at"] for v in masking.rows(tmp_path / "c", "visits")]
    assert all(not v["visited_at"].startswith(("now-1d0h", "now-1d1h")) for v in visits[:2])  # shifted by days


async def test_the_same_value_is_masked_alike_in_every_table(
    sqlite_url: str, tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)
    await export(sqlite_url, tmp_path / "out", clinic)

    patients = {r["id"] for r in masking.rows(tmp_path / "out", "patients")}
    clinics = {(r["region"], r["code"]) for r in masking.rows(tmp_path / "out", "clinics")}
    for visit in masking.rows(tmp_path / "out", "visits"):
        assert visit["patient_id"] in patients
        assert (visit["region"], visit["clinic_code"]) in clinics
    regions = {region for region, _ in clinics}
    assert len(regions) == 3 and not regions & set(masking.REGIONS)


async def test_a_root_subset_is_masked_and_applies(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)

    result = await export(db_url, tmp_path / "subset", clinic, roots=["visits:14"])

    assert result.rows == {"patients": 3, "clinics": 1, "visits": 1}  # patient 5 was referred by 4, 4 by 3
    e = new_database()
    await commands.apply(e, anchor=ANCHOR, fixtures_dir=tmp_path / "subset", project=clinic)
    assert await masking.query(e, JOINS[0]) == [(1,)]


async def test_a_tables_subset_is_masked_alike_and_applies(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)
    await export(db_url, tmp_path / "whole", clinic)

    result = await export(db_url, tmp_path / "subset", clinic, tables=["referrals"])

    assert result.rows["referrals"] == 30 and set(result.added) == {"patients"}
    e = new_database()
    await commands.apply(e, anchor=ANCHOR, fixtures_dir=tmp_path / "subset", project=clinic)
    assert await masking.query(e, JOINS[1]) == await masking.query(db_url, JOINS[1])
    whole = {r["id"]: r for r in masking.rows(tmp_path / "whole", "patients")}
    for patient in masking.rows(tmp_path / "subset", "patients"):
        assert patient == whole[patient["id"]]  # the same masked row as in the whole export


async def test_the_leak_check_finds_originals_in_another_column_and_inside_a_document(
    db_url: str, tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)
    await masking.execute(
        db_url,
        "UPDATE visits SET note = 'please call patient7@mail.test back' WHERE id = 5",
        """UPDATE visits SET details = '{"contact": {"email": "PATIENT9@MAIL.TEST"}, "room": "R1"}' WHERE id = 8""",
        "UPDATE visits SET note = :note WHERE id = 11",
        note="first line\nPerson2 Surname2\tsays hello",  # escapes in the file's JSON text: \n, \t
    )
    out = tmp_path / "masked"

    with pytest.raises(LeakError) as caught:
        await export(db_url, out, clinic)

    assert [str(leak) for leak in caught.value.leaks] == [
        "visits.json row 5 column 'note': holds an original value of patients.email",
        "visits.json row 8 column 'details' at $.contact.email: holds an original value of patients.email",
        "visits.json row 11 column 'note': holds an original value of patients.full_name",
    ]
    assert "patient7" not in str(caught.value) and "PATIENT9" not in str(caught.value)
    assert not out.exists()  # nothing published
    assert not list(tmp_path.glob(".masked*"))  # and nothing staged left behind


async def test_check_leaks_passes_on_the_masked_copy_and_fails_on_the_original(
    db_url: str, new_database: Callable[[], str], tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(db_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)
    out = tmp_path / "masked"
    await export(db_url, out, clinic)
    e = new_database()
    await commands.apply(e, anchor=ANCHOR, fixtures_dir=out, project=clinic)
    snapshot = tmp_path / "original.jsonl"
    with snapshot.open("wb") as stream:
        await commands.snapshot(db_url, stream, project=clinic)
    check = {"digests": out / DIGESTS_FILE, "project": clinic, "mask_key": masking.key()}

    clean = [
        await commands.check_leaks(fixtures_dir=out, **check),  # type: ignore[arg-type]
        await commands.check_leaks(database_url=e, **check),  # type: ignore[arg-type]
    ]
    original = await commands.check_leaks(database_url=db_url, **check)  # type: ignore[arg-type]
    from_snapshot = await commands.check_leaks(snapshot=snapshot, **check)  # type: ignore[arg-type]

    assert [r.leaks for r in clean] == [[], []]
    assert {(leak.where, leak.column) for leak in original.leaks} == {
        ("table patients", column) for column in ("email", "full_name", "phone", "city", "notes", "badge")
    } | {("table clinics", "name")}
    assert {leak.column for leak in from_snapshot.leaks} == {
        "email",
        "full_name",
        "phone",
        "city",
        "notes",
        "badge",
        "name",
    }
    with pytest.raises(ConfigError, match="another masking key"):
        await commands.check_leaks(fixtures_dir=out, project=clinic, mask_key=masking.key(OTHER_KEY))


# --- refused before any row is read: the database below does not even exist ------------------------------


def absent(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'no' / 'such.db'}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"patients__email": "city"}, "patients.email is unique (or part of a key) and 'city' is not one-to-one"),
        ({"patients__email": "const:x@example.com"}, "patients.email is unique"),
        ({"patients__full_name": "null"}, "patients.full_name is NOT NULL, so 'null' cannot mask it"),
        ({"patients__born_at": "email"}, "'email' masks text columns; patients.born_at is a timestamp column"),
        ({"patients__emial": "email"}, "has no column patients.emial; columns of patients: id, email"),
        ({"*.phonee": "phone"}, "the pattern matches no column"),
        ({"patients__city": "town"}, "unknown transform 'town'"),
        ({"visits__patient_id": "hash"}, "visits.patient_id references patients.id, masked with 'permute'"),
    ],
)
async def test_a_bad_policy_is_refused_by_name_before_reading(
    tmp_path: Path, clinic: Project, changes: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await commands.export(
            absent(tmp_path), tmp_path / "out", project=clinic, mask=masking.policy(clinic, **changes),
            mask_key=masking.key(),
        )  # fmt: skip
    assert message in str(caught.value)
    assert not (tmp_path / "out").exists() and not (tmp_path / "no").exists()


async def test_strict_mode_names_a_column_a_migration_added(tmp_path: Path, clinic: Project) -> None:
    metadata = MetaData()
    for table in clinic.metadata.sorted_tables:
        copy = table.to_metadata(metadata)
        if table.name == "patients":
            copy.append_column(Column("nickname", String(40)))
            copy.append_column(Column("insurer", String(40)))
    grown = Project(name="clinic", metadata=metadata, fixtures=clinic.fixtures, snapshots=clinic.snapshots)

    with pytest.raises(ConfigError) as caught:
        await commands.export(
            absent(tmp_path), tmp_path / "out", project=grown, mask=masking.policy(clinic), mask_key=masking.key()
        )
    assert "strict = true and no rule for patients.nickname, patients.insurer" in str(caught.value)
    relaxed = masking.policy(clinic, strict=False)
    assert relaxed.strict is False


def test_the_policy_never_holds_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        Policy.from_mapping({"key": "hunter2-hunter2-hunter2", "users.email": "email"}, "pyproject.toml")
    assert "never read from the policy" in str(caught.value) and "hunter2" not in str(caught.value)


async def test_export_sql_masks_like_export_and_checks_for_leaks(
    sqlite_url: str, tmp_path: Path, clinic: Project, source: Path
) -> None:
    await commands.apply(sqlite_url, anchor=ANCHOR, fixtures_dir=source, project=clinic)
    await export(sqlite_url, tmp_path / "out", clinic)
    script = io.BytesIO()

    commands.export_sql(
        script, fixtures_dir=source, project=clinic, mask=masking.policy(clinic), mask_key=masking.key()
    )

    text = script.getvalue().decode()
    for patient in masking.rows(tmp_path / "out", "patients"):
        assert f"\t{patient['email']}\t" in text
    assert "@mail.test" not in text and "Surname" not in text
    (source / "visits.json").write_text(
        (source / "visits.json").read_text().replace('"routine check"', '"ring Person4 Surname4"', 1)
    )
    with pytest.raises(
        LeakError, match="table visits row 1 column 'note': holds an original value of patients.full_name"
    ):
        commands.export_sql(
            io.BytesIO(), fixtures_dir=source, project=clinic, mask=masking.policy(clinic), mask_key=masking.key()
        )
