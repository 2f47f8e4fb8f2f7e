"""Scalar conversions: int64 in its three wire forms, epochs and ISO strings, never raising."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook_hub.core.values import (
    from_epoch_millis,
    from_epoch_seconds,
    from_iso,
    iso_utc,
    printable,
    to_int,
    utc_days,
)

NEW_YEAR_NOON = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NEW_YEAR_NOON_EPOCH = 1767268800


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (270, 270),
        (-3, -3),
        ("270", 270),
        (" 1767268800 ", 1767268800),
        ("-42", -42),
        (1767268800.0, 1767268800),
        ({"low": 1767268800, "high": 0, "unsigned": False}, 1767268800),
        ({"low": 0, "high": 1}, 1 << 32),
        ({"low": -1, "high": -1, "unsigned": False}, -1),
        ({"low": -1, "high": -1, "unsigned": True}, (1 << 64) - 1),
        ({"low": 1, "high": 2147483648}, -(1 << 63) + 1),
        (1.5, None),
        (True, None),
        (None, None),
        ("1_000", None),
        ("\u0661\u0662", None),
        ("12abc", None),
        ("9" * 21, None),
        ({"low": "1", "high": 0}, None),
        ({"low": 1}, None),
        ({"low": True, "high": 0}, None),
        ([1], None),
    ],
)
def test_to_int(value: Any, expected: int | None) -> None:
    assert to_int(value) == expected


@pytest.mark.parametrize(
    "value",
    [NEW_YEAR_NOON_EPOCH, str(NEW_YEAR_NOON_EPOCH), {"low": NEW_YEAR_NOON_EPOCH, "high": 0, "unsigned": True}],
)
def test_epoch_seconds_in_every_int64_form(value: Any) -> None:
    assert from_epoch_seconds(value) == NEW_YEAR_NOON


@pytest.mark.parametrize("value", [0, -1, 10**13, "soon", None, 1.5])
def test_epoch_seconds_out_of_range_or_unreadable(value: Any) -> None:
    assert from_epoch_seconds(value) is None


def test_epoch_millis() -> None:
    assert from_epoch_millis(1767269030123) == datetime(2026, 1, 1, 12, 3, 50, 123000, tzinfo=UTC)
    assert from_epoch_millis("1767269460000") == datetime(2026, 1, 1, 12, 11, tzinfo=UTC)
    assert from_epoch_millis(10**17) is None
    assert from_epoch_millis(0) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T12:05:00.000Z", datetime(2026, 1, 1, 12, 5, tzinfo=UTC)),
        ("2026-01-01T09:05:00-03:00", datetime(2026, 1, 1, 12, 5, tzinfo=UTC)),
        ("2026-01-01T12:05:00", datetime(2026, 1, 1, 12, 5, tzinfo=UTC)),
        ("yesterday", None),
        ("0001-01-01T00:00:00+01:00", None),
        (1767268800, None),
    ],
)
def test_from_iso(value: Any, expected: datetime | None) -> None:
    assert from_iso(value) == expected


def test_iso_utc_is_millisecond_z() -> None:
    assert iso_utc(NEW_YEAR_NOON) == "2026-01-01T12:00:00.000Z"
    sao_paulo = timezone(timedelta(hours=-3))
    assert iso_utc(datetime(2026, 1, 1, 9, 0, 0, 123456, tzinfo=sao_paulo)) == "2026-01-01T12:00:00.123Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        iso_utc(datetime(2026, 1, 1))


def test_printable_replaces_controls_and_lone_surrogates() -> None:
    assert printable("ok.name") == "ok.name"
    assert printable("a\x00b\nc\ud800") == "a\ufffdb\ufffdc\ufffd"
    assert printable("\ufffe\x7f é\u2028") == "\ufffd\ufffd é\u2028"


@settings(max_examples=400, deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_printable_replaces_exactly_controls_surrogates_and_nonchars(text: str) -> None:
    unsafe = {chr(code) for code in (*range(0x20), 0x7F, *range(0xD800, 0xE000), 0xFFFE, 0xFFFF)}
    assert printable(text) == "".join("\ufffd" if char in unsafe else char for char in text)


def test_utc_days_lists_every_day_a_range_touches_in_utc() -> None:
    late = datetime(2026, 1, 1, 23, 59, 30, tzinfo=UTC)
    assert utc_days(late, late) == ["2026-01-01"]
    assert utc_days(late, datetime(2026, 1, 3, 0, 0, 1, tzinfo=UTC)) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    brasilia = timezone(timedelta(hours=-3))
    assert utc_days(datetime(2026, 1, 1, 22, 0, tzinfo=brasilia), late.replace(day=2)) == ["2026-01-02"]
