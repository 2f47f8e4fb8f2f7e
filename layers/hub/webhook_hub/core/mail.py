"""The short human text e-mail subscribers get instead of the notification document.

Built from the classification's head fields and its summary only, never from the payload: the summary is bounded
and already scrubbed of secrets (no API key, JWT, QR code; live tokens removed by the ingest path), so the text is
too. Pure and deterministic, because the first delivery and every later rebuild must produce the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .classify import Classification
from .values import iso_utc, printable

MAIL_TEXT_LIMIT = 500
"""Characters of a message's text quoted in the mail; the document has the whole (capped) text."""
SHOW_COMMAND = "webhook-hub show {event_id}"

_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "messages.upsert": "WhatsApp message",
        "send.message": "Message sent through the API",
        "messages.update": "Message status changed",
        "messages.edited": "Message edited",
        "send.message.update": "Sent message changed",
        "messages.delete": "Message deleted",
        "messages.set": "Message history synchronised",
        "connection.update": "Connection state changed",
        "status.instance": "Instance status changed",
        "qrcode.updated": "New QR code to scan",
        "call": "WhatsApp call",
        "group-participants.update": "Group participants changed",
        "error": "Error reported by the WhatsApp server",
        "logout.instance": "Instance logged out",
        "remove.instance": "Instance removed",
    }
)

_FACTS = (
    ("chat_jid", "Chat"),
    ("group_jid", "Group"),
    ("push_name", "From"),
    ("from", "From"),
    ("participant", "Participant"),
    ("message_kind", "Kind"),
    ("state", "State"),
    ("status", "Status"),
    ("reason", "Reason code"),
    ("action", "Action"),
    ("error", "Error"),
    ("message", "Message"),
    ("count", "Count"),
)
"""Summary facts quoted in the mail, in this order, when the event has them."""


SUBJECT_LIMIT = 99
"""SNS refuses an e-mail subject of 100 characters or more."""


def mail_title(c: Classification) -> str:
    """What happened, in a few words: the mail's first line."""
    title = _TITLES.get(c.event_type, f"Event {c.event_type}")
    direction = c.summary.get("direction")
    if c.event_type == "messages.upsert" and direction in ("inbound", "outbound"):
        title += " received" if direction == "inbound" else " sent"
    if not c.valid:
        title += " (unclassified)"
    return title


def mail_text(c: Classification, *, received_at: datetime) -> str:
    """The e-mail of one event: what happened, instance, chat, text or state, time, and how to see all of it."""
    lines = [mail_title(c), "", f"Instance: {_value(c.instance or '(none)')}"]
    summary = c.summary
    for name, label in _FACTS:
        value = summary.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            lines.append(f"{label}: {_value(value)}")
    text = summary.get("text")
    if isinstance(text, str) and text:
        quoted = text if len(text) <= MAIL_TEXT_LIMIT else text[:MAIL_TEXT_LIMIT] + "…"
        lines.append(f"Text: {_value(quoted, keep_newlines=True)}")
    if summary.get("needs_qr_scan") is True:
        lines.append("The session is gone: connect the instance again by scanning a new QR code in the Manager.")
    occurred = c.occurred_at
    lines.append(f"Time: {iso_utc(occurred if occurred is not None else received_at)}")
    if occurred is not None:
        lines.append(f"Received: {iso_utc(received_at)}")
    lines.append(f"Event type: {c.event_type}")
    if c.reasons:
        lines.append(f"Why unclassified: {_value(c.reasons[0])}")
    lines += ["", "See the whole event:", f"  {SHOW_COMMAND.format(event_id=c.event_id)}", ""]
    return "\n".join(lines)


def mail_subject(c: Classification) -> str:
    """The e-mail's subject: what happened and the instance."""
    instance = f" ({c.instance})" if c.instance else ""
    return subject_line(f"Webhook Hub: {mail_title(c)}{instance}")


def subject_line(text: str) -> str:
    """An SNS e-mail subject: ASCII without control characters, under 100 characters."""
    cleaned = printable(text).encode("ascii", "replace").decode()
    return cleaned if len(cleaned) <= SUBJECT_LIMIT else cleaned[: SUBJECT_LIMIT - 3] + "..."


def _value(value: Any, *, keep_newlines: bool = False) -> str:
    """One printable value; a message's own line breaks are kept, indented under its label."""
    text = str(value)
    if keep_newlines:
        return "\n  ".join(printable(line) for line in text.splitlines()) or printable(text)
    return printable(text)
