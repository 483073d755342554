"""The masking transforms, the key and the leak digests, without a database."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from echelon_seed.errors import ConfigError
from echelon_seed.mask import MaskKey, read_key, transforms
from echelon_seed.mask.leaks import Recorder
from echelon_seed.mask.transforms import Target

KEY = MaskKey(b"transform-test-key-0123456789", "the test")
OTHER = MaskKey(b"transform-test-key-9876543210", "the test")
TEXT = Target("t", "c", "text", length=64)


def bound(rule: str, target: Target = TEXT, key: MaskKey = KEY) -> transforms.Bound:
    return transforms.parse(rule, "test").bind(target, key)


@pytest.mark.parametrize(("low", "high"), [(1, 10), (10, 100), (100, 1000), (1000, 10000)])
def test_permute_is_a_bijection_on_integers_of_each_width(low: int, high: int) -> None:
    permute = bound("permute", Target("t", "id", "int", unique=True))
    outputs = [permute(n) for n in range(low, high)]
    assert sorted(outputs) == list(range(low, high))
    assert outputs != list(range(low, high))
    assert [permute(-n) for n in range(low, low + 5)] == [-o for o in outputs[:5]]


def test_permute_keeps_a_small_integer_within_its_type() -> None:
    permute = bound("permute", Target("t", "id", "int", unique=True, int_max=2**15 - 1))
    outputs = {permute(n) for n in range(10_000, 32_768)}
    assert outputs == set(range(10_000, 32_768))


def test_permute_on_text_keeps_the_shape_and_never_collides() -> None:
    permute = bound("permute", Target("t", "id", "text", length=16, unique=True))
    every = [
        f"{a}{b}-{d}" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "abcdefghijklmnopqrstuvwxyz" for d in range(10)
    ]
    outputs = [permute(v) for v in every]
    assert sorted(outputs) == sorted(every)  # a bijection on the 6,760 values of the shape "Aa-9"
    many = [f"USR_{n:06d}_x" for n in range(20_000)]
    masked = [permute(v) for v in many]
    assert len(set(masked)) == 20_000
    assert all(re.fullmatch(r"[A-Z]{3}_[0-9]{6}_[a-z]", m) for m in masked)
    assert sum(m == v for m, v in zip(masked, many, strict=True)) < 5


def test_permute_on_uuids_is_a_keyed_bijection() -> None:
    permute = bound("permute", Target("t", "id", "uuid", unique=True))
    values = [str(UUID(int=n)) for n in range(2_000)]
    masked = [permute(v) for v in values]
    assert len(set(masked)) == 2_000 and all(UUID(m) for m in masked) and not set(masked) & set(values)


@pytest.mark.parametrize(
    "rule", ["hash", "email", "name", "first_name", "last_name", "phone", "address", "city", "company", "text:40"]
)
def test_a_fake_depends_on_the_value_and_the_key_only(rule: str) -> None:
    values = [f"someone{n}@mail.test" for n in range(50)]
    once = [bound(rule)(v) for v in values]
    again = [bound(rule, Target("other_table", "other_column", "text", length=64))(v) for v in values]
    other = [bound(rule, key=OTHER)(v) for v in values]
    assert once == again
    assert once != other
    assert len(set(once)) > 5
    assert all(isinstance(v, str) and 0 < len(v) <= 64 for v in once)


def test_fakes_look_like_what_they_replace() -> None:
    assert re.fullmatch(r"[a-z]+\.[a-z]+[0-9]{2}@[a-z.]+", bound("email")("a@b.c"))
    assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", bound("name")("Ada Byron"))
    assert re.fullmatch(r"\+1 \([2-9][0-9]{2}\) 555-01[0-9]{2}", bound("phone")("+44 20 7946 0001"))
    assert re.fullmatch(r"[1-9][0-9]* [A-Z][a-z]+ [A-Z][a-z]+", bound("address")("1 Main St"))
    assert len(bound("text:40")("some private words")) <= 40


def test_on_a_unique_column_fakes_carry_a_tag_and_fit_the_column() -> None:
    email = bound("email", Target("users", "email", "text", length=40, unique=True))
    name = bound("name", Target("users", "name", "text", length=30, unique=True))
    emails = [email(f"u{n}@x.test") for n in range(5_000)]
    names = [name(f"user {n}") for n in range(5_000)]
    assert len(set(emails)) == 5_000 and len(set(names)) == 5_000
    assert all(len(e) <= 40 and re.fullmatch(r"[a-z.]*\.[a-z2-7]{10}@[a-z.]+", e) for e in emails)
    assert all(len(n) <= 30 and re.search(r"-[a-z2-7]{10}$", n) for n in names)


def test_a_unique_column_too_short_for_the_tag_is_refused() -> None:
    reason = transforms.parse("name", "test").refusal(Target("users", "code", "text", length=8, unique=True))
    assert reason is not None and "length 8 leaves no room" in reason


def test_date_shifts_by_a_keyed_non_zero_number_of_days_within_the_bound() -> None:
    shift = bound("date:±30", Target("t", "born", "timestamp"))
    start = datetime(1990, 1, 1, tzinfo=UTC)
    moments = [(start + timedelta(hours=7 * n)).isoformat() for n in range(500)]
    deltas = [shift(m) - datetime.fromisoformat(m) for m in moments]
    assert all(timedelta(days=-30) <= d <= timedelta(days=30) and d != timedelta(0) for d in deltas)
    assert all(d.seconds == 0 and d.microseconds == 0 for d in deltas)
    assert len(set(deltas)) > 30
    assert shift(moments[0]) == bound("date:30", Target("x", "y", "timestamp"))(moments[0])


def test_const_and_null_and_keep() -> None:
    assert bound("const:redacted")("secret") == "redacted"
    assert bound("const:0", Target("t", "n", "int"))(42) == 0
    assert bound("null")("secret") is None
    assert bound("keep")("secret") == "secret"
    assert bound("email")(None) is None


def test_malformed_rules_are_refused_with_an_example() -> None:
    for rule, message in [
        ("text", "needs a whole number of characters"),
        ("date:soon", "needs a whole number of days"),
        ("const", "needs its value after a colon"),
        ("email:x", "takes no argument"),
    ]:
        with pytest.raises(ConfigError, match=message):
            transforms.parse(rule, "test")


# --- the key -----------------------------------------------------------------------------------------------


def test_the_key_comes_from_the_environment_or_a_file_and_is_refused_otherwise(tmp_path: Path) -> None:
    secret = "env-key-0123456789-abcdef"
    (tmp_path / "key").write_text(secret + "\n")
    from_env = read_key({"ECHELON_MASK_KEY": secret})
    from_file = read_key({"ECHELON_MASK_KEY_FILE": str(tmp_path / "key")})
    assert bound("email", key=from_env)("a@b.c") == bound("email", key=from_file)("a@b.c")
    with pytest.raises(ConfigError, match="masking needs a key: set \\$ECHELON_MASK_KEY"):
        read_key({})
    with pytest.raises(ConfigError, match="shorter than 16 bytes") as short:
        read_key({"ECHELON_MASK_KEY": "tiny"})
    assert "tiny" not in str(short.value)
    with pytest.raises(ConfigError, match="set only one"):
        read_key({"ECHELON_MASK_KEY": secret, "ECHELON_MASK_KEY_FILE": str(tmp_path / "key")})


def test_the_key_is_never_shown_or_pickled() -> None:
    key = read_key({"ECHELON_MASK_KEY": "do-not-print-me-0123456789"})
    assert "do-not-print" not in repr(key) and "do-not-print" not in str(key) and "do-not-print" not in f"{key!r}"
    with pytest.raises(TypeError):
        pickle.dumps(key)


# --- the leak digests ---------------------------------------------------------------------------------------


def test_an_original_is_found_by_its_words_anywhere_and_only_there() -> None:
    recorder = Recorder(KEY)
    recorder.add("deep@echelon.io", "users.email")
    recorder.add("USR_003", "users.id")
    recorder.add({"note": "Ada Byron", "n": 3}, "users.profile")
    recorder.add("abc", "users.code")  # too short to be evidence: not recorded
    detector = recorder.detector(set())

    assert detector.origin("write to DEEP@Echelon.io today") == "users.email"
    assert detector.origin("POS_USR_003_TL_X") == "users.id"
    assert detector.origin("met ada byron.") == "users.profile"
    assert detector.origin("deep echelon") is None
    assert detector.origin("USR_0031") is None
    assert detector.origin("abc") is None
    assert len(recorder) == 3


def test_the_digest_file_holds_no_value_and_needs_the_same_key(tmp_path: Path) -> None:
    from echelon_seed.mask import Detector

    recorder = Recorder(KEY)
    recorder.add("very private value", "t.c")
    recorder.write(tmp_path / "d", {("t", "id")})
    text = (tmp_path / "d").read_text()
    assert "private" not in text
    assert Detector.read(tmp_path / "d", KEY).origin("a very private value!") == "t.c"
    assert Detector.read(tmp_path / "d", KEY).unscanned == {("t", "id")}
    with pytest.raises(ConfigError, match="another masking key"):
        Detector.read(tmp_path / "d", OTHER)
