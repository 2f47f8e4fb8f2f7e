"""The notification: the versioned JSON document every subscriber receives, and its SNS message attributes.

``Notification`` is the published contract (its JSON Schema is exported to ``docs/``, and subscribers may parse
with it); ``build_notification`` produces the same document as a plain dict without constructing the model,
because it runs on every event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .classify import Classification
from .values import compact_json, iso_utc, printable

NOTIFICATION_VERSION = "1"

MAX_ATTRIBUTE_LENGTH = 256
SUMMARY_ATTRIBUTES = ("direction", "chat_type", "message_kind", "status")
"""Summary facts copied into attributes so SNS filter policies can route on them (SNS allows 10 attributes)."""


class PayloadRef(BaseModel):
    """Where a body too large to publish inline was stored."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    bucket: str
    key: str
    size: int
    sha256: str


class Notification(BaseModel):
    """Document published to the event type's topic; exactly one of ``payload`` / ``payload_ref`` is set."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    version: Literal["1"]
    event_id: str
    event_type: str
    known: bool
    valid: bool
    reasons: list[str]
    instance: str | None
    topic_key: str
    received_at: datetime
    occurred_at: datetime | None
    summary: dict[str, Any]
    payload: Any | None
    """The redacted body."""
    payload_ref: PayloadRef | None


def build_notification(
    c: Classification,
    *,
    received_at: datetime,
    payload: Any | None,
    payload_ref: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The notification as a JSON-able dict; ``payload`` must already be redacted by the caller."""
    if (payload is None) == (payload_ref is None):
        raise ValueError("exactly one of payload and payload_ref must be given")
    return {
        "version": NOTIFICATION_VERSION,
        "event_id": c.event_id,
        "event_type": c.event_type,
        "known": c.known,
        "valid": c.valid,
        "reasons": list(c.reasons),
        "instance": c.instance,
        "topic_key": c.topic_key,
        "received_at": iso_utc(received_at),
        "occurred_at": None if c.occurred_at is None else iso_utc(c.occurred_at),
        "summary": c.summary,
        "payload": payload,
        "payload_ref": None
        if payload_ref is None
        else {
            "bucket": payload_ref["bucket"],
            "key": payload_ref["key"],
            "size": payload_ref["size"],
            "sha256": payload_ref["sha256"],
        },
    }


def sns_message(notification: str, mail: str) -> str:
    """The message SNS gets with ``MessageStructure=json``: e-mail endpoints get ``mail``, every other protocol
    (SQS, Lambda, HTTP, ``email-json``) the notification unchanged. SNS's 256 KB limit is on this text, in which the
    notification is a JSON string: its quotes and backslashes count twice."""
    return compact_json({"default": notification, "email": mail})


def message_attributes(c: Classification) -> dict[str, str]:
    """SNS ``String`` attributes for filter policies: non-empty, at most 256 printable characters each."""
    attributes = {"event_type": c.event_type, "topic_key": c.topic_key, "valid": "true" if c.valid else "false"}
    if c.instance:
        attributes["instance"] = c.instance
    for name in SUMMARY_ATTRIBUTES:
        value = c.summary.get(name)
        if isinstance(value, str) and value:
            attributes[name] = value
    needs_qr_scan = c.summary.get("needs_qr_scan")
    if isinstance(needs_qr_scan, bool):
        attributes["needs_qr_scan"] = "true" if needs_qr_scan else "false"
    return {name: printable(value[:MAX_ATTRIBUTE_LENGTH]) for name, value in attributes.items()}


def notification_json_schema() -> dict[str, Any]:
    """JSON Schema of the notification, for ``docs/`` and for subscribers in other languages."""
    schema = Notification.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
