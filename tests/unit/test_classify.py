"""classify(): the reference captures exactly, rejections, unknown and drifting bodies, the URL suffix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from webhook_hub.core.catalog import UNCLASSIFIED_TOPIC_KEY
from webhook_hub.core.classify import MAX_REASON_LENGTH, MAX_REASONS, RejectedBody, classify

Load = Callable[[str], dict[str, Any]]

MARIA = "5511900000001@s.whatsapp.net"
MARIA_LID = "100000000000001@lid"
INSTANCE = "loja-centro"
TOKEN = "FAKE-INSTANCE-TOKEN-0000-0000-000000000000"

# file -> (event type, topic key, occurred_at, complete summary)
REFERENCE: dict[str, tuple[str, str, str | None, dict[str, Any]]] = {
    "messages-upsert-text.json": (
        "messages.upsert",
        "MessagesUpsert",
        "2026-01-01T12:00:00.000Z",
        {
            "message_id": "A1B2C3D4E5F60718293A4B5C6D7E8F90",
            "chat_jid": MARIA,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "direction": "inbound",
            "push_name": "Maria Teste",
            "message_kind": "text",
            "text": "Olá! Vocês abrem no sábado?",
            "status": "DELIVERY_ACK",
            "source": "android",
            "occurred_at": "2026-01-01T12:00:00.000Z",
        },
    ),
    "messages-upsert-text-lid.json": (
        "messages.upsert",
        "MessagesUpsert",
        "2026-01-01T12:01:00.000Z",
        {
            "message_id": "B0C1D2E3F405162738495A6B7C8D9EAF",
            "chat_jid": MARIA_LID,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "lid": MARIA_LID,
            "direction": "inbound",
            "push_name": "Maria Teste",
            "message_kind": "text",
            "text": "Pode me mandar o catálogo?",
            "status": "DELIVERY_ACK",
            "source": "android",
            "occurred_at": "2026-01-01T12:01:00.000Z",
        },
    ),
    "messages-upsert-text-v1.json": (
        "messages.upsert",
        "MessagesUpsert",
        "2026-01-01T12:00:00.000Z",
        {
            "message_id": "3EB0C0FFEE0000000000AB",
            "chat_jid": MARIA,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "direction": "inbound",
            "push_name": "Maria Teste",
            "message_kind": "text",
            "text": "Bom dia, https://exemplo.test/produto/123",
            "source": "web",
            "occurred_at": "2026-01-01T12:00:00.000Z",
        },
    ),
    "messages-upsert-image-base64.json": (
        "messages.upsert",
        "MessagesUpsert",
        "2026-01-01T11:59:55.000Z",
        {
            "message_id": "3A0F1E2D3C4B5A69788F",
            "chat_jid": MARIA,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "direction": "inbound",
            "push_name": "Maria Teste",
            "message_kind": "image",
            "text": "Segue a foto do produto",
            "media": {"mimetype": "image/jpeg", "size": 270, "base64_inlined": True},
            "status": "DELIVERY_ACK",
            "source": "ios",
            "occurred_at": "2026-01-01T11:59:55.000Z",
        },
    ),
    "send-message.json": (
        "send.message",
        "SendMessage",
        "2026-01-01T12:02:00.000Z",
        {
            "message_id": "3EB0A9B8C7D6E5F4A3B2C1",
            "chat_jid": MARIA,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "direction": "outbound",
            "push_name": "Você",
            "message_kind": "text",
            "text": "Sim! Abrimos das 9h às 13h no sábado.",
            "status": "PENDING",
            "source": "web",
            "occurred_at": "2026-01-01T12:02:00.000Z",
        },
    ),
    "messages-update-read.json": (
        "messages.update",
        "MessagesUpdate",
        None,
        {
            "message_id": "3EB0A9B8C7D6E5F4A3B2C1",
            "chat_jid": MARIA,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "direction": "outbound",
            "status": "READ",
            "status_rank": 4,
        },
    ),
    "messages-update-delivered-v1.json": (
        "messages.update",
        "MessagesUpdate",
        "2026-01-01T12:03:50.123Z",
        {
            "message_id": "3EB0A9B8C7D6E5F4A3B2C1",
            "chat_jid": MARIA,
            "chat_type": "direct",
            "phone_jid": MARIA,
            "direction": "outbound",
            "status": "DELIVERY_ACK",
            "status_rank": 3,
            "occurred_at": "2026-01-01T12:03:50.123Z",
        },
    ),
    "connection-update-open.json": (
        "connection.update",
        "ConnectionUpdate",
        None,
        {
            "state": "open",
            "reason": 200,
            "needs_qr_scan": False,
            "wuid": "5511900000000@s.whatsapp.net",
            "profile_name": "Loja Centro (teste)",
        },
    ),
    "connection-update-close.json": (
        "connection.update",
        "ConnectionUpdate",
        None,
        {"state": "close", "reason": 401, "needs_qr_scan": True},
    ),
    "qrcode-updated.json": (
        "qrcode.updated",
        "QrcodeUpdated",
        None,
        {"has_qr": True, "has_pairing_code": False, "limit_reached": False},
    ),
    "presence-update.json": (
        "presence.update",
        "PresenceUpdate",
        None,
        {"chat_jid": MARIA, "presences": {MARIA: "composing"}},
    ),
    "groups-upsert.json": ("groups.upsert", "GroupsUpsert", None, {"count": 1, "jids": ["120363000000000001@g.us"]}),
    "group-participants-update.json": (
        "group-participants.update",
        "GroupParticipantsUpdate",
        None,
        {
            "group_jid": "120363000000000001@g.us",
            "action": "add",
            "author": "100000000000000@lid",
            "participants": ["100000000000003@lid"],
            "participant_phone_jids": ["5511900000003@s.whatsapp.net"],
            "count": 1,
        },
    ),
    "call.json": (
        "call",
        "Call",
        "2026-01-01T12:05:00.000Z",
        {
            "call_id": "FAKECALLID00000000000000000000A1",
            "from": MARIA,
            "status": "offer",
            "is_video": False,
            "is_group": False,
            "occurred_at": "2026-01-01T12:05:00.000Z",
        },
    ),
    "error-webhook.json": (
        "error",
        "Error",
        None,
        {"status": 400, "error": "Bad Request", "message": "number is not a valid WhatsApp number"},
    ),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_capture(name: str, load_body: Load) -> None:
    event_type, topic, occurred_at, summary = REFERENCE[name]
    body = load_body(f"reference/{name}")
    c = classify(json.dumps(body).encode())
    assert (c.event_type, c.known, c.valid, c.topic_key, c.reasons) == (event_type, True, True, topic, ())
    assert c.summary == summary
    assert (c.occurred_at.isoformat(timespec="milliseconds") if c.occurred_at else None) == (
        occurred_at.replace("Z", "+00:00") if occurred_at else None
    )
    assert c.instance == (None if event_type == "error" else INSTANCE)
    assert c.payload == body, "the payload is the body as received, not redacted"


def test_reference_history_batch(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-set-history.json")))
    assert (c.event_type, c.valid, c.topic_key) == ("messages.set", True, "MessagesSet")
    assert c.summary["count"] == 1
    assert c.summary["is_latest"] is True
    assert c.summary["progress"] == 100
    assert c.summary["first"]["message_id"] == "3EB0000000000000000001"
    assert c.summary["first"]["direction"] == "outbound"
    assert c.summary["last"]["text"] == "Pedido confirmado."
    assert c.occurred_at is None


def test_reference_unknown_event_is_kept_unclassified(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/unknown-future-event.json")))
    assert (c.event_type, c.known, c.valid, c.topic_key) == ("group.join-request", False, False, UNCLASSIFIED_TOPIC_KEY)
    assert c.reasons == ("unknown event 'group.join-request'",)
    assert c.instance == INSTANCE


def test_occurred_at_never_comes_from_date_time(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-text.json")
    del body["data"]["messageTimestamp"]
    c = classify(json.dumps(body))
    assert c.valid
    assert c.occurred_at is None
    assert "occurred_at" not in c.summary


def test_str_and_bytes_classify_alike(load_body: Load) -> None:
    text = json.dumps(load_body("reference/messages-upsert-text.json"), ensure_ascii=False)
    assert classify(text) == classify(text.encode())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not_json"),
        (b"not json", "not_json"),
        (b'{"event": "messages.upsert"', "not_json"),
        (b'{"event": "x"} trailing', "not_json"),
        (b"\xff\xfe{}", "not_json"),
        (b'{"event": "x", "n": NaN}', "not_json"),
        (b'{"event": "x", "n": -Infinity}', "not_json"),
        (b'{"event": "x", "n": 1e999}', "not_json"),
        (b'{"event": "x", "n": ' + b"9" * 5000 + b"}", "not_json"),
        (b"[" * 100_000 + b"]" * 100_000, "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"messages.upsert"', "not_object"),
        (b"null", "not_object"),
        (b"true", "not_object"),
        (b"3.5", "not_object"),
        (b"{}", "no_event"),
        (b'{"event": 5}', "no_event"),
        (b'{"event": "   "}', "no_event"),
        (b'{"event": null, "data": {}}', "no_event"),
        (b'{"Event": "messages.upsert"}', "no_event"),
    ],
)
def test_rejected_bodies(body: bytes, reason: str) -> None:
    with pytest.raises(RejectedBody) as caught:
        classify(body)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)
    assert 0 < len(caught.value.detail) <= 120
    assert "\n" not in caught.value.detail


def test_rejection_detail_shows_no_body_content() -> None:
    body = b'{"apikey": "' + TOKEN.encode() + b'", "event": "messages.upsert", "data": {'
    with pytest.raises(RejectedBody) as caught:
        classify(body)
    assert "FAKE" not in caught.value.detail
    assert "FAKE" not in str(caught.value)


def test_deep_but_acceptable_nesting_classifies() -> None:
    data = "[" * 200 + "]" * 200
    c = classify('{"event": "chama-ai.action", "instance": "i", "data": ' + data + "}")
    assert (c.event_type, c.valid) == ("chama-ai.action", True)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("MESSAGES_UPSERT", "messages.upsert"),
        ("messages-upsert", "messages.upsert"),
        (" Messages.Upsert ", "messages.upsert"),
    ],
)
def test_event_in_any_spelling_is_canonicalised(event: str, expected: str, load_body: Load) -> None:
    body = load_body("reference/messages-upsert-text.json") | {"event": event}
    c = classify(json.dumps(body))
    assert (c.event_type, c.known, c.valid) == (expected, True, True)


def test_unknown_event_name_is_normalised_and_bounded() -> None:
    c = classify(json.dumps({"event": "  Group.Join-Request\n" + "x" * 300, "instance": "i", "data": {}}))
    assert c.known is False
    assert c.valid is False
    assert c.topic_key == UNCLASSIFIED_TOPIC_KEY
    assert len(c.event_type) == 100
    assert c.event_type.startswith("group.join-request\ufffd")
    assert c.reasons[0].startswith("unknown event 'group.join-request")
    assert len(c.reasons[0]) <= MAX_REASON_LENGTH


def test_schema_drift_is_unclassified_with_reasons_and_a_best_effort_summary(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-text.json")
    del body["data"]["key"]["id"]
    body["data"]["pushName"] = {"secret": "SHOULD-NOT-APPEAR"}
    c = classify(json.dumps(body))
    assert (c.known, c.valid, c.topic_key) == (True, False, UNCLASSIFIED_TOPIC_KEY)
    assert "data.key.id: Field required" in c.reasons
    assert "data.pushName: Input should be a valid string" in c.reasons
    assert not any("SHOULD-NOT-APPEAR" in reason for reason in c.reasons)
    assert c.summary["chat_jid"] == MARIA
    assert c.summary["text"] == "Olá! Vocês abrem no sábado?"
    assert "message_id" not in c.summary


def test_reasons_are_bounded() -> None:
    data = [{"key": {"remoteJid": 1, "id": 2}} for _ in range(30)]
    c = classify(json.dumps({"event": "messages.set", "instance": "i", "data": data}))
    assert not c.valid
    assert len(c.reasons) == MAX_REASONS
    assert all(len(reason) <= MAX_REASON_LENGTH for reason in c.reasons)
    assert c.reasons[0] == "data.0.key.remoteJid: Input should be a valid string"


def test_reasons_hide_body_keys(load_body: Load) -> None:
    body = load_body("reference/presence-update.json")
    body["data"]["presences"] = {MARIA: "composing"}
    c = classify(json.dumps(body))
    assert not c.valid
    assert c.reasons == ("data.presences.*: Input should be a valid dictionary or instance of Presence",)


@pytest.mark.parametrize(
    ("event", "data", "reason"),
    [
        ("messages.update", {"keyId": "X", "remoteJid": MARIA}, "data.status: Field required"),
        (
            "messages.update",
            {"remoteJid": MARIA, "status": "READ"},
            "data: Value error, keyId (v2) or id (v1) is required",
        ),
        ("messages.delete", {"remoteJid": MARIA}, "data: Value error, id or key is required"),
        ("connection.update", {"instance": INSTANCE, "statusReason": 200}, "data.state: Field required"),
        ("qrcode.updated", {}, "data: Value error, qrcode, or message/statusCode of the limit notice, is required"),
        ("messages.upsert", None, "data: Input should be a valid dictionary or instance of MessageData"),
        ("call", {"id": "C", "status": "offer", "from": 5}, "data.from: Input should be a valid string"),
        ("chats.delete", [1], "data.0: Input should be a valid string"),
    ],
)
def test_required_fields(event: str, data: Any, reason: str) -> None:
    c = classify(json.dumps({"event": event, "instance": INSTANCE, "data": data}))
    assert (c.known, c.valid, c.topic_key) == (True, False, UNCLASSIFIED_TOPIC_KEY)
    assert reason in c.reasons


def test_tolerant_envelope_and_optional_fields() -> None:
    body = {
        "isLatest": False,
        "event": "messages.update",
        "instance": INSTANCE,
        "data": {"keyId": "3EB0A9", "status": "PLAYED", "newField": {"from": "2.5"}},
        "date_time": "not a date",
        "apikey": None,
        "extra": [1, 2],
    }
    c = classify(json.dumps(body))
    assert c.valid, c.reasons
    assert c.summary == {"message_id": "3EB0A9", "direction": "inbound", "status": "PLAYED", "status_rank": 5}


def test_envelope_types_still_matter() -> None:
    c = classify(json.dumps({"event": "logout.instance", "instance": 7, "data": None, "apikey": 12}))
    assert not c.valid
    assert c.instance is None
    assert set(c.reasons) == {"instance: Input should be a valid string", "apikey: Input should be a valid string"}


@pytest.mark.parametrize(
    "suffix", [None, "", "/", "messages-upsert", "/Messages-Upsert", "MESSAGES_UPSERT", "//messages-upsert"]
)
def test_matching_or_absent_suffix_adds_no_note(suffix: str | None, load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")), suffix)
    assert "suffix_mismatch" not in c.summary


def test_suffix_mismatch_is_noted_but_the_body_wins(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")), "/Send-Message")
    assert (c.event_type, c.valid, c.topic_key, c.reasons) == ("messages.upsert", True, "MessagesUpsert", ())
    assert c.summary["suffix_mismatch"] == "URL suffix names 'send.message' but body says 'messages.upsert'"


def test_unknown_suffix_is_noted_without_its_text(load_body: Load) -> None:
    """Regression: the suffix's text was quoted, so an old token left in a header-auth URL was stored."""
    c = classify(json.dumps(load_body("reference/call.json")), "old-token-Xy3kQ9")
    assert c.valid
    assert c.summary["suffix_mismatch"] == "URL suffix names no known event"
    assert "Xy3kQ9" not in json.dumps(c.summary)


def test_suffix_on_an_unknown_event(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/unknown-future-event.json")), "groups-update")
    assert c.event_type == "group.join-request"
    assert c.summary["suffix_mismatch"] == "URL suffix names 'groups.update' but body says 'group.join-request'"


def test_half_an_emoji_escaped_in_json_becomes_a_replacement_character() -> None:
    body = (
        b'{"event": "messages.upsert", "instance": "loja\\ud800", "data": {"key": {"remoteJid": '
        b'"5511900000001@s.whatsapp.net", "id": "X1"}, "message": {"conversation": "oi \\ud83d\\ude00 \\ud83d"}}}'
    )

    classification = classify(body)

    assert classification.instance == "loja\ufffd"
    assert classification.summary["text"] == "oi \U0001f600 \ufffd"
    assert "\ufffd" in classification.payload["data"]["message"]["conversation"]
    classification.summary["text"].encode()  # storable and publishable as UTF-8
