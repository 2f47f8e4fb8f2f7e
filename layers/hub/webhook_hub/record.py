"""The DynamoDB item of one event: its keys, the index keys of each access pattern, and its size.

Pure (no AWS import): the item is built in DynamoDB's attribute-value format so its size can be
counted exactly against the 400 KB limit before it is written.

Access patterns, one index each (see docs/data-model.md):
- the event itself, by ``pk`` = event id (the hash of the dedup key): the conditional write;
- ``ByInstance``: events of one instance in time order (``instance_pk``, ``received_at``);
- ``ByTypeDay``: events of one type in a time range, for replay and for the recovery sweep's check of recent
  events (``type_day``, ``received_at``);
- ``ByMessage``: everything about one WhatsApp message, reactions to it included (``message_pk``, ``received_at``);
- ``Pending``: events the recovery sweep must publish (``pending`` = one of ``PENDING_SHARDS`` shard values,
  ``sweep_at`` = when it may next try), and failed events (``pending`` = ``failed``). An event enters it only when
  a delivery did not finish it (a failed publish, a redelivery's or the sweep's claim, or the sweep found it
  unpublished), so the common event, published by its first delivery, never writes it.

DynamoDB bills a write per started KB of the item, so the two large texts are stored compressed (raw DEFLATE):
``summary`` alone, and ``payload`` with the summary's text as its preset dictionary (the summary quotes the body).
A new text message then fits one KB before and after it is marked published.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from webhook_hub.core.classify import Classification
from webhook_hub.core.values import compact_json, from_iso, iso_utc

STATE_STORED = "stored"
STATE_PUBLISHED = "published"
STATE_FAILED = "failed"
"""The recovery sweep gave up after ``RECOVERY_MAX_ATTEMPTS``: counted, alarmed, listed, replayable."""
PENDING_SHARDS = 8
"""One ``Pending`` key value takes ~1,000 writes/s and every event writes and deletes its entry (~500 events/s);
eight shards lift that ceiling to ~4,000 events/s (docs/performance.md), and the sweep reads them in parallel."""
FAILED_PARTITION = STATE_FAILED
"""The ``pending`` value of failed events: their own partition of the index, which the sweep never reads."""
NO_INSTANCE = "(none)"

KEY_PART_LIMIT = 512
"""Index keys are capped well below DynamoDB's 2 KB key limit; a hostile instance name cannot break the write."""

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]


def key_part(value: str) -> str:
    """The value itself, or for an oversized one a prefix plus its hash (still unique, still readable)."""
    if len(value.encode()) <= KEY_PART_LIMIT:
        return value
    return value[:128] + "#" + hashlib.sha256(value.encode()).hexdigest()


def pending_shard(event_id: str) -> str:
    """The event's ``Pending`` partition: spread by its (uniformly distributed) id, the same on every write."""
    return str(int(event_id[:8], 16) % PENDING_SHARDS)


def compress(text: str, dictionary: str = "") -> bytes:
    """Raw DEFLATE (no header: every byte is billed) of ``text``, primed with ``dictionary``."""
    if dictionary:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=dictionary.encode())
    else:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(text.encode()) + packer.flush()


def decompress(data: bytes, dictionary: str = "") -> str:
    unpacker = zlib.decompressobj(-15, zdict=dictionary.encode()) if dictionary else zlib.decompressobj(-15)
    return (unpacker.decompress(data) + unpacker.flush()).decode()


def summary_json_of(item: Item) -> str:
    """The summary's compact JSON, from an item or from any index entry (every index projects it); an item written
    before the texts were compressed holds it as text."""
    stored = item["summary"]
    return str(stored["S"]) if "S" in stored else decompress(stored["B"])


def summary_of(item: Item) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(summary_json_of(item))
    return summary


def payload_json_of(item: Item) -> str | None:
    """The redacted payload's compact JSON when it is stored inline, else ``None`` (it is in S3)."""
    if "payload" not in item:
        return None
    stored = item["payload"]
    return str(stored["S"]) if "S" in stored else decompress(stored["B"], summary_json_of(item))


def item_text(item: Item) -> str:
    """The item as JSON text, its compressed attributes decoded: what ``webhook-hub show --item`` prints, and what a
    check for leaked secrets must read (a secret inside compressed bytes is not visible as text)."""
    readable: dict[str, Any] = {name: value for name, value in item.items() if name not in ("summary", "payload")}
    readable["summary"] = {"json": summary_json_of(item)}
    payload_json = payload_json_of(item)
    if payload_json is not None:
        readable["payload"] = {"json": payload_json}
    return json.dumps(readable, ensure_ascii=False, sort_keys=True)


def build_item(
    classification: Classification,
    *,
    received_at: datetime,
    payload_json: str | None,
    payload_ref: Mapping[str, Any] | None,
    lease_until: int,
    sweep_at: int,
    retention_days: int,
    request_id: str | None = None,
) -> Item:
    """The item as first written: state ``stored``, publish lease held, one attempt.

    It is in ``Pending`` (due at ``sweep_at``) from the start only when its type is not in the catalog: the sweep's
    check of recent events reads the catalog's ``ByTypeDay`` partitions, and cannot find an unknown type's.
    ``request_id`` (API Gateway's) tells the writer its own write when botocore retried a ``PutItem`` whose answer
    was lost.
    """
    received = iso_utc(received_at)
    summary = compact_json(classification.summary)
    item: Item = {
        "pk": {"S": classification.event_id},
        "event_type": {"S": classification.event_type},
        "topic_key": {"S": classification.topic_key},
        "known": {"BOOL": classification.known},
        "valid": {"BOOL": classification.valid},
        "received_at": {"S": received},
        "instance_pk": {"S": key_part(classification.instance or NO_INSTANCE)},
        "type_day": {"S": key_part(f"{classification.event_type}#{received[:10]}")},
        "summary": {"B": compress(summary)},
        "state": {"S": STATE_STORED},
        "lease_until": {"N": str(lease_until)},
        "attempts": {"N": "1"},
        "expires_at": {"N": str(int(received_at.timestamp()) + retention_days * 86_400)},
    }
    if not classification.known:
        item["pending"] = {"S": pending_shard(classification.event_id)}
        item["sweep_at"] = {"N": str(sweep_at)}
    if request_id is not None:
        item["request_id"] = {"S": key_part(request_id)}
    if classification.instance is not None:
        item["instance"] = {"S": key_part(classification.instance)}
    if classification.reasons:
        item["reasons"] = {"L": [{"S": reason} for reason in classification.reasons]}
    if classification.occurred_at is not None:
        item["occurred_at"] = {"S": iso_utc(classification.occurred_at)}
    # A reaction is indexed under the message it reacts to: that message's timeline shows it.
    message_id = classification.summary.get("reacted_message_id") or classification.summary.get("message_id")
    if isinstance(message_id, str) and message_id:
        item["message_pk"] = {"S": key_part(f"{classification.instance or NO_INSTANCE}#{message_id}")}
    if payload_json is not None:
        item["payload"] = {"B": compress(payload_json, summary)}
    if payload_ref is not None:
        item["payload_ref"] = {
            "M": {
                "bucket": {"S": str(payload_ref["bucket"])},
                "key": {"S": str(payload_ref["key"])},
                "size": {"N": str(payload_ref["size"])},
                "sha256": {"S": str(payload_ref["sha256"])},
            }
        }
    return item


def classification_of(item: Item) -> Classification:
    """The classification an item was written from, for publishing it again (the body itself is not needed).

    The dedup key's text is not kept (``pk`` is its hash): ``webhook-hub inspect`` shows it for a body.
    """
    return Classification(
        event_type=item["event_type"]["S"],
        known=item["known"]["BOOL"],
        topic_key=item["topic_key"]["S"],
        valid=item["valid"]["BOOL"],
        reasons=tuple(reason["S"] for reason in item.get("reasons", {}).get("L", [])),
        instance=item.get("instance", {}).get("S"),
        dedup_key="",
        event_id=item["pk"]["S"],
        occurred_at=from_iso(item.get("occurred_at", {}).get("S")),
        summary=summary_of(item),
        payload={},
    )


def stored_payload(item: Item) -> tuple[Any | None, dict[str, Any] | None]:
    """The redacted payload stored inline, or the pointer to it in S3."""
    payload_json = payload_json_of(item)
    if payload_json is not None:
        return json.loads(payload_json), None
    reference = item["payload_ref"]["M"]
    return None, {
        "bucket": reference["bucket"]["S"],
        "key": reference["key"]["S"],
        "size": int(reference["size"]["N"]),
        "sha256": reference["sha256"]["S"],
    }


def _value_size(value: AttributeValue) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        digits = content.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "B":
        return len(content)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in content)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in content.items())
    raise ValueError(f"unsupported attribute type {kind}")


def item_size(item: Item) -> int:
    """Bytes DynamoDB counts against its 400 KB item limit (names plus values, UTF-8)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())
