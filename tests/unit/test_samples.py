"""Every sample body in events/bodies classifies as its documented type, with the right ids, text and direction."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webhook_hub.core.catalog import EVENT_TYPES
from webhook_hub.core.classify import classify

Load = Callable[[str], dict[str, Any]]

MARIA = "5511900000001@s.whatsapp.net"
JOAO = "5511900000002@s.whatsapp.net"
ANA = "5511900000003@s.whatsapp.net"
GROUP = "120363000000000001@g.us"
TOKEN = "FAKE-INSTANCE-TOKEN-0000-0000-000000000000"

# file -> (event type, facts the summary must state; None means "must be absent")
EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "application-startup.json": ("application.startup", {}),
    "instance-create.json": (
        "instance.create",
        {"instance_name": "loja-centro", "instance_id": "4f1c2b9e-0000-4000-8000-00000000fa1e"},
    ),
    "instance-delete.json": ("instance.delete", {"instance_name": "loja-centro"}),
    "qrcode-updated.json": ("qrcode.updated", {"has_qr": True, "has_pairing_code": True, "limit_reached": False}),
    "qrcode-updated-limit.json": (
        "qrcode.updated",
        {"has_qr": False, "has_pairing_code": False, "limit_reached": True},
    ),
    "connection-update.json": (
        "connection.update",
        {"state": "open", "reason": 200, "needs_qr_scan": False, "profile_name": "Loja Centro (teste)"},
    ),
    "status-instance.json": ("status.instance", {"status": "closed", "needs_qr_scan": True, "reason": 401}),
    "messages-set.json": ("messages.set", {"count": 2}),
    "messages-upsert.json": (
        "messages.upsert",
        {
            "message_id": "A1B2C3D4E5F60718293A4B5C6D7E8F91",
            "chat_jid": JOAO,
            "phone_jid": JOAO,
            "direction": "inbound",
            "message_kind": "text",
            "text": "Qual o horário de domingo?",
            "push_name": "João Teste",
        },
    ),
    "messages-upsert-image.json": (
        "messages.upsert",
        {
            "message_id": "3A1F1E2D3C4B5A69788E",
            "phone_jid": JOAO,
            "direction": "inbound",
            "message_kind": "image",
            "text": "Foto do pedido",
            "media": {"mimetype": "image/jpeg", "size": 1234, "base64_inlined": True},
        },
    ),
    "messages-upsert-group.json": (
        "messages.upsert",
        {
            "message_id": "A1B2C3D4E5F60718293A4B5C6D7E8F93",
            "chat_jid": GROUP,
            "chat_type": "group",
            "phone_jid": None,
            "participant": "100000000000002@lid",
            "participant_phone_jid": JOAO,
            "direction": "inbound",
            "text": "Bom dia, grupo!",
        },
    ),
    "messages-upsert-voice-note.json": (
        "messages.upsert",
        {
            "message_id": "3A2F1E2D3C4B5A69788D",
            "phone_jid": MARIA,
            "message_kind": "voice_note",
            "text": None,
            "media": {"mimetype": "audio/ogg; codecs=opus", "size": 5120, "seconds": 7, "base64_inlined": False},
        },
    ),
    "messages-upsert-document.json": (
        "messages.upsert",
        {
            "message_id": "3A3F1E2D3C4B5A69788C",
            "message_kind": "document",
            "text": "Segue o orçamento",
            "media": {
                "mimetype": "application/pdf",
                "size": 48213,
                "file_name": "orcamento.pdf",
                "base64_inlined": False,
            },
        },
    ),
    "messages-upsert-reaction.json": (
        "messages.upsert",
        {
            "message_id": "3A4F1E2D3C4B5A69788B",
            "message_kind": "reaction",
            "text": "👍",
            "direction": "inbound",
            "reacted_message_id": "3EB0000000000000000002",
        },
    ),
    "messages-upsert-senderpn.json": (
        "messages.upsert",
        {
            "message_id": "3A5F1E2D3C4B5A69788A",
            "chat_jid": "100000000000003@lid",
            "phone_jid": ANA,
            "lid": "100000000000003@lid",
            "text": "Oi, vi o anúncio",
            "occurred_at": "2026-01-01T12:41:40.000Z",
        },
    ),
    "messages-upsert-ephemeral-v1.json": (
        "messages.upsert",
        {
            "message_id": "3EB0C0FFEE0000000000AC",
            "phone_jid": ANA,
            "message_kind": "text",
            "text": "Mensagem temporária",
            "status": None,
            "occurred_at": "2026-01-01T12:43:20.000Z",
        },
    ),
    "messages-edited.json": (
        "messages.edited",
        {
            "message_id": "A1B2C3D4E5F60718293A4B5C6D7E8F91",
            "phone_jid": JOAO,
            "direction": "inbound",
            "message_kind": "edit",
            "text": "Qual o horário de sábado?",
            "occurred_at": "2026-01-01T12:11:00.000Z",
        },
    ),
    "messages-update.json": (
        "messages.update",
        {
            "message_id": "3EB0B1C2D3E4F5A6B7C8D9",
            "phone_jid": JOAO,
            "direction": "outbound",
            "status": "DELIVERY_ACK",
            "status_rank": 3,
        },
    ),
    "messages-update-v1.json": (
        "messages.update",
        {
            "message_id": "3EB0B1C2D3E4F5A6B7C8D9",
            "phone_jid": JOAO,
            "direction": "outbound",
            "status": "SERVER_ACK",
            "status_rank": 2,
            "occurred_at": "2026-01-01T12:12:01.000Z",
        },
    ),
    "messages-delete.json": (
        "messages.delete",
        {"message_id": "A1B2C3D4E5F60718293A4B5C6D7E8F92", "phone_jid": JOAO, "direction": "inbound"},
    ),
    "messages-delete-stored.json": (
        "messages.delete",
        {"message_id": "3EB0000000000000000002", "phone_jid": MARIA, "direction": "outbound"},
    ),
    "send-message.json": (
        "send.message",
        {
            "message_id": "3EB0B1C2D3E4F5A6B7C8D9",
            "phone_jid": JOAO,
            "direction": "outbound",
            "text": "Domingo abrimos das 9h às 12h.",
            "status": "PENDING",
            "push_name": "Você",
        },
    ),
    "send-message-update.json": (
        "send.message.update",
        {
            "message_id": "3EB0B1C2D3E4F5A6B7C8D9",
            "direction": "outbound",
            "message_kind": "edit",
            "text": "Domingo abrimos das 9h às 13h.",
        },
    ),
    "contacts-set.json": ("contacts.set", {"count": 1, "jids": [MARIA]}),
    "contacts-upsert.json": ("contacts.upsert", {"count": 2, "jids": [MARIA, JOAO]}),
    "contacts-update.json": ("contacts.update", {"count": 1, "jids": [JOAO]}),
    "presence-update.json": ("presence.update", {"chat_jid": JOAO, "presences": {JOAO: "available"}}),
    "chats-set.json": ("chats.set", {"count": 2, "jids": [MARIA, GROUP]}),
    "chats-upsert.json": ("chats.upsert", {"count": 1, "jids": [JOAO]}),
    "chats-update.json": ("chats.update", {"count": 1, "jids": [JOAO]}),
    "chats-delete.json": ("chats.delete", {"count": 1, "jids": [ANA]}),
    "groups-upsert.json": ("groups.upsert", {"count": 1, "jids": ["120363000000000002@g.us"]}),
    "groups-update.json": ("groups.update", {"count": 1, "jids": [GROUP]}),
    "group-participants-update.json": (
        "group-participants.update",
        {"group_jid": GROUP, "action": "remove", "participants": [ANA], "participant_phone_jids": None},
    ),
    "call.json": (
        "call",
        {
            "call_id": "FAKECALLID00000000000000000000B2",
            "from": JOAO,
            "status": "reject",
            "is_video": True,
            "occurred_at": "2026-01-01T12:40:00.000Z",
        },
    ),
    "typebot-start.json": ("typebot.start", {"chat_jid": JOAO, "session_id": "fake-session-0001"}),
    "typebot-change-status.json": ("typebot.change-status", {"chat_jid": JOAO, "status": "paused"}),
    "labels-edit.json": ("labels.edit", {"label_id": "3", "name": "Cliente VIP", "deleted": False}),
    "labels-association.json": ("labels.association", {"action": "add", "chat_jid": JOAO, "label_id": "3"}),
    "remove-instance.json": ("remove.instance", {}),
    "logout-instance.json": ("logout.instance", {}),
    "messaging-history-set.json": (
        "messaging-history.set",
        {"message_count": 120, "chat_count": 8, "contact_count": 30, "progress": 100},
    ),
    "chama-ai-action.json": ("chama-ai.action", {}),
    "new-jwt.json": ("new.jwt", {"instance_name": "loja-centro"}),
    "error.json": ("error", {"status": 500, "error": "Internal Server Error", "message": "Connection Closed"}),
}


def test_every_sample_file_has_expectations(bodies_dir: Path) -> None:
    assert {path.name for path in bodies_dir.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda event_type: event_type.name)
def test_every_catalog_type_has_its_sample(event_type: Any) -> None:
    name = f"{event_type.suffix or event_type.name.replace('.', '-')}.json"
    assert EXPECTED[name][0] == event_type.name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name: str, load_body: Load) -> None:
    event_type, facts = EXPECTED[name]
    body = load_body(name)
    c = classify(json.dumps(body))
    assert (c.event_type, c.known, c.valid, c.reasons) == (event_type, True, True, ())
    assert c.instance == body.get("instance")
    for fact, value in facts.items():
        assert c.summary.get(fact) == value, fact
    if not facts:
        assert c.summary == {}


def test_samples_use_fake_secrets_and_numbers_only(sample_path: Path) -> None:
    text = sample_path.read_text(encoding="utf-8")
    body = json.loads(text)
    assert body.get("apikey") in (None, TOKEN)
    assert all(re.fullmatch(r"55119000000\d\d", phone) for phone in re.findall(r"(\d+)@s\.whatsapp\.net", text))
    assert all(re.fullmatch(r"1000000000000\d\d", lid) for lid in re.findall(r"(\d+)@lid", text))


def test_summary_never_carries_secrets(sample_path: Path) -> None:
    body = json.loads(sample_path.read_text(encoding="utf-8"))
    summary = json.dumps(classify(json.dumps(body)).summary)
    data = body.get("data")
    message = data.get("message") if isinstance(data, dict) else None
    qrcode = data.get("qrcode") if isinstance(data, dict) else None
    secrets = [body.get("apikey"), body.get("api_key")]
    secrets += [data.get("jwt")] if isinstance(data, dict) else []
    secrets += [qrcode.get("code"), qrcode.get("base64"), qrcode.get("pairingCode")] if isinstance(qrcode, dict) else []
    secrets += [message.get("base64")] if isinstance(message, dict) else []
    for secret in filter(None, secrets):
        assert secret not in summary
    assert "mediaKey" not in summary
    assert "ZmFrZS1tZWRpYS1rZXk" not in summary, "a media key value"
