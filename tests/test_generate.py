"""Claims about the seeded generators; pure Python, no database."""

from __future__ import annotations

import ast
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from echelon_project import generators as echelon_generators
from echelon_project.schema import price_history, wing_flaps

from echelon_seed import generate, generators
from echelon_seed.generate import GeneratorError, row_count, rows, validate

ANCHOR = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
SEED = "echelon-canonical-v1"

# (id, archetype) of the genesis roster; names are the id without "AGT_".
ROSTER = [
    ("AGT_MEGALODON", "SHARK"),
    ("AGT_THRESHER", "SHARK"),
    ("AGT_HAMMERHEAD", "SHARK"),
    ("AGT_CARDINAL", "SPY"),
    ("AGT_RAVEN", "SPY"),
    ("AGT_ORACLE", "SPY"),
    ("AGT_ENVOY", "DIPLOMAT"),
    ("AGT_ARBITER", "DIPLOMAT"),
    ("AGT_PHOENIX", "DIPLOMAT"),
    ("AGT_VIPER", "SABOTEUR"),
    ("AGT_SPECTER", "SABOTEUR"),
    ("AGT_LEVIATHAN", "WHALE"),
]
# (id, name, stability, price_yes)
TIMELINES = [
    ("TL_GHOST_TANKER", "Ghost Tanker - Venezuela Dark Fleet", 45.2, 0.67),
    ("TL_TEHRAN_BLACKOUT", "Tehran Blackout Protocol", 28.5, 0.52),
    ("TL_HORMUZ_CHOKEPOINT", "Hormuz Strait Chokepoint", 91.5, 0.41),
    ("TL_FED_PIVOT", "Fed Pivot January 2026", 67.2, 0.72),
    ("TL_NVIDIA_EARNINGS", "NVIDIA Q4 Earnings Shock", 58.5, 0.23),
    ("TL_OPENAI_EXODUS", "OpenAI Exodus Event", 63.3, 0.35),
    ("TL_APPLE_AI_PIVOT", "Apple AI Strategy Pivot", 55.1, 0.58),
    ("TL_ETH_ETF", "Ethereum ETF Approval", 48.5, 0.81),
    ("TL_TETHER_COLLAPSE", "Tether Stability Crisis", 23.4, 0.12),
    ("TL_ANTARCTIC_SHELF", "Antarctic Ice Shelf Event", 52.7, 0.44),
]

FLAP_COLUMNS = [c.name for c in wing_flaps.c]
PRICE_COLUMNS = [c.name for c in price_history.c]


def make_context(roster: list[tuple[str, str]] = ROSTER) -> dict[str, list[dict[str, object]]]:
    agents: list[dict[str, object]] = [{"id": i, "name": i[4:], "archetype": a} for i, a in roster]
    timelines: list[dict[str, object]] = [
        {"id": i, "name": n, "stability": s, "price_yes": p, "price_no": round(1 - p, 4)} for i, n, s, p in TIMELINES
    ]
    return {
        "agents": sorted(agents, key=lambda r: str(r["id"])),
        "timelines": sorted(timelines, key=lambda r: str(r["id"])),
    }


CONTEXT = make_context()
AGENTS = {str(r["id"]): r for r in CONTEXT["agents"]}
STABILITY = {str(r["id"]): r["stability"] for r in CONTEXT["timelines"]}
PRICE_YES = {str(r["id"]): r["price_yes"] for r in CONTEXT["timelines"]}
NAMES = {str(r["id"]): str(r["name"]) for r in CONTEXT["timelines"]}
TL_ROWS = CONTEXT["timelines"]


def flap_spec(count: int = 75, seed: str = SEED) -> dict[str, object]:
    return {"generator": "wing_flaps", "seed": seed, "count": count}


def price_spec(count: int = 25, seed: str = SEED) -> dict[str, object]:
    return {"generator": "price_history", "seed": seed, "count": count}


def flaps(count: int = 75, *, scale: int = 1, seed: str = SEED, context: Any = CONTEXT) -> list[dict[str, Any]]:
    produced = rows("wing_flaps", flap_spec(count, seed), scale=scale, anchor=ANCHOR, context=context)
    return [dict(zip(FLAP_COLUMNS, row, strict=True)) for row in produced]


def prices(count: int = 25, *, scale: int = 1, seed: str = SEED) -> list[dict[str, Any]]:
    produced = rows("price_history", price_spec(count, seed), scale=scale, anchor=ANCHOR, context=CONTEXT)
    return [dict(zip(PRICE_COLUMNS, row, strict=True)) for row in produced]


def hundredths(value: float) -> int:
    units = Decimal(repr(value)) * 100
    assert units == units.to_integral_value(), value
    return int(units)


@pytest.fixture(scope="module")
def many_flaps() -> list[dict[str, Any]]:
    return flaps(20_000)


# --- determinism and stability under growth -----------------------------------------------------------


def test_same_inputs_give_same_rows() -> None:
    assert flaps(200) == flaps(200)
    assert prices(10) == prices(10)


def test_different_seed_gives_different_rows() -> None:
    a, b = flaps(75), flaps(75, seed="another-seed")
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert sum(x != y for x, y in zip(a, b, strict=True)) > 70
    assert prices(10) != prices(10, seed="another-seed")


def test_scale_two_starts_with_exactly_the_rows_of_scale_one() -> None:
    one, two = flaps(75, scale=1), flaps(75, scale=2)
    assert len(one) == 75 and len(two) == 150
    assert two[:75] == one
    assert [r["id"] for r in two] == [f"FLAP_{i:05d}" for i in range(150)]


def test_flap_does_not_depend_on_count() -> None:
    assert flaps(10) == flaps(300)[:10]


def test_price_point_does_not_depend_on_count_or_scale() -> None:
    short = prices(5)
    long = prices(5, scale=3)
    by_key = {(r["timeline_id"], r["ts"]): r for r in long}
    assert len(long) == 3 * len(short) == 150
    assert all(by_key[(r["timeline_id"], r["ts"])] == r for r in short)


def test_anchor_in_another_zone_gives_the_same_utc_rows() -> None:
    cet = ANCHOR.astimezone(timezone(timedelta(hours=1)))
    again = list(rows("wing_flaps", flap_spec(20), scale=1, anchor=cet, context=CONTEXT))
    assert [dict(zip(FLAP_COLUMNS, r, strict=True)) for r in again] == flaps(20)
    assert all(r[-1].tzinfo is UTC for r in again)


def test_rows_stream_lazily() -> None:
    # 10**12 flaps could never fit in memory: only a generator can answer this quickly.
    huge = rows("wing_flaps", flap_spec(10**6), scale=10**6, anchor=ANCHOR, context=CONTEXT)
    assert [r[0] for r in islice(huge, 3)] == ["FLAP_00000", "FLAP_00001", "FLAP_00002"]


def test_row_count_matches_rows() -> None:
    assert (
        row_count("wing_flaps", flap_spec(75), scale=3, anchor=ANCHOR, context=CONTEXT)
        == 225
        == len(flaps(75, scale=3))
    )
    assert (
        row_count("price_history", price_spec(4), scale=2, anchor=ANCHOR, context=CONTEXT)
        == 80
        == len(prices(4, scale=2))
    )


# --- types ----------------------------------------------------------------------------------------------


def test_flap_values_have_the_column_types() -> None:
    for row in flaps(300):
        assert isinstance(row["id"], str) and row["id"].startswith("FLAP_")
        assert isinstance(row["stability_delta"], float) and isinstance(row["timeline_stability"], float)
        assert isinstance(row["spawned_ripple"], bool)
        for money in (row["volume_usd"], row["founder_yield_earned"]):
            assert money is None or (isinstance(money, Decimal) and money.as_tuple().exponent == -2)
        assert row["volume_usd"] is not None
        assert row["created_at"].tzinfo is UTC


# --- wing flap rules ------------------------------------------------------------------------------------

WEIGHTS = {
    "SHARK": {"TRADE": 0.85, "RIPPLE": 0.15},
    "DIPLOMAT": {"SHIELD": 0.70, "TRADE": 0.30},
    "SABOTEUR": {"SABOTAGE": 0.65, "TRADE": 0.35},
    "WHALE": {"TRADE": 0.75, "RIPPLE": 0.25},
    "SPY": {"TRADE": 0.80, "SHIELD": 0.20},
}


def test_archetype_weights_hold_over_20000_flaps(many_flaps: list[dict[str, Any]]) -> None:
    # Each share is a binomial proportion; 5 standard errors is the tolerance: a correct generator
    # misses it with probability ~6e-7 per check, a wrong weight (off by 5 points or more) hits it
    # for every archetype but the single WHALE, whose ~1,670 flaps give it a ~5-point band.
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in many_flaps:
        counts[str(AGENTS[row["agent_id"]]["archetype"])][row["flap_type"]] += 1
    assert set(counts) == set(WEIGHTS)
    for archetype, weights in WEIGHTS.items():
        total = sum(counts[archetype].values())
        assert set(counts[archetype]) == set(weights), archetype
        for flap_type, p in weights.items():
            tolerance = 5 * math.sqrt(p * (1 - p) / total)
            assert abs(counts[archetype][flap_type] / total - p) < tolerance, (archetype, flap_type)


def test_agents_and_timelines_are_drawn_uniformly(many_flaps: list[dict[str, Any]]) -> None:
    for key, n in (("agent_id", 12), ("timeline_id", 10)):
        counts = Counter(row[key] for row in many_flaps)
        assert len(counts) == n
        p = 1 / n
        tolerance = 5 * math.sqrt(p * (1 - p) / len(many_flaps))
        assert all(abs(c / len(many_flaps) - p) < tolerance for c in counts.values()), key


def test_deltas_and_volumes_stay_in_their_ranges(many_flaps: list[dict[str, Any]]) -> None:
    ranges = {"SHIELD": (200, 1200), "SABOTAGE": (-1800, -500), "RIPPLE": (-800, 800), "TRADE": (-1200, 1200)}
    for row in many_flaps:
        whale = AGENTS[row["agent_id"]]["archetype"] == "WHALE"
        lo, hi = ranges[row["flap_type"]]
        if whale:
            lo, hi = lo * 3 // 2, hi * 3 // 2
        assert lo <= hundredths(row["stability_delta"]) <= hi, row
        cents = int(row["volume_usd"] * 100)
        assert (150_000 <= cents <= 22_500_000 and cents % 3 == 0) if whale else (50_000 <= cents <= 7_500_000)


def test_whale_multipliers_show(many_flaps: list[dict[str, Any]]) -> None:
    whale = [r for r in many_flaps if r["agent_id"] == "AGT_LEVIATHAN"]
    trades = [r for r in many_flaps if r["flap_type"] == "TRADE" and r["agent_id"] != "AGT_LEVIATHAN"]
    # Uniform 500..75000 has mean 37,750 and sd ~21,500; the whale's ~1,670 draws put x3 far outside noise.
    mean_whale = sum(r["volume_usd"] for r in whale) / len(whale)
    mean_other = sum(r["volume_usd"] for r in trades) / len(trades)
    assert 2.8 < mean_whale / mean_other < 3.2
    assert max(r["volume_usd"] for r in whale) > 75_000
    whale_trade_deltas = [abs(r["stability_delta"]) for r in whale if r["flap_type"] == "TRADE"]
    assert max(whale_trade_deltas) > 12 and max(whale_trade_deltas) <= 18
    # 1.5 x a whole number of hundredths, halves rounded to even: e.g. 0.01 -> 0.02, so 0.01 never occurs.
    allowed = {int((Decimal(3 * b) / 2).quantize(Decimal(1), ROUND_HALF_EVEN)) for b in range(-1200, 1201)}
    assert all(hundredths(r["stability_delta"]) in allowed for r in whale if r["flap_type"] == "TRADE")
    assert {2, 3, 4} <= allowed and not {1, 5} & allowed  # 0.015 -> 0.02, 0.045 -> 0.04


def test_direction_ripple_and_founder_yield_follow_the_delta(many_flaps: list[dict[str, Any]]) -> None:
    for row in many_flaps:
        delta = Decimal(repr(row["stability_delta"]))
        assert row["direction"] == ("ANCHOR" if delta > 0 else "DESTABILISE")
        assert row["spawned_ripple"] == (abs(delta) > 10)
        if row["spawned_ripple"]:
            assert row["ripple_timeline_id"] in STABILITY and row["ripple_timeline_id"] != row["timeline_id"]
        else:
            assert row["ripple_timeline_id"] is None
        if delta > 0:
            expected = (abs(delta) * Decimal("0.001") * row["volume_usd"]).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
            assert row["founder_yield_earned"] == expected
            assert str(row["founder_yield_earned"]) == str(expected)
        else:
            assert row["founder_yield_earned"] is None
    assert Counter(r["direction"] for r in many_flaps).keys() == {"ANCHOR", "DESTABILISE"}
    assert any(r["spawned_ripple"] for r in many_flaps) and not all(r["spawned_ripple"] for r in many_flaps)


def test_half_even_rounding_breaks_ties_to_even() -> None:
    half_even = echelon_generators._half_even
    assert [half_even(n, 2) for n in (1, 3, 5, -1, -3, 4)] == [0, 2, 2, 0, -2, 2]
    assert [half_even(n, 100_000) for n in (150_000, 250_000, 250_001, 249_999)] == [2, 2, 3, 2]


def test_stability_chains_backward_from_the_current_value(many_flaps: list[dict[str, Any]]) -> None:
    newer: dict[str, dict[str, Any]] = {}
    clamped = 0
    for row in many_flaps:
        tl = row["timeline_id"]
        stability = hundredths(row["timeline_stability"])
        assert 0 <= stability <= 10_000
        if tl not in newer:
            assert row["timeline_stability"] == STABILITY[tl]
        else:
            previous = hundredths(newer[tl]["timeline_stability"]) - hundredths(newer[tl]["stability_delta"])
            assert stability == min(max(previous, 0), 10_000), row["id"]
            clamped += previous != stability
        newer[tl] = row
    assert set(newer) == set(STABILITY)
    assert clamped > 0  # the clamp is exercised, not only the plain chain


def test_created_at_follows_spacing_and_jitter(many_flaps: list[dict[str, Any]]) -> None:
    jitters = []
    for i, row in enumerate(many_flaps):
        assert row["id"] == f"FLAP_{i:05d}"
        before = ANCHOR - row["created_at"]
        assert before > timedelta(0) or (i == 0 and before >= timedelta(0))
        assert before.microseconds == 0  # whole seconds off an anchor with microseconds: exact arithmetic
        jitter = before.days * 86_400 + before.seconds - 90 * i
        assert 0 <= jitter <= 1800
        jitters.append(jitter)
    assert min(jitters) < 60 and max(jitters) > 1740


def test_action_names_the_agent_and_the_timeline(many_flaps: list[dict[str, Any]]) -> None:
    for row in many_flaps[:2000]:
        assert str(AGENTS[row["agent_id"]]["name"]) in row["action"]
        assert f'"{NAMES[row["timeline_id"]]}"' in row["action"]
    assert len({r["action"] for r in many_flaps}) > 19_000


def test_degen_agents_only_trade() -> None:
    context = make_context([("AGT_DEGEN_ONE", "DEGEN"), ("AGT_LEVIATHAN", "WHALE")])
    produced = flaps(2000, context=context)
    degen = [r for r in produced if r["agent_id"] == "AGT_DEGEN_ONE"]
    assert degen and {r["flap_type"] for r in degen} == {"TRADE"}
    assert all(r["volume_usd"] <= 75_000 for r in degen)


# --- price history --------------------------------------------------------------------------------------


def test_price_history_starts_at_current_price_and_sums_to_one() -> None:
    points = prices(200)
    assert len(points) == 200 * 10
    for index, row in enumerate(points):
        k = index % 200
        assert row["timeline_id"] == sorted(STABILITY)[index // 200]
        assert row["ts"] == ANCHOR - timedelta(hours=k) and row["ts"].tzinfo is UTC
        yes, no = Decimal(repr(row["price_yes"])), Decimal(repr(row["price_no"]))
        assert yes + no == 1 and yes == yes.quantize(Decimal("0.0001"))
        if k == 0:
            assert row["price_yes"] == PRICE_YES[row["timeline_id"]]
        else:
            assert Decimal("0.01") <= yes <= Decimal("0.99")
        assert row["volume_usd"].as_tuple().exponent == -2 and 100 <= row["volume_usd"] <= 25_000
    # The drift varies: a series is not a flat line at the current price.
    assert len({r["price_yes"] for r in points[:200]}) > 50


# --- validation and refusals ----------------------------------------------------------------------------


def test_validate_accepts_the_canonical_specs() -> None:
    assert validate("wing_flaps", flap_spec()) == []
    assert validate("price_history", price_spec()) == []


@pytest.mark.parametrize(
    ("table", "spec", "fragment"),
    [
        ("wing_flaps", {"generator": "wing_flapz", "seed": SEED, "count": 1}, "unknown generator 'wing_flapz'"),
        ("wing_flaps", {"seed": SEED, "count": 1}, "unknown generator None"),
        ("price_history", {"generator": "wing_flaps", "seed": SEED, "count": 1}, "fills table 'wing_flaps'"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED, "count": 1, "sead": "x"}, "unknown spec keys sead"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED, "count": 0}, "count must be a positive integer"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED, "count": -3}, "count must be a positive integer"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED, "count": "75"}, "count must be a positive integer"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED, "count": True}, "count must be a positive integer"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED, "count": 7.5}, "count must be a positive integer"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": SEED}, "count must be a positive integer"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": "", "count": 1}, "seed must be a non-empty string"),
        ("wing_flaps", {"generator": "wing_flaps", "seed": 7, "count": 1}, "seed must be a non-empty string"),
        ("wing_flaps", {"generator": "wing_flaps", "count": 1}, "seed must be a non-empty string"),
    ],
)
def test_validate_reports_each_kind_of_bad_spec(table: str, spec: dict[str, object], fragment: str) -> None:
    problems = validate(table, spec)
    assert len(problems) == 1 and fragment in problems[0], problems
    with pytest.raises(GeneratorError, match="count|seed|generator|spec keys"):
        rows(table, spec, scale=1, anchor=ANCHOR, context=CONTEXT)


def test_validate_reports_every_problem_at_once() -> None:
    assert len(validate("wing_flaps", {"generator": "nope", "count": 0, "extra": 1})) == 4


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"scale": 0}, "scale must be a positive integer"),
        ({"anchor": datetime(2026, 1, 15, 12, 0)}, "has no time zone"),
        ({"context": {"timelines": CONTEXT["timelines"]}}, "no 'agents' rows"),
        ({"context": {"agents": CONTEXT["agents"], "timelines": CONTEXT["timelines"][:1]}}, "at least 2 timelines"),
        ({"context": make_context([("AGT_X", "KRAKEN")])}, "archetype 'KRAKEN' has no flap weights"),
        (
            {"context": {"agents": CONTEXT["agents"], "timelines": [{**t, "stability": 45.123} for t in TL_ROWS]}},
            "not a multiple of 1/100",
        ),
        (
            {"context": {"agents": CONTEXT["agents"], "timelines": [{**t, "stability": 101.0} for t in TL_ROWS]}},
            "within 0.0..100.0",
        ),
    ],
)
def test_rows_refuses_unusable_inputs(kwargs: dict[str, Any], fragment: str) -> None:
    arguments: dict[str, Any] = {"scale": 1, "anchor": ANCHOR, "context": CONTEXT, **kwargs}
    with pytest.raises(GeneratorError, match=fragment):
        rows("wing_flaps", flap_spec(), **arguments)


@pytest.mark.parametrize("module", [generate, generators, echelon_generators], ids=lambda m: m.__name__)
def test_generators_never_import_random_or_uuid_nor_read_the_clock(module: Any) -> None:
    source = Path(module.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"random", "uuid", "time", "secrets", "os", "clock"}
    for call in (".now(", "utcnow(", "today(", "time.time", "perf_counter", "monotonic"):
        assert call not in source, call


def test_echelons_generators_use_only_the_public_api_and_generate_knows_no_schema() -> None:
    """Echelon is the built-in project, written as any project would be (issue 10)."""

    def package_imports(module: Any) -> set[str]:
        found: set[str] = set()
        for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # a relative import reaches into the package
                    found.add("." * node.level + (node.module or ""))
                elif (node.module or "").startswith("echelon_seed"):
                    found.add(node.module or "")
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("echelon_seed"))
        return found

    assert package_imports(echelon_generators) == {"echelon_seed.generators"}
    assert package_imports(generate) == {".", ".generators"}
    assert {"wing_flaps", "price_history"} <= set(generators.registered())


def test_generator_version_is_a_nonempty_string() -> None:
    assert isinstance(generate.GENERATOR_VERSION, str) and generate.GENERATOR_VERSION
