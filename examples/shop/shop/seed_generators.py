"""The shop's generator: nursery sowing runs, drawn from the products the fixtures declare."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from echelon_seed.generators import Context, Draw, Spec, register

# Naive on purpose: the nursery's wall clock, like the column.
SEASON_START = datetime(2024, 3, 1, 7, 0)


@register("shop.sowing", table="seed_runs")
def sowing(spec: Spec, index: int, context: Context, draw: Draw) -> dict[str, Any]:
    """One sowing run: a variety among the products, a morning in the season, some trays."""
    return {
        "id": index + 1,
        "variety": draw.pick(context.rows["products"], "title"),
        "sown_on": SEASON_START + draw.offset(timedelta(0), timedelta(days=spec.params.get("season_days", 60))),
        "trays": draw.integer(1, spec.params.get("max_trays", 24)),
    }
