"""Echelon's two generators (wing flaps, price history), written on the public generator API.

They are table generators (`register_table`): a flap's `timeline_stability`
is the stability after the next newer flap on its timeline, a chain across
rows that a per-row generator cannot carry. Nothing here is private to
echelon-seed: a project with the same needs writes the same module.

Every value of row `i` is drawn from one BLAKE2b digest of a stable byte
encoding of (seed, generator name, i) — for price history (seed, generator
name, timeline id, k) — and from the fixed fixture rows in `context`. Nothing
here reads the clock, `random` or `uuid`, so the same inputs give the same
rows on every platform, and adding rows (a larger count or scale) never
shifts the rows already there.

Hash input: ``b"echelon-seed.generate\\0"``, then each text field as a 4-byte
big-endian UTF-8 length and its bytes, then the index as 8 bytes big-endian.

wing_flaps: one 64-byte digest per flap, read as eight little-endian
unsigned 64-bit words (``struct '<8Q'``):

====  ====================================================================
word  field
====  ====================================================================
w0    timeline: ``w0 % len(timelines)``
w1    agent: ``w1 % len(agents)``
w2    flap type: ``w2 % 1000`` (per mille) against the archetype's weights
w3    volume_usd in cents: 500.00..75000.00 uniform, then x3 for a WHALE
w4    stability delta in hundredths, uniform over the flap type's range
w5    ripple target: ``w5 % 9`` over the other timelines (when spawned)
w6    jitter: ``w6 % 1801`` whole seconds
w7    action text template: ``w7 % len(templates)``
====  ====================================================================

price_history: one 16-byte digest per point, two words ``'<2Q'``: w0 is the
price drift, w1 the volume.

A word taken modulo n is off uniform by at most n / 2**64, far below
anything a test or a chart can see. Rounding, all in integers:

- WHALE delta: 1.5 x hundredths, halves rounded to even (``_half_even``);
- founder yield: delta(hundredths) x volume(cents) / 100000 cents, halves to
  even: exactly Decimal ``(|delta| * 0.001 * volume).quantize(0.01,
  ROUND_HALF_EVEN)``;
- floats are `units / 100` or `units / 10000` of an exact integer, which is
  the double nearest the decimal value on every IEEE-754 platform.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from hashlib import blake2b
from math import isqrt
from struct import Struct
from typing import Any

from echelon_seed.generators import Context, Draw, GeneratorError, Spec, register_mask, register_table

__all__ = [
    "ACTION_TEMPLATES",
    "ARCHETYPE_WEIGHTS",
    "DELTA_RANGES",
    "FLAP_SPACING_SECONDS",
    "JITTER_SECONDS",
    "PRICE_BOUNDS",
    "PRICE_SPREAD_MAX",
    "PRICE_VOLUME_CENTS",
    "RIPPLE_THRESHOLD",
    "VOLUME_CENTS",
]

_DOMAIN = b"echelon-seed.generate\x00"
_WORDS8 = Struct("<8Q").unpack
_WORDS2 = Struct("<2Q").unpack
_CENT = Decimal("0.01")

_FLAP_COLUMNS = (
    "id",
    "timeline_id",
    "agent_id",
    "flap_type",
    "action",
    "stability_delta",
    "direction",
    "volume_usd",
    "timeline_stability",
    "spawned_ripple",
    "ripple_timeline_id",
    "founder_yield_earned",
    "created_at",
)
_PRICE_COLUMNS = ("timeline_id", "ts", "price_yes", "price_no", "volume_usd")

#: Flap type weights per archetype, in per mille (each sums to 1000).
ARCHETYPE_WEIGHTS: Mapping[str, tuple[tuple[str, int], ...]] = {
    "SHARK": (("TRADE", 850), ("RIPPLE", 150)),
    "DIPLOMAT": (("SHIELD", 700), ("TRADE", 300)),
    "SABOTEUR": (("SABOTAGE", 650), ("TRADE", 350)),
    "WHALE": (("TRADE", 750), ("RIPPLE", 250)),
    "SPY": (("TRADE", 800), ("SHIELD", 200)),
    "DEGEN": (("TRADE", 1000),),
}

#: Stability delta per flap type, inclusive, in hundredths.
DELTA_RANGES: Mapping[str, tuple[int, int]] = {
    "SHIELD": (200, 1200),
    "SABOTAGE": (-1800, -500),
    "RIPPLE": (-800, 800),
    "TRADE": (-1200, 1200),
}

VOLUME_CENTS = (50_000, 7_500_000)  # 500.00..75000.00 per flap
RIPPLE_THRESHOLD = 1000  # |delta| > 10.00 spawns a ripple
JITTER_SECONDS = 1800  # 0..30 minutes
FLAP_SPACING_SECONDS = 90  # 1.5 minutes between nominal flap times
PRICE_VOLUME_CENTS = (10_000, 2_500_000)  # 100.00..25000.00 per hourly point
PRICE_BOUNDS = (100, 9900)  # price_yes 0.01..0.99 for k > 0, in 1/10000
PRICE_SPREAD_MAX = 1500  # drift at most +-0.15

# The shard count in each text is volume / price of the named side, so the text agrees
# with the row's volume. Placeholders: {agent}, {timeline}, {shards}.
ACTION_TEMPLATES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "TRADE": (
        ("YES", '{agent} bought {shards} YES shards on "{timeline}"'),
        ("NO", '{agent} bought {shards} NO shards on "{timeline}"'),
        ("YES", '{agent} dumped {shards} YES shards into "{timeline}"'),
        ("NO", '{agent} unloaded {shards} NO shards on "{timeline}"'),
    ),
    "SHIELD": (
        ("YES", '{agent} shielded "{timeline}" with a {shards}-shard YES hedge'),
        ("NO", '{agent} anchored "{timeline}" by absorbing {shards} NO shards'),
    ),
    "SABOTAGE": (
        ("NO", '{agent} spoofed {shards} NO shards against "{timeline}"'),
        ("YES", '{agent} seeded false OSINT into "{timeline}" and shorted {shards} YES shards'),
    ),
    "RIPPLE": (
        ("YES", '{agent} sent a ripple through "{timeline}" with {shards} YES shards'),
        ("NO", '{agent} rippled "{timeline}" with a {shards}-shard NO sweep'),
    ),
}


def _flap_rows(spec: Spec, context: Context) -> Iterator[tuple[Any, ...]]:
    prefix = _DOMAIN + _field(spec.seed) + _field(spec.generator)
    return _flaps(prefix, spec.count, context.anchor, _Context(context.rows))


def _price_rows(spec: Spec, context: Context) -> Iterator[tuple[Any, ...]]:
    prefix = _DOMAIN + _field(spec.seed) + _field(spec.generator)
    return _prices(prefix, spec.count, context.anchor, _Context(context.rows, need_agents=False))


register_table(
    "wing_flaps",
    table="wing_flaps",
    columns=_FLAP_COLUMNS,
    inputs=("timelines", "agents"),
    earliest=lambda spec: -timedelta(seconds=FLAP_SPACING_SECONDS * (spec.count - 1) + JITTER_SECONDS),
    anchor_shifts_times=True,  # created_at = anchor - a drawn offset; nothing else reads the anchor
)(_flap_rows)
register_table(
    "price_history",
    table="price_history",
    columns=_PRICE_COLUMNS,
    inputs=("timelines",),
    size=lambda spec, context: spec.count * len(_context_rows(context.rows, "timelines")),
    earliest=lambda spec: -timedelta(hours=spec.count - 1),
    anchor_shifts_times=True,  # ts = anchor - k hours; nothing else reads the anchor
)(_price_rows)


# --- wing_flaps ---------------------------------------------------------------------------------------


def _flaps(prefix: bytes, total: int, anchor: datetime, ctx: _Context) -> Iterator[tuple[Any, ...]]:
    n_tl = len(ctx.timeline_ids)
    n_ag = len(ctx.agent_ids)
    kinds = [_agent_kinds(ctx, a) for a in range(n_ag)]
    others = [ctx.timeline_ids[:t] + ctx.timeline_ids[t + 1 :] for t in range(n_tl)]
    # Backward chain: the stability after the next newer flap on each timeline and that flap's delta.
    after = list(ctx.stability_units)
    pending = [0] * n_tl
    agent_ids, timeline_ids = ctx.agent_ids, ctx.timeline_ids
    vol_lo, vol_span = VOLUME_CENTS[0], VOLUME_CENTS[1] - VOLUME_CENTS[0] + 1
    words, cent, second = _WORDS8, _CENT, timedelta(seconds=1)
    for i in range(total):
        w0, w1, w2, w3, w4, w5, w6, w7 = words(blake2b(prefix + i.to_bytes(8, "big"), digest_size=64).digest())
        tl = w0 % n_tl
        a = w1 % n_ag
        flap_type, deltas, vol_mult, actions = kinds[a][w2 % 1000]
        delta = deltas[w4 % len(deltas)]
        volume = (vol_lo + w3 % vol_span) * vol_mult
        stability = after[tl] - pending[tl]
        stability = 0 if stability < 0 else 10_000 if stability > 10_000 else stability
        after[tl] = stability
        pending[tl] = delta
        if delta > RIPPLE_THRESHOLD or delta < -RIPPLE_THRESHOLD:
            spawned, ripple = True, others[tl][w5 % (n_tl - 1)]
        else:
            spawned, ripple = False, None
        if delta > 0:
            direction = "ANCHOR"
            founder_yield: Decimal | None = Decimal(_half_even(delta * volume, 100_000)) * cent
        else:
            direction = "DESTABILISE"
            founder_yield = None
        head, denominator, tail = actions[tl][w7 % len(actions[tl])]
        yield (
            f"FLAP_{i:05d}",
            timeline_ids[tl],
            agent_ids[a],
            flap_type,
            f"{head}{volume * 100 // denominator:,}{tail}",
            delta / 100,
            direction,
            Decimal(volume) * cent,
            stability / 100,
            spawned,
            ripple,
            founder_yield,
            anchor - second * (FLAP_SPACING_SECONDS * i + w6 % (JITTER_SECONDS + 1)),
        )


_Action = tuple[str, int, str]  # text before the shard count, price denominator (1/10000), text after
_Kind = tuple[str, list[int], int, list[list[_Action]]]  # flap type, deltas, volume multiplier, actions[tl]


def _agent_kinds(ctx: _Context, a: int) -> list[_Kind]:
    """Return agent `a`'s flap kind for each per-mille draw 0..999."""
    archetype = ctx.archetypes[a]
    weights = ARCHETYPE_WEIGHTS[archetype]  # checked by _Context
    whale = archetype == "WHALE"
    table: list[_Kind] = []
    for flap_type, per_mille in weights:
        lo, hi = DELTA_RANGES[flap_type]
        deltas = [_half_even(3 * d, 2) if whale else d for d in range(lo, hi + 1)]
        actions = [
            [_split_action(template, side, ctx, a, tl) for side, template in ACTION_TEMPLATES[flap_type]]
            for tl in range(len(ctx.timeline_ids))
        ]
        table.extend([(flap_type, deltas, 3 if whale else 1, actions)] * per_mille)
    return table


def _split_action(template: str, side: str, ctx: _Context, a: int, tl: int) -> _Action:
    """Format everything but the shard count once, so the hot loop only joins three strings."""
    text = template.format(agent=ctx.agent_names[a], timeline=ctx.timeline_names[tl], shards="\0")
    head, _, tail = text.partition("\0")
    yes = ctx.price_units[tl]
    price = yes if side == "YES" else 10_000 - yes
    return head, max(price, 1), tail


# --- price_history ------------------------------------------------------------------------------------


def _prices(prefix: bytes, total: int, anchor: datetime, ctx: _Context) -> Iterator[tuple[Any, ...]]:
    lo, hi = PRICE_BOUNDS
    vol_lo, vol_span = PRICE_VOLUME_CENTS[0], PRICE_VOLUME_CENTS[1] - PRICE_VOLUME_CENTS[0] + 1
    hour = timedelta(hours=1)
    for timeline_id, current in zip(ctx.timeline_ids, ctx.price_units, strict=True):
        point_prefix = prefix + _field(timeline_id)
        for k in range(total):
            w0, w1 = _WORDS2(blake2b(point_prefix + k.to_bytes(8, "big"), digest_size=16).digest())
            if k == 0:
                yes = current
            else:
                # Independent per point, yet close to the present for recent hours: the spread grows
                # like a random walk's envelope, 50 * sqrt(k) ten-thousandths, capped.
                spread = min(PRICE_SPREAD_MAX, 50 * isqrt(k))
                yes = current + w0 % (2 * spread + 1) - spread
                yes = lo if yes < lo else hi if yes > hi else yes
            yield (
                timeline_id,
                anchor - hour * k,
                yes / 10_000,
                (10_000 - yes) / 10_000,
                Decimal(vol_lo + w1 % vol_span) * _CENT,
            )


# --- helpers ------------------------------------------------------------------------------------------


class _Context:
    """The fixture rows a generator reads, as parallel tuples sorted by id."""

    def __init__(self, context: Mapping[str, Sequence[Mapping[str, object]]], *, need_agents: bool = True) -> None:
        timelines = sorted(_context_rows(context, "timelines"), key=_row_id)
        if len(timelines) < 2:
            raise GeneratorError("context['timelines']: need at least 2 timelines (ripples go to another one)")
        self.timeline_ids = tuple(_row_id(t) for t in timelines)
        self.timeline_names = tuple(_text(t, "name", "timelines") for t in timelines)
        self.stability_units = tuple(_units(t, "stability", 100, 0, 10_000, "timelines") for t in timelines)
        self.price_units = tuple(_units(t, "price_yes", 10_000, 0, 10_000, "timelines") for t in timelines)
        agents = sorted(_context_rows(context, "agents"), key=_row_id) if need_agents else []
        if need_agents and not agents:
            raise GeneratorError("context['agents']: need at least 1 agent")
        self.agent_ids = tuple(_row_id(r) for r in agents)
        self.agent_names = tuple(_text(r, "name", "agents") for r in agents)
        self.archetypes = tuple(_text(r, "archetype", "agents") for r in agents)
        for agent_id, archetype in zip(self.agent_ids, self.archetypes, strict=True):
            if archetype not in ARCHETYPE_WEIGHTS:
                raise GeneratorError(
                    f"agents[{agent_id}]: archetype {archetype!r} has no flap weights;"
                    f" known: {', '.join(sorted(ARCHETYPE_WEIGHTS))}"
                )


def _context_rows(context: Mapping[str, Sequence[Mapping[str, object]]], key: str) -> Sequence[Mapping[str, object]]:
    if key not in context:
        raise GeneratorError(f"context has no {key!r} rows; the generator needs them loaded first")
    return context[key]


def _row_id(row: Mapping[str, object]) -> str:
    value = row.get("id")
    if not isinstance(value, str):
        raise GeneratorError(f"context row {row!r}: id must be a string")
    return value


def _text(row: Mapping[str, object], key: str, where: str) -> str:
    value = row.get(key)
    value = getattr(value, "value", value)  # an Enum member stands for its value
    if not isinstance(value, str):
        raise GeneratorError(f"{where}[{_row_id(row)}].{key}: expected text, got {value!r}")
    return value


def _units(row: Mapping[str, object], key: str, per_unit: int, lo: int, hi: int, where: str) -> int:
    """Return an exact decimal field as an integer count of 1/per_unit, refusing to round."""
    value = row.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise GeneratorError(f"{where}[{_row_id(row)}].{key}: expected a number, got {value!r}")
    # str() of a float is its shortest round-trip decimal, so 45.2 is 4520 hundredths, not 4520.0000000001.
    scaled = Decimal(str(value)) * per_unit
    if not scaled.is_finite() or scaled != scaled.to_integral_value() or not lo <= scaled <= hi:
        raise GeneratorError(
            f"{where}[{_row_id(row)}].{key}: {value!r} is not a multiple of 1/{per_unit}"
            f" within {lo / per_unit}..{hi / per_unit}"
        )
    return int(scaled)


def _field(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(4, "big") + data


def _half_even(numerator: int, denominator: int) -> int:
    """Return numerator / denominator (denominator > 0) rounded half to even, exactly."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


# --- masking: a trader's handle ------------------------------------------------------------------------------

_MOODS = ("Quiet", "Bold", "Lucky", "Rapid", "Patient", "Lunar", "Steady", "Sly", "Brisk", "Calm", "Keen", "Wry")
_BEASTS = ("Heron", "Lynx", "Otter", "Falcon", "Marten", "Ibis", "Badger", "Wren", "Stoat", "Kestrel", "Newt", "Vole")


@register_mask("echelon.handle")
def handle(value: object, draw: Draw) -> str:
    """A username in Echelon's style (QuietHeron42) for `export --mask`; unique columns get a tag appended."""
    return f"{draw.choice(_MOODS)}{draw.choice(_BEASTS)}{draw.integer(10, 99)}"
