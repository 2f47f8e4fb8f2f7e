"""The webhooks the benchmarks send: the sample bodies as API Gateway HTTP API events, plus a few built ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from webhook_hub_cli.apigw import http_api_event

BODIES = Path(__file__).resolve().parents[1] / "events" / "bodies"
TEXT_MESSAGE = "messages-upsert"
"""The headline: an inbound text message, the event users receive most."""
LARGE_BODY_BYTES = 300_000
"""Above the 200 KB inline limit: the redacted body goes to S3 (media sent with "Webhook base64" on)."""
HEADERS = {"content-type": "application/json", "user-agent": "axios/1.7.9", "host": "bench.local"}


def sample_names() -> list[str]:
    """Every sample body, one or more per event type (not the reference captures)."""
    return sorted(path.stem for path in BODIES.glob("*.json"))


def body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((BODIES / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def large_body() -> dict[str, Any]:
    """An image message with its media inline as base64, grown past the inline limit."""
    grown = body("messages-upsert-image")
    grown["data"]["key"]["id"] = "BENCHLARGE0000000000000000000001"
    grown["data"]["message"]["base64"] = "QkVOQ0g" * (LARGE_BODY_BYTES // 7)
    return grown


def unclassified_body() -> dict[str, Any]:
    """An event name no known version emits (version drift): stored and published as unclassified."""
    unknown = body("messages-upsert")
    unknown["event"] = "messages.future-thing"
    return unknown


def with_message_id(document: dict[str, Any], message_id: str) -> dict[str, Any]:
    """The same message under another id: a new event for deduplication (messages are keyed by id)."""
    changed = copy.deepcopy(document)
    changed["data"]["key"]["id"] = message_id
    return changed


def raw(document: dict[str, Any]) -> bytes:
    """As Evolution sends it: ``JSON.stringify`` output, compact, UTF-8."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_event(token: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
    """``POST /webhook/<token>`` as API Gateway hands it to the function."""
    data = payload if isinstance(payload, bytes) else raw(payload)
    event = http_api_event("POST", f"/webhook/{token}", HEADERS.items(), data)
    if event is None:
        raise RuntimeError("the template has no POST /webhook/{proxy+} route")
    return event
