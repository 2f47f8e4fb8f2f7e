"""The DynamoDB item: index keys per access pattern, bounded keys, and the size DynamoDB counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from webhook_hub.core.classify import Classification, classify
from webhook_hub.core.redact import redact
from webhook_hub.core.values import compact_json
from webhook_hub.record import (
    KEY_PART_LIMIT,
    PENDING_SHARDS,
    build_item,
    item_size,
    item_text,
    key_part,
    payload_json_of,
    pending_shard,
    summary_json_of,
)

REFERENCE = Path(__file__).resolve().parents[2] / "events" / "bodies" / "reference"
RECEIVED = datetime(2026, 1, 1, 12, 0, 0, 123_000, tzinfo=UTC)


def _built(classification: Classification, payload_json: str = "{}") -> dict[str, dict[str, Any]]:
    return build_item(
        classification,
        received_at=RECEIVED,
        payload_json=payload_json,
        payload_ref=None,
        lease_until=99,
        sweep_at=219,
        retention_days=30,
    )


def _item(name: str) -> dict[str, dict[str, Any]]:
    return _built(classify((REFERENCE / name).read_bytes()))


def test_message_item_carries_every_index_key() -> None:
    item = _item("messages-upsert-text.json")

    assert item["instance_pk"] == {"S": "loja-centro"}
    assert item["type_day"] == {"S": "messages.upsert#2026-01-01"}
    assert item["message_pk"] == {"S": "loja-centro#A1B2C3D4E5F60718293A4B5C6D7E8F90"}
    assert item["received_at"] == {"S": "2026-01-01T12:00:00.123Z"}
    assert item["occurred_at"] == {"S": "2026-01-01T12:00:00.000Z"}
    assert (item["state"], item["lease_until"]) == ({"S": "stored"}, {"N": "99"})
    assert "pending" not in item  # its first delivery publishes it; Pending is written only if that fails
    assert "sweep_at" not in item
    assert item["attempts"] == {"N": "1"}
    assert item["expires_at"] == {"N": str(int(RECEIVED.timestamp()) + 30 * 86_400)}


def test_status_update_shares_the_message_partition_and_errors_webhook_has_no_instance() -> None:
    update = _item("messages-update-read.json")
    sent = _item("send-message.json")
    error = _item("error-webhook.json")

    assert update["message_pk"] == sent["message_pk"] == {"S": "loja-centro#3EB0A9B8C7D6E5F4A3B2C1"}
    assert error["instance_pk"] == {"S": "(none)"}
    assert "instance" not in error
    assert "message_pk" not in error


def test_a_reaction_is_in_the_partition_of_the_message_it_reacts_to() -> None:
    classification = classify((REFERENCE.parent / "messages-upsert-reaction.json").read_bytes())
    reaction = _item("../messages-upsert-reaction.json")

    assert classification.summary["message_id"] == "3A4F1E2D3C4B5A69788B"
    assert reaction["message_pk"] == {"S": "loja-centro#3EB0000000000000000002"}


def test_oversized_key_parts_are_cut_and_hashed_but_stay_distinct() -> None:
    long_a, long_b = "a" * 3_000, "a" * 2_999 + "b"

    assert key_part("loja-centro") == "loja-centro"
    assert len(key_part(long_a).encode()) <= KEY_PART_LIMIT
    assert key_part(long_a) != key_part(long_b)
    assert key_part(long_a).startswith("a" * 128 + "#")


def test_item_size_counts_names_and_utf8_bytes_like_dynamodb() -> None:
    assert item_size({"pk": {"S": "ab"}}) == 4
    assert item_size({"t": {"S": "ç"}}) == 3  # two UTF-8 bytes, one character
    assert item_size({"n": {"N": "123"}}) == 1 + 3
    assert item_size({"b": {"BOOL": True}}) == 2
    assert item_size({"m": {"M": {"a": {"S": "x"}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_size({"l": {"L": [{"S": "x"}, {"S": "yz"}]}}) == 1 + 3 + (1 + 1) + (1 + 2)
    assert item_size({"pk": {"S": "ab"}, "n": {"N": "123"}, "t": {"S": "ç"}}) == 4 + 4 + 3


def test_an_event_of_an_unknown_type_is_pending_from_its_first_write() -> None:
    """The sweep's check of recent events reads only the catalog's ``ByTypeDay`` partitions."""
    body = json.loads((REFERENCE / "messages-upsert-text.json").read_text(encoding="utf-8")) | {"event": "new.thing"}
    classification = classify(json.dumps(body))
    item = _built(classification)
    assert not classification.known
    assert (item["pending"], item["sweep_at"]) == ({"S": pending_shard(classification.event_id)}, {"N": "219"})


def test_summary_and_payload_are_stored_compressed_and_read_back_exactly() -> None:
    classification = classify((REFERENCE / "messages-upsert-text.json").read_bytes())
    payload_json = compact_json(classification.payload)
    item = _built(classification, payload_json)
    assert set(item["summary"]) == set(item["payload"]) == {"B"}
    assert summary_json_of(item) == compact_json(classification.summary)
    assert payload_json_of(item) == payload_json
    assert len(item["payload"]["B"]) < len(payload_json.encode()) / 2  # the summary primes it: it quotes the body
    apikey = classification.payload["apikey"]  # not redacted in this test: only item_text shows it
    assert apikey.encode() not in item["payload"]["B"]
    assert apikey in item_text(item)
    text = classification.summary["text"]
    assert text.encode() not in item["summary"]["B"] + item["payload"]["B"]  # stored compressed, not as text
    assert text in item_text(item)


def test_an_item_written_before_compression_is_read_as_it_was_stored() -> None:
    """Items an earlier version wrote keep ``summary`` and ``payload`` as text until their retention ends."""
    old = {"summary": {"S": '{"text":"oi"}'}, "payload": {"S": '{"event":"messages.upsert"}'}}
    assert (summary_json_of(old), payload_json_of(old)) == ('{"text":"oi"}', '{"event":"messages.upsert"}')


def test_a_new_text_message_fits_one_write_unit_before_and_after_it_is_published() -> None:
    """One KB per write unit: the first write, the mark-published update and a redelivery's failed write each cost
    one (docs/data-model.md, "Write units")."""
    body = (REFERENCE.parent / "messages-upsert.json").read_bytes()  # the one the bench prices
    classification = classify(body, None, "Ab1Cd2Ef3Gh4Ij=")
    item = build_item(
        classification,
        received_at=RECEIVED,
        payload_json=compact_json(redact(classification.payload)),
        payload_ref=None,
        lease_until=int(RECEIVED.timestamp()) + 30,
        sweep_at=int(RECEIVED.timestamp()) + 330,
        retention_days=30,
        request_id="Ab1Cd2Ef3Gh4Ij=",
    )
    published = {key: value for key, value in item.items() if key not in ("lease_until", "request_id")} | {
        "state": {"S": "published"},
        "published_at": {"S": "2026-01-01T12:00:00.180Z"},
        "sns_message_id": {"S": "8f2c6a5e-0d7b-5c9a-9f1e-3b4d5e6f7a8b"},
    }
    assert item_size(item) <= 1_024
    assert item_size(published) <= 1_024


def test_pending_shards_spread_events_evenly() -> None:
    """The ``Pending`` partition comes from the event id: every shard used, none taking much more than its share."""
    counts = [0] * PENDING_SHARDS
    for number in range(8_000):
        counts[int(pending_shard(classify(json.dumps({"event": "call", "data": {"id": str(number)}})).event_id))] += 1
    assert min(counts) > 800
    assert max(counts) < 1_200
