"""Dedup keys: identical for retries and for the local/global copies of one event, distinct otherwise."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webhook_hub.core.classify import classify
from webhook_hub.core.dedup import MAX_KEY_LENGTH

Load = Callable[[str], dict[str, Any]]

PHONE = "5511900000001@s.whatsapp.net"


def _key(body: dict[str, Any]) -> str:
    return classify(json.dumps(body)).dedup_key


def _global_copy(body: dict[str, Any]) -> dict[str, Any]:
    """The same event as a v1 global webhook sends it: other URL and key, the same ``date_time`` (contract §5.1;
    in 2.x the copies are one object, byte-identical)."""
    copy: dict[str, Any] = json.loads(json.dumps(body))
    copy["destination"] = "https://other.example.test/global/webhook/messages-upsert"
    copy["apikey"] = "global-key-0123456789"
    return copy


def test_retry_gives_the_same_key(sample_path: Path) -> None:
    body = sample_path.read_bytes()
    first, second = classify(body), classify(body)
    assert first.dedup_key == second.dedup_key
    assert first.event_id == second.event_id


def test_local_and_global_copies_give_the_same_key(sample_path: Path) -> None:
    body = json.loads(sample_path.read_text(encoding="utf-8"))
    assert _key(_global_copy(body)) == _key(body)


def test_event_id_is_the_key_hash(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")))
    assert c.dedup_key == "msg|loja-centro|5511900000001@s.whatsapp.net|A1B2C3D4E5F60718293A4B5C6D7E8F90"
    assert c.event_id == hashlib.sha256(c.dedup_key.encode()).hexdigest()[:32]


def test_api_send_and_its_from_me_upsert_collapse(load_body: Load) -> None:
    send = load_body("reference/send-message.json")
    upsert = json.loads(json.dumps(send))
    upsert["event"] = "messages.upsert"
    upsert["data"]["status"] = "SERVER_ACK"
    upsert["data"]["key"] = {  # 2.3.6 addresses the same chat by LID, with the phone as the alternate
        "remoteJid": "100000000000001@lid",
        "remoteJidAlt": PHONE,
        "fromMe": True,
        "id": send["data"]["key"]["id"],
        "addressingMode": "lid",
    }
    upsert["date_time"] = "2026-01-01T09:05:00.000Z"
    assert _key(upsert) == _key(send) == "msg|loja-centro|5511900000001@s.whatsapp.net|3EB0A9B8C7D6E5F4A3B2C1"


def test_same_message_id_in_another_chat_is_another_message(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-text.json")
    other = json.loads(json.dumps(body))
    other["data"]["key"]["remoteJid"] = "5511900000002@s.whatsapp.net"
    assert _key(other) != _key(body)


def test_each_status_is_its_own_event(load_body: Load) -> None:
    read = load_body("reference/messages-update-read.json")
    delivered = json.loads(json.dumps(read))
    delivered["data"]["status"] = "DELIVERY_ACK"
    assert _key(read) == "status|loja-centro|5511900000001@s.whatsapp.net|3EB0A9B8C7D6E5F4A3B2C1|READ"
    assert _key(delivered) == "status|loja-centro|5511900000001@s.whatsapp.net|3EB0A9B8C7D6E5F4A3B2C1|DELIVERY_ACK"


def test_a_receipt_names_its_chat(load_body: Load) -> None:
    """Regression: message ids are unique per chat only; two chats' receipts for one id shared a key."""
    read = load_body("reference/messages-update-read.json")
    other = json.loads(json.dumps(read))
    other["data"]["remoteJid"] = "5511900000002@s.whatsapp.net"
    assert _key(other) != _key(read)


def test_v1_and_v2_receipts_share_the_key_space(load_body: Load) -> None:
    v1 = load_body("reference/messages-update-delivered-v1.json")
    v2 = load_body("reference/messages-update-read.json")
    v2["data"]["status"] = "DELIVERY_ACK"
    assert _key(v1) == _key(v2)


def test_instances_are_apart(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-text.json")
    assert _key(body | {"instance": "loja-sul"}) != _key(body)


def test_delete_edit_and_call_keys(load_body: Load) -> None:
    chat1, chat2 = "5511900000001@s.whatsapp.net", "5511900000002@s.whatsapp.net"
    assert _key(load_body("messages-delete.json")) == f"delete|loja-centro|{chat2}|A1B2C3D4E5F60718293A4B5C6D7E8F92"
    assert _key(load_body("messages-delete-stored.json")) == f"delete|loja-centro|{chat1}|3EB0000000000000000002"
    assert (
        _key(load_body("messages-edited.json"))
        == f"edit|loja-centro|{chat2}|A1B2C3D4E5F60718293A4B5C6D7E8F91|edit|1767269460000"
    )
    assert (
        _key(load_body("send-message-update.json"))
        == f"edit|loja-centro|{chat2}|3EB0B1C2D3E4F5A6B7C8D9|edit|1767269580000"
    )
    call = load_body("reference/call.json")
    assert _key(call) == "call|loja-centro|FAKECALLID00000000000000000000A1|offer"
    assert _key(call | {"data": call["data"] | {"status": "accept"}}) != _key(call)


def test_a_second_edit_is_a_new_event(load_body: Load) -> None:
    body = load_body("messages-edited.json")
    again = json.loads(json.dumps(body))
    again["data"]["timestampMs"] = "1767269520000"
    assert _key(again) != _key(body)


def test_an_edit_and_a_revoke_of_one_message_are_apart(load_body: Load) -> None:
    """Regression: both were keyed ``edit|instance|id|timestampMs``; a revoke stamped like the edit vanished."""
    edit = load_body("messages-edited.json")
    revoke = json.loads(json.dumps(edit))
    del revoke["data"]["editedMessage"]
    revoke["data"]["type"] = "REVOKE"
    assert _key(revoke) != _key(edit)


def test_history_batches_use_the_content_rule(load_body: Load) -> None:
    body = load_body("reference/messages-set-history.json")
    key = _key(body)
    assert key.startswith("messages.set|loja-centro|")
    assert key.endswith("|" + json.dumps(body["date_time"]))


def test_id_less_events_repeat_within_a_minute(load_body: Load) -> None:
    """Regression: keyed by the minute, a change and its change-back within one minute lost the last change."""
    opened = load_body("reference/connection-update-open.json")
    closed = opened | {"data": opened["data"] | {"state": "close"}, "date_time": "2026-01-01T08:55:20.500Z"}
    reopened = opened | {"date_time": "2026-01-01T08:55:40.250Z"}
    keys = {_key(opened), _key(closed), _key(reopened)}
    assert len(keys) == 3
    assert _key(json.loads(json.dumps(reopened))) == _key(reopened)


def test_content_rule_ignores_key_order_but_not_content(load_body: Load) -> None:
    body = load_body("reference/connection-update-open.json")
    reordered = body | {"data": dict(reversed(list(body["data"].items())))}
    assert _key(reordered) == _key(body)
    assert _key(body | {"data": body["data"] | {"state": "connecting"}}) != _key(body)


@pytest.mark.parametrize(
    ("date_time", "suffix"),
    [
        ("2026-01-01T08:55:10.100Z", '|"2026-01-01T08:55:10.100Z"'),
        ("last tuesday", '|"last tuesday"'),
        (12, "|12"),
        ({"b": 1, "a": 2}, '|{"a": 2, "b": 1}'),
    ],
)
def test_content_rule_takes_the_exact_date_time(date_time: Any, suffix: str) -> None:
    body = {"event": "presence.update", "instance": "i", "data": {"id": PHONE, "presences": {}}, "date_time": date_time}
    assert _key(body).endswith(suffix)


def test_without_date_time_each_delivery_is_its_own_event() -> None:
    """v1.4/1.5 bodies carry no ``date_time`` and their senders never retry: keyed by the delivery, never merged."""
    body = json.dumps({"event": "presence.update", "instance": "i", "data": {"id": PHONE, "presences": {}}})
    first, second = classify(body, delivery_id="req-1"), classify(body, delivery_id="req-2")
    assert first.dedup_key.endswith("|delivery:req-1")
    assert first.event_id != second.event_id
    assert classify(body).dedup_key.endswith("|")


def test_id_less_fallback_when_ids_are_missing() -> None:
    body = {
        "event": "messages.upsert",
        "instance": "i",
        "data": {"key": {"remoteJid": PHONE}},
        "date_time": "2026-01-01T09:00:00Z",
    }
    assert _key(body).startswith("messages.upsert|i|")


@pytest.mark.parametrize(
    "data",
    [
        {"float": 0.1, "neg": -1e-300, "big": 10**4000},
        {"text": "ação 😀", "nested": [{"b": 1, "a": 2}]},
        {"surrogate": "\ud800"},
        None,
        [],
    ],
)
def test_canonical_json_never_fails(data: Any) -> None:
    c = classify(json.dumps({"event": "chama-ai.action", "instance": "\udfff", "data": data}))
    assert c.dedup_key.startswith("chama-ai.action|")
    assert len(c.event_id) == 32


def test_absurd_keys_are_bounded() -> None:
    body = {"event": "call", "instance": "x" * 5000, "data": {"id": "C", "status": "offer"}}
    first, second = _key(body), _key(body)
    assert first == second
    assert len(first) <= MAX_KEY_LENGTH
    assert first.startswith("sha256|")
