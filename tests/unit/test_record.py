"""The DynamoDB item: index keys per access pattern, bounded keys, and the size DynamoDB counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from webhook_hub.core.classify import classify
from webhook_hub.record import KEY_PART_LIMIT, PENDING_SHARDS, build_item, item_size, key_part, pending_shard

REFERENCE = Path(__file__).resolve().parents[2] / "events" / "bodies" / "reference"
RECEIVED = datetime(2026, 1, 1, 12, 0, 0, 123_000, tzinfo=UTC)


def _item(name: str) -> dict[str, dict[str, object]]:
    classification = classify((REFERENCE / name).read_bytes())
    return build_item(
        classification,
        received_at=RECEIVED,
        payload_json="{}",
        payload_ref=None,
        lease_until=99,
        sweep_at=219,
        retention_days=30,
    )


def test_message_item_carries_every_index_key() -> None:
    item = _item("messages-upsert-text.json")

    assert item["instance_pk"] == {"S": "loja-centro"}
    assert item["type_day"] == {"S": "messages.upsert#2026-01-01"}
    assert item["message_pk"] == {"S": "loja-centro#A1B2C3D4E5F60718293A4B5C6D7E8F90"}
    assert item["received_at"] == {"S": "2026-01-01T12:00:00.123Z"}
    assert item["occurred_at"] == {"S": "2026-01-01T12:00:00.000Z"}
    assert (item["state"], item["lease_until"], item["sweep_at"]) == ({"S": "stored"}, {"N": "99"}, {"N": "219"})
    assert item["pending"] == {"S": pending_shard(str(item["pk"]["S"]))}
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


def test_the_summary_is_stored_as_its_compact_json() -> None:
    classification = classify((REFERENCE / "messages-upsert-text.json").read_bytes())
    item = _item("messages-upsert-text.json")
    assert item["summary"] == {"S": json.dumps(classification.summary, ensure_ascii=False, separators=(",", ":"))}


def test_pending_shards_spread_events_evenly() -> None:
    """The ``Pending`` partition comes from the event id: every shard used, none taking much more than its share."""
    counts = [0] * PENDING_SHARDS
    for number in range(8_000):
        counts[int(pending_shard(classify(json.dumps({"event": "call", "data": {"id": str(number)}})).event_id))] += 1
    assert min(counts) > 800
    assert max(counts) < 1_200
