"""Deduplication keys: one key per real-world event, whatever the path it took to reach us.

The sender duplicates a lot: up to 10 retries, the same event through the instance's and the global webhook
(which differ only in ``destination``, ``apikey``, ``date_time`` and sometimes ``sender``/``server_url``), an API
send reported again as a ``fromMe`` upsert. So keys are built from what identifies the event inside ``data``,
never from those envelope fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .values import to_int

MAX_KEY_LENGTH = 1024
"""Longer keys (only absurd instance names or ids make them) are replaced by their hash."""

_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

Rule = Callable[[str, Mapping[str, Any], Mapping[str, Any]], str | None]
"""(instance, parsed body, summary) -> key, or ``None`` when the ids it needs are missing."""


def dedup_key(event_name: str, instance: str | None, payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    """The event's key: by message/call id where there is one, else by content and the sender's minute."""
    rule = _RULES.get(event_name)
    key = rule(instance or "", payload, summary) if rule else None
    if key is None:
        key = content_key(event_name, instance, payload)
    if len(key) > MAX_KEY_LENGTH:
        key = "sha256|" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def event_id(key: str) -> str:
    """A compact, uniformly distributed id for a dedup key (the storage key)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_key(event_name: str, instance: str | None, payload: Mapping[str, Any]) -> str:
    """Key of an event without ids: its canonical ``data`` and the minute of the sender's ``date_time``.

    Id-less events repeat with identical data (``connecting`` after every reconnect), so the sender's minute is
    what keeps genuinely new ones apart, while a retry carries the identical body. Limitation: the local and the
    global copy of one event stamp ``date_time`` separately; when those stamps straddle a minute boundary, the
    copies get different keys and both are published. Two identical events within one minute collapse into one.
    """
    canonical = json.dumps(payload.get("data"), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    return f"{event_name}|{instance or ''}|{digest}|{_minute(payload.get('date_time'))}"


def _minute(date_time: Any) -> str:
    """``date_time`` floored to the minute; the raw string when it is not ISO-like; empty when absent."""
    if not isinstance(date_time, str):
        return ""
    match = _MINUTE.match(date_time)
    return match.group() if match else date_time


def _message_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    """An API send and its later ``fromMe`` upsert collapse: same key space, chat by phone when known."""
    message_id = summary.get("message_id")
    chat = summary.get("phone_jid") or summary.get("chat_jid")
    return f"msg|{instance}|{chat}|{message_id}" if message_id and chat else None


def _status_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    message_id, status = summary.get("message_id"), summary.get("status")
    return f"status|{instance}|{message_id}|{status}" if message_id and status else None


def _delete_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    message_id = summary.get("message_id")
    return f"delete|{instance}|{message_id}" if message_id else None


def _edit_rule(instance: str, payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    message_id = summary.get("message_id")
    data = payload.get("data")
    stamp = to_int(data.get("timestampMs")) if isinstance(data, dict) else None
    return f"edit|{instance}|{message_id}|{'' if stamp is None else stamp}" if message_id else None


def _call_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    call_id, status = summary.get("call_id"), summary.get("status")
    return f"call|{instance}|{call_id}|{status}" if call_id and status else None


_RULES: Mapping[str, Rule] = MappingProxyType(
    {
        "messages.upsert": _message_rule,
        "send.message": _message_rule,
        "messages.update": _status_rule,
        "messages.delete": _delete_rule,
        "messages.edited": _edit_rule,
        "send.message.update": _edit_rule,
        "call": _call_rule,
    }
)
"""Events with their own ids; the rest use ``content_key``. ``messages.set`` items are not keyed one by one."""
