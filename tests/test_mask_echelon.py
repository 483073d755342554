"""The Echelon project's own policy (projects/echelon/echelon-mask.toml, shown in docs/masking.md), end to end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from echelon_seed import commands, fixtures, project
from echelon_seed.mask import DIGESTS_FILE, load_file
from tests import dbtools, masking

ANCHOR = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = dbtools.ECHELON / "echelon-mask.toml"
JOINS = (
    "SELECT count(*) FROM agents a JOIN users u ON u.id = a.owner_id",
    "SELECT count(*) FROM positions p JOIN users u ON u.id = p.user_id JOIN timelines t ON t.id = p.timeline_id",
    "SELECT count(*) FROM timelines t JOIN users u ON u.id = t.founder_id",
    "SELECT count(*) FROM wing_flaps f JOIN agents a ON a.id = f.agent_id JOIN users u ON u.id = a.owner_id",
)


async def test_the_echelon_policy_masks_people_keeps_the_game_and_joins(
    db_url: str, new_database: Callable[[], str], tmp_path: Path
) -> None:
    echelon = project.echelon()
    await commands.apply(db_url, anchor=ANCHOR, project=echelon)
    out = tmp_path / "masked"

    result = await commands.export(db_url, out, project=echelon, mask=load_file(POLICY), mask_key=masking.key())

    assert fixtures.check(out, echelon) == []
    e = new_database()
    await commands.apply(e, anchor=ANCHOR, fixtures_dir=out, project=echelon)
    for sql in JOINS:
        assert await masking.query(e, sql) == await masking.query(db_url, sql), sql
    people = "SELECT id, username, email, bio, password_hash FROM users"
    before, after = await masking.query(db_url, people), await masking.query(e, people)
    for column in range(5):
        assert not ({row[column] for row in before} & {row[column] for row in after}) - {None}
    game = "SELECT id, name, archetype, total_pnl_usd FROM agents ORDER BY id"
    assert await masking.query(e, game) == await masking.query(db_url, game)
    assert result.masked == (
        "users.id", "users.username", "users.email", "users.password_hash", "users.wallet_address", "users.bio",
        "agents.owner_id", "agents.wallet_address", "timelines.founder_id", "positions.id", "positions.user_id",
    )  # fmt: skip
    leaks = await commands.check_leaks(
        database_url=e, digests=out / DIGESTS_FILE, project=echelon, mask_key=masking.key()
    )
    assert leaks.leaks == []
