"""What the local hub shows of each request: one row (for the inspector page) and one terminal line.

A row joins the answer the hub gave (only the gateway sees it) with the stored item (its summary is scrubbed
of tokens by the hub, its payload redacted). A rejected request's row holds the answer only: never its path
(the token may be in it) nor its body.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from webhook_hub.record import Item, stored_payload, summary_of

ROW_FIELDS = ("event_id", "event_type", "instance", "direction", "chat", "text", "state", "valid", "reasons")


def answer_of(status: int, body: str) -> dict[str, Any]:
    """The hub's answer, as shown: outcome and event id, or error code and our own reason."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = {}
    if not isinstance(parsed, dict):
        parsed = {}
    if 200 <= status < 300:
        return {"http": status, "status": str(parsed.get("status") or "ok"), "event_id": parsed.get("event_id")}
    return {
        "http": status,
        "error": str(parsed.get("error") or "rejected"),
        "reason": str(parsed.get("reason") or parsed.get("message") or ""),
    }


def event_fields(item: Item) -> dict[str, Any]:
    """The stored item as the inspector shows it."""
    summary = summary_of(item) if "summary" in item else {}
    payload, payload_ref = stored_payload(item) if "payload" in item or "payload_ref" in item else (None, None)
    return {
        "event_id": item["pk"]["S"],
        "event_type": item.get("event_type", {}).get("S", "?"),
        "instance": item.get("instance", {}).get("S"),
        "direction": summary.get("direction"),
        "chat": summary.get("phone_jid") or summary.get("lid") or summary.get("chat_jid"),
        "text": summary.get("text"),
        "state": item.get("state", {}).get("S"),
        "received_at": item.get("received_at", {}).get("S"),
        "valid": item.get("valid", {}).get("BOOL", True),
        "reasons": [reason["S"] for reason in item.get("reasons", {}).get("L", [])],
        "summary": summary,
        "payload": payload,
        "payload_ref": payload_ref,
    }


def describe(row: dict[str, Any]) -> str:
    """One readable line: time, type, instance, direction, chat, text or state, and the answer given."""
    answer = row.get("answer") or {}
    fields: list[str] = [str(row.get("time", ""))]
    if "error" in answer:
        kind = "rejected" if answer["http"] < 500 else "not accepted (the sender retries)"
        reason = f": {answer['reason']}" if answer.get("reason") else ""
        return "  ".join([*fields, kind, f"{answer['http']} {answer['error']}{reason}"])
    summary = row.get("summary") or {}
    fields += [str(row.get("event_type") or "?"), str(row.get("instance") or "-")]
    fields += [str(value) for value in (row.get("direction"), row.get("chat")) if value]
    what = row.get("text") or summary.get("status") or summary.get("state") or summary.get("message_kind")
    if what:
        fields.append(json.dumps(what, ensure_ascii=False) if row.get("text") else str(what))
    outcome = str(answer.get("status") or row.get("state") or "")
    if not row.get("valid", True):
        outcome += " (" + "; ".join(row.get("reasons") or []) + ")"
    if row.get("replay_of") is not None:
        outcome += f" (sent again from #{row['replay_of']})"
    fields.append(outcome)
    return "  ".join(field for field in fields if field)


def clock(now: datetime) -> str:
    return f"{now:%H:%M:%S}"
