"""Scalar conversions for the sender's unstable encodings.

Evolution serialises Baileys int64 fields as a JSON number, a decimal string (up to 2.3.5) or a Long object
``{"low", "high", "unsigned"}`` (2.3.6), and timestamps as epoch seconds, epoch milliseconds or ISO strings.
These helpers never raise: an unreadable value is ``None``, so callers stay total on arbitrary JSON.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

_DECIMAL = re.compile(r"-?[0-9]{1,20}")
_MAX_EPOCH_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant datetime can hold
_UINT32 = 0xFFFFFFFF
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""What ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` builds on every call, built once."""


def compact_json(value: Any) -> str:
    """The one JSON form the hub stores and publishes: compact, UTF-8 text as is (not ``\\u`` escaped)."""
    return _COMPACT.encode(value)


def to_int(value: Any) -> int | None:
    """An int64 in any of the sender's forms; ``None`` for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if _DECIMAL.fullmatch(text) else None
    if isinstance(value, dict):
        return _long_to_int(value)
    return None


def _long_to_int(value: dict[str, Any]) -> int | None:
    """Long.js keeps two signed 32-bit halves; ``unsigned`` says how to read the high one."""
    low, high = value.get("low"), value.get("high")
    if isinstance(low, bool) or isinstance(high, bool) or not isinstance(low, int) or not isinstance(high, int):
        return None
    high &= _UINT32
    if value.get("unsigned") is not True and high > 0x7FFFFFFF:
        high -= 1 << 32
    return (high << 32) | (low & _UINT32)


def from_epoch_seconds(value: Any) -> datetime | None:
    """UTC instant of an epoch-seconds int64; ``None`` for zero (the protobuf default), negatives and overflow."""
    seconds = to_int(value)
    if seconds is None or not 0 < seconds <= _MAX_EPOCH_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def from_epoch_millis(value: Any) -> datetime | None:
    """UTC instant of an epoch-milliseconds int64 (v1 receipts, edit ``timestampMs``)."""
    millis = to_int(value)
    if millis is None or not 0 < millis <= _MAX_EPOCH_SECONDS * 1000:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def from_iso(value: Any) -> datetime | None:
    """UTC instant of an ISO-8601 string that really is UTC (Baileys call ``date``); naive means UTC.

    Never use it on the envelope ``date_time``: that is local time wrongly suffixed ``Z``.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a ``Z``: the one timestamp format the hub emits."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # drop "+00:00"


def utc_days(start: datetime, end: datetime) -> list[str]:
    """The UTC days (``YYYY-MM-DD``) from ``start``'s to ``end``'s: the ``ByTypeDay`` partitions a time range spans."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


def printable(text: str) -> str:
    """``text`` with control characters and lone surrogates made U+FFFD: safe for logs, SNS attributes, DynamoDB."""
    if text.isprintable():  # excludes every character the pattern matches (Cc, Cs, Cn), so nothing to replace
        return text
    return _UNPRINTABLE.sub("\ufffd", text)
