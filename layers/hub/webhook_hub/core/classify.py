"""Classification: one raw webhook body in, everything the pipeline decides on out.

Only a body that cannot be an event at all is rejected (not JSON, not an object, no ``event``). Anything else
is classified, never raised on: an unknown event name or a body that fails its model is kept, marked invalid with
its reasons and routed to the unclassified topic, because the sender drops events we answer with a 4xx and
unknown events are a normal part of its version drift.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from .catalog import UNCLASSIFIED_TOPIC_KEY, EventType, lookup
from .dedup import dedup_key, event_id
from .models import envelope_model
from .summary import summarize
from .values import printable

RejectReason = Literal["not_json", "not_object", "no_event"]

UNKNOWN_SUFFIX_NOTE = "URL suffix names no known event"
"""The summary's ``suffix_mismatch`` for a suffix naming no event: never the suffix itself (an old token?)."""
MAX_REASONS = 10
MAX_REASON_LENGTH = 200
MAX_EVENT_NAME_LENGTH = 100
_DETAIL_LENGTH = 80
_LOCATION_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_\[\]]{0,63}")
"""Field names and pydantic's union tags; other location parts are dict keys taken from the body (JIDs...)."""


class RejectedBody(ValueError):
    """Body that cannot be an event: not JSON, not a JSON object, or no string ``event``."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason
        """Machine code."""
        self.detail = detail
        """One human line; never a secret, never more than 80 characters of the body."""


@dataclass(frozen=True, slots=True)
class Classification:
    """What the pipeline needs to store, route and deduplicate one event."""

    event_type: str
    """Canonical catalog name; for an unknown event the sender's name, lower case, at most 100 characters."""
    known: bool
    topic_key: str
    """The type's topic key, or the unclassified one when the event is unknown or invalid."""
    valid: bool
    reasons: tuple[str, ...]
    """Why the event is unclassified: locations and messages only, never values."""
    instance: str | None
    dedup_key: str
    """Empty in a classification rebuilt from a stored item, which keeps only its hash (``event_id``)."""
    event_id: str
    occurred_at: datetime | None
    """When it happened per WhatsApp (UTC); never taken from the envelope's mislabelled ``date_time``."""
    summary: dict[str, Any]
    payload: dict[str, Any]
    """The parsed body as received: NOT redacted."""


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError("number out of range")
    return number


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)
"""Strict JSON: NaN and infinities would make the stored and published documents invalid JSON."""


def classify(body: bytes | str, suffix: str | None = None, delivery_id: str | None = None) -> Classification:
    """Classify a raw body; ``suffix`` is the by-events URL suffix, if any. The body's ``event`` wins over it.

    ``delivery_id`` keys an id-less body without ``date_time`` (``dedup.dedup_key``). Raises ``RejectedBody``
    and nothing else.
    """
    try:
        return _classify(_parse(body), suffix, delivery_id)
    except RecursionError:
        raise RejectedBody("not_json", "JSON nesting too deep") from None


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _parse(body: bytes | str) -> Any:
    try:
        text = body if isinstance(body, str) else body.decode("utf-8")
        parsed = _DECODER.decode(text)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, integer digit limit, non-finite numbers
        raise RejectedBody("not_json", f"not valid JSON: {str(error)[:_DETAIL_LENGTH]}") from None
    return _replace_lone_surrogates(parsed) if _SURROGATE_ESCAPE.search(text) else parsed


def _clean(text: str) -> str:
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _replace_lone_surrogates(value: Any) -> Any:
    """JSON may escape half an emoji (a text cut mid-pair); such a string cannot be stored or sent as UTF-8."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(element) for element in value]
    if isinstance(value, dict):
        return {_clean(key): _replace_lone_surrogates(element) for key, element in value.items()}
    return value


def _classify(payload: Any, suffix: str | None, delivery_id: str | None) -> Classification:
    if not isinstance(payload, dict):
        raise RejectedBody("not_object", f"a JSON {_json_kind(payload)} is not an event object")
    raw_event = payload.get("event")
    if not isinstance(raw_event, str) or not raw_event.strip():
        raise RejectedBody("no_event", "the JSON object has no non-empty string 'event'")
    event_type = lookup(raw_event)
    name = event_type.name if event_type else printable(raw_event.strip().lower()[:MAX_EVENT_NAME_LENGTH])
    reasons = _validate(event_type, payload)
    if event_type is None:
        reasons = (f"unknown event {name!r}"[:MAX_REASON_LENGTH], *reasons[: MAX_REASONS - 1])
    valid = not reasons
    instance = payload.get("instance")
    instance = instance if isinstance(instance, str) else None
    summary, occurred_at = summarize(name, payload)
    mismatch = _suffix_mismatch(suffix, event_type, name)
    if mismatch:
        summary["suffix_mismatch"] = mismatch
    key = dedup_key(name, instance, payload, summary, delivery_id)
    return Classification(
        event_type=name,
        known=event_type is not None,
        topic_key=event_type.topic_key if event_type is not None and valid else UNCLASSIFIED_TOPIC_KEY,
        valid=valid,
        reasons=reasons,
        instance=instance,
        dedup_key=key,
        event_id=event_id(key),
        occurred_at=occurred_at,
        summary=summary,
        payload=payload,
    )


def _validate(event_type: EventType | None, payload: dict[str, Any]) -> tuple[str, ...]:
    """Problems of the body under its event's model (the plain envelope for unknown events)."""
    try:
        envelope_model(event_type.name if event_type else None).model_validate(payload)
    except ValidationError as error:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        return tuple(
            f"{_location(detail['loc'])}: {detail['msg']}"[:MAX_REASON_LENGTH] for detail in details[:MAX_REASONS]
        )
    return ()


def _location(parts: tuple[int | str, ...]) -> str:
    """Dotted error location; parts that are keys from the body (a JID, a token) become ``*``."""
    return ".".join(str(part) if isinstance(part, int) or _LOCATION_PART.fullmatch(part) else "*" for part in parts)


def _suffix_mismatch(suffix: str | None, event_type: EventType | None, name: str) -> str | None:
    """A note when the URL suffix disagrees with the body; informative only, the body decides.

    Only catalog names are quoted: a suffix that names no event may be anything the sender's URL held, an old
    token left behind when the user switched to header auth among them, and must not be stored or published.
    """
    cleaned = (suffix or "").strip().strip("/")
    if not cleaned:
        return None
    named = lookup(cleaned)
    if named is None:
        return UNKNOWN_SUFFIX_NOTE
    if named is not event_type:
        return f"URL suffix names {named.name!r} but body says {name!r}"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "boolean" if isinstance(value, bool) else "number"
