"""Deduplication keys: one key per real-world event, whatever the path it took to reach us.

The sender duplicates a lot: up to 10 retries and the same event through the instance's and the global webhook
(one object in 2.x, byte-identical; in 1.x the copies differ in ``destination`` and ``apikey``), and an API send is
reported again as a ``fromMe`` upsert. So keys are built from what identifies the event inside ``data``, plus, for
events without an id, the sender's ``date_time``: built once per event and shared by every retry and both copies
(contract §5.1), it tells a real second change of the same state from a redelivery.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from .values import to_int

MAX_KEY_LENGTH = 1024
"""Longer keys (only absurd instance names or ids make them) are replaced by their hash."""

Rule = Callable[[str, Mapping[str, Any], Mapping[str, Any]], str | None]
"""(instance, parsed body, summary) -> key, or ``None`` when the ids it needs are missing."""


def dedup_key(
    event_name: str,
    instance: str | None,
    payload: Mapping[str, Any],
    summary: Mapping[str, Any],
    delivery_id: str | None = None,
) -> str:
    """The event's key: by message/call id where there is one, else by content and the sender's ``date_time``.

    ``delivery_id`` (API Gateway's request id) keys an id-less body that has no ``date_time`` (v1.4/1.5 senders):
    nothing then tells a redelivery from a second identical change, and those senders never retry, so each
    delivery is its own event; two distinct events are never merged.
    """
    rule = _RULES.get(event_name)
    key = rule(instance or "", payload, summary) if rule else None
    if key is None:
        key = content_key(event_name, instance, payload, delivery_id)
    if len(key) > MAX_KEY_LENGTH:
        key = "sha256|" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def event_id(key: str) -> str:
    """A compact, uniformly distributed id for a dedup key (the storage key)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_key(
    event_name: str, instance: str | None, payload: Mapping[str, Any], delivery_id: str | None = None
) -> str:
    """Key of an event without ids: its canonical ``data`` and the sender's exact ``date_time``.

    Id-less events repeat with identical data (labels added, removed and added again; ``composing`` after
    ``paused``; ``close`` after ``open``), so the millisecond ``date_time`` is what keeps each change apart, while
    a retry and the other webhook's copy carry the same one. Without a ``date_time`` the key takes
    ``delivery_id`` (see ``dedup_key``), or nothing when the caller has none (offline classification).
    """
    canonical = json.dumps(payload.get("data"), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    digest = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    return f"{event_name}|{instance or ''}|{digest}|{_moment(payload.get('date_time'), delivery_id)}"


def _moment(date_time: Any, delivery_id: str | None) -> str:
    """The sender's ``date_time`` as JSON (any type it sends), or the delivery's own id when it sent none."""
    if date_time is None:
        return f"delivery:{delivery_id}" if delivery_id else ""
    return json.dumps(date_time, sort_keys=True, ensure_ascii=True)


def _chat(summary: Mapping[str, Any]) -> Any:
    """The chat a message id belongs to (ids are unique per chat only), by phone when known."""
    return summary.get("phone_jid") or summary.get("chat_jid")


def _message_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    """An API send and its later ``fromMe`` upsert collapse: same key space, chat by phone when known."""
    message_id, chat = summary.get("message_id"), _chat(summary)
    return f"msg|{instance}|{chat}|{message_id}" if message_id and chat else None


def _status_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    message_id, status, chat = summary.get("message_id"), summary.get("status"), _chat(summary)
    return f"status|{instance}|{chat}|{message_id}|{status}" if message_id and status and chat else None


def _delete_rule(instance: str, _payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    message_id, chat = summary.get("message_id"), _chat(summary)
    return f"delete|{instance}|{chat}|{message_id}" if message_id and chat else None


def _edit_rule(instance: str, payload: Mapping[str, Any], summary: Mapping[str, Any]) -> str | None:
    """An edit and a revoke (or another protocol message) of one message are apart, and so is each new edit."""
    message_id, chat = summary.get("message_id"), _chat(summary)
    data = payload.get("data")
    stamp = to_int(data.get("timestampMs")) if isinstance(data, dict) else None
    if not (message_id and chat) or stamp is None:
        return None
    action = summary.get("message_kind") if summary.get("message_kind") == "edit" else summary.get("protocol_type")
    return f"edit|{instance}|{chat}|{message_id}|{action}|{stamp}"


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
