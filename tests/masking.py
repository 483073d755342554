"""The clinic project of the masking tests, its source data, and reads of a database's rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import text

from echelon_seed import engines, project
from echelon_seed.mask import MaskKey, Policy
from echelon_seed.project import Project

CLINIC = Path(__file__).resolve().parent / "clinic"
KEY = "test-mask-key-0123456789-abcdef"
OTHER_KEY = "another-mask-key-9876543210-zyx"
REGIONS = ("EU1", "US2", "AP3")


def clinic() -> Project:
    return project.resolve(CLINIC)


def policy(chosen: Project | None = None, **changes: Any) -> Policy:
    """The clinic's own policy from its pyproject.toml, with rules changed or removed (None)."""
    rules = dict((chosen or clinic()).mask or {})
    for name, value in changes.items():
        name = name.replace("__", ".")
        if value is None:
            rules.pop(name, None)
        else:
            rules[name] = value
    return Policy.from_mapping(rules, "the test policy")


def key(secret: str = KEY) -> MaskKey:
    return MaskKey(secret.encode(), "the test")


def write_source(directory: Path, patients: int = 60) -> Path:
    """Fixtures of a clinic with personal data in every shape: `patients` patients, 3 visits each."""
    directory.mkdir(parents=True, exist_ok=True)
    cities = ("London", "Leeds", "Bristol", "Cardiff")
    people = [
        {
            "id": i,
            "email": f"patient{i}@mail.test",
            "full_name": f"Person{i} Surname{i % 7}",
            "phone": f"+44 20 7946 {i:04d}" if i % 5 else None,
            "city": cities[i % len(cities)],
            "notes": f"allergic to compound {i}" if i % 2 else None,
            "born_at": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 10}T00:00:00Z",
            "badge": f"CARD{i:05d}",
            "referrer_id": i - 1 if i > 1 and i % 3 else None,
            "created_at": f"now-{i}d",
        }
        for i in range(1, patients + 1)
    ]
    clinics = [{"region": r, "code": c, "name": f"{r} Clinic {c}"} for r in REGIONS for c in range(100, 105)]
    visits = [
        {
            "id": 3 * (i - 1) + n + 1,
            "patient_id": i,
            "region": REGIONS[(i + n) % 3],
            "clinic_code": 100 + (i * n) % 5,
            "note": "routine check",
            "details": {"room": f"R{n}", "fasting": bool(n % 2)},
            "visited_at": f"now-{i}d{n}h",
        }
        for i in range(1, patients + 1)
        for n in range(3)
    ]
    referrals = [{"patient_id": i, "referred_by": i - 1} for i in range(2, patients + 1, 2)]
    for name, rows in (("patients", people), ("clinics", clinics), ("visits", visits), ("referrals", referrals)):
        (directory / f"{name}.json").write_text(json.dumps({"rows": rows}, indent=1), encoding="utf-8")
    return directory


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    database = engines.open_database(url, write=False)
    try:
        async with database.transaction() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await database.dispose()


def rows(directory: Path, table: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads((directory / f"{table}.json").read_text(encoding="utf-8"))["rows"]
    return found


async def execute(url: str, *statements: str, **params: Any) -> None:
    database = engines.open_database(url, write=True)
    try:
        async with database.transaction() as conn:
            for statement in statements:
                await conn.execute(text(statement), params)
    finally:
        await database.dispose()
