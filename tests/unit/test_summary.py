"""Summaries: message kinds and text across Baileys shapes, JID resolution, statuses, connection health."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webhook_hub.core.classify import classify
from webhook_hub.core.summary import STRING_LIMIT, TEXT_LIMIT, chat_type

PHONE = "5511900000001@s.whatsapp.net"
LID = "100000000000001@lid"


def _upsert(message: Any, key: dict[str, Any] | None = None, **data: Any) -> dict[str, Any]:
    body = {
        "event": "messages.upsert",
        "instance": "loja-centro",
        "data": {"key": key or {"remoteJid": PHONE, "fromMe": False, "id": "ID1"}, "message": message, **data},
    }
    return classify(json.dumps(body)).summary


PROTOCOL_EDIT = {"protocolMessage": {"key": {"id": "ID0"}, "type": 14, "editedMessage": {"conversation": "fixed"}}}


@pytest.mark.parametrize(
    ("message", "kind", "text"),
    [
        ({"conversation": "hi"}, "text", "hi"),
        ({"extendedTextMessage": {"text": "v1 text"}, "messageContextInfo": {}}, "text", "v1 text"),
        ({"messageContextInfo": {}, "imageMessage": {"caption": "photo"}}, "image", "photo"),
        ({"videoMessage": {"caption": "clip"}}, "video", "clip"),
        ({"ptvMessage": {"seconds": 3}}, "video", None),
        ({"audioMessage": {"ptt": False}}, "audio", None),
        ({"audioMessage": {"ptt": True}}, "voice_note", None),
        ({"documentMessage": {"caption": "doc", "fileName": "a.pdf"}}, "document", "doc"),
        (
            {"documentWithCaptionMessage": {"message": {"documentMessage": {"caption": "wrapped"}}}},
            "document",
            "wrapped",
        ),
        ({"stickerMessage": {}}, "sticker", None),
        ({"locationMessage": {"degreesLatitude": -23.5}}, "location", None),
        ({"liveLocationMessage": {}}, "location", None),
        ({"contactMessage": {"displayName": "Ana"}}, "contact", None),
        ({"contactsArrayMessage": {"contacts": []}}, "contact", None),
        ({"reactionMessage": {"key": {"id": "ID0"}, "text": "❤"}}, "reaction", "❤"),
        ({"pollCreationMessageV3": {"name": "Q?"}}, "poll", None),
        ({"buttonsResponseMessage": {"selectedDisplayText": "Sim"}}, "button_reply", "Sim"),
        ({"templateButtonReplyMessage": {"selectedDisplayText": "Quero"}}, "button_reply", "Quero"),
        ({"listResponseMessage": {"title": "Opção 2"}}, "list_reply", "Opção 2"),
        (PROTOCOL_EDIT, "edit", "fixed"),
        ({"editedMessage": {"message": PROTOCOL_EDIT}}, "edit", "fixed"),
        ({"editedMessage": {"message": {"conversation": "new"}}}, "edit", "new"),
        ({"protocolMessage": {"key": {"id": "ID0"}, "type": "REVOKE"}}, "protocol", None),
        ({"ephemeralMessage": {"message": {"extendedTextMessage": {"text": "temp"}}}}, "text", "temp"),
        ({"viewOnceMessageV2": {"message": {"imageMessage": {"caption": "once"}}}}, "image", "once"),
        ({"ephemeralMessage": {"message": {"viewOnceMessage": {"message": {"videoMessage": {}}}}}}, "video", None),
        ({"fooMessage": {}}, "unknown", None),
        ({"messageContextInfo": {}}, "unknown", None),
        ({"conversation": 5}, "text", None),
        ({"imageMessage": "not an object"}, "image", None),
    ],
)
def test_message_kind_and_text(message: dict[str, Any], kind: str, text: str | None) -> None:
    summary = _upsert(message)
    assert summary["message_kind"] == kind
    assert summary.get("text") == text


def test_no_message_object_means_no_kind() -> None:
    assert "message_kind" not in _upsert(None)


@pytest.mark.parametrize(
    "file_length",
    [48213, "48213", {"low": 48213, "high": 0, "unsigned": True}],
)
def test_media_facts_read_int64_in_every_form(file_length: Any) -> None:
    message = {
        "documentMessage": {
            "mimetype": "application/pdf",
            "fileLength": file_length,
            "fileName": "a.pdf",
            "mediaKey": "K",
        },
        "base64": "JVBERi0=",
    }
    summary = _upsert(message)
    assert summary["media"] == {
        "mimetype": "application/pdf",
        "size": 48213,
        "file_name": "a.pdf",
        "base64_inlined": True,
    }


def test_voice_note_media() -> None:
    summary = _upsert({"audioMessage": {"ptt": True, "seconds": "7", "mimetype": "audio/ogg"}})
    assert summary["media"] == {"mimetype": "audio/ogg", "seconds": 7, "base64_inlined": False}


def test_text_media_has_no_media_facts() -> None:
    assert "media" not in _upsert({"conversation": "hi", "base64": "AAAA"})


@pytest.mark.parametrize(
    ("jid", "expected"),
    [
        (PHONE, "direct"),
        ("5511900000001:12@s.whatsapp.net", "direct"),
        (LID, "direct"),
        ("120363000000000001@g.us", "group"),
        ("status@broadcast", "status"),
        ("120363000000000009@newsletter", "newsletter"),
        ("1767268800@broadcast", "broadcast"),
        ("whatever", "unknown"),
        (None, None),
    ],
)
def test_chat_type(jid: str | None, expected: str | None) -> None:
    assert chat_type(jid) == expected


@pytest.mark.parametrize(
    ("key", "phone", "lid"),
    [
        ({"remoteJid": PHONE}, PHONE, None),
        ({"remoteJid": LID}, None, LID),
        ({"remoteJid": LID, "remoteJidAlt": PHONE, "addressingMode": "lid"}, PHONE, LID),
        ({"remoteJid": PHONE, "remoteJidAlt": LID, "addressingMode": "pn"}, PHONE, LID),
        ({"remoteJid": LID, "senderPn": PHONE, "senderLid": LID}, PHONE, LID),
        ({"remoteJid": "120363000000000001@g.us", "participant": LID}, None, None),
    ],
)
def test_phone_is_only_ever_a_phone_jid(key: dict[str, Any], phone: str | None, lid: str | None) -> None:
    summary = _upsert({"conversation": "x"}, {"id": "ID1", **key})
    assert summary.get("phone_jid") == phone
    assert summary.get("lid") == lid
    assert summary["chat_jid"] == key["remoteJid"]


def test_group_author_and_its_phone() -> None:
    key = {"remoteJid": "120363000000000001@g.us", "id": "ID1", "participant": LID, "participantAlt": PHONE}
    summary = _upsert({"conversation": "x"}, key)
    assert (summary["chat_type"], summary["participant"], summary["participant_phone_jid"]) == ("group", LID, PHONE)


@pytest.mark.parametrize(("from_me", "direction"), [(True, "outbound"), (False, "inbound"), (None, "inbound")])
def test_direction(from_me: bool | None, direction: str) -> None:
    summary = _upsert({"conversation": "x"}, {"remoteJid": PHONE, "id": "ID1", "fromMe": from_me})
    assert summary["direction"] == direction


def test_strings_are_capped() -> None:
    summary = _upsert({"conversation": "x" * 10_000}, pushName="n" * 1000)
    assert len(summary["text"]) == TEXT_LIMIT
    assert len(summary["push_name"]) == STRING_LIMIT


def _update(status: Any, **data: Any) -> dict[str, Any]:
    body = {
        "event": "messages.update",
        "instance": "i",
        "data": {"keyId": "K", "remoteJid": LID, "status": status, **data},
    }
    return classify(json.dumps(body)).summary


@pytest.mark.parametrize(
    ("status", "name", "rank"),
    [
        ("PENDING", "PENDING", 1),
        ("SERVER_ACK", "SERVER_ACK", 2),
        ("DELIVERY_ACK", "DELIVERY_ACK", 3),
        ("READ", "READ", 4),
        ("PLAYED", "PLAYED", 5),
        ("ERROR", "ERROR", None),
        ("DELETED", "DELETED", None),
        (4, "READ", 4),
        (0, "ERROR", None),
    ],
)
def test_update_status_and_rank(status: Any, name: str, rank: int | None) -> None:
    summary = _update(status)
    assert summary["status"] == name
    assert summary.get("status_rank") == rank


def test_update_on_a_lid_chat_has_no_phone() -> None:
    summary = _update("READ", fromMe=True, participant=None)
    assert (summary["lid"], summary["direction"], summary["chat_type"]) == (LID, "outbound", "direct")
    assert "phone_jid" not in summary


@pytest.mark.parametrize(
    ("state", "needs_qr_scan"),
    [("open", False), ("connecting", False), ("close", True), ("refused", True)],
)
def test_connection_health(state: str, needs_qr_scan: bool) -> None:
    body = {"event": "connection.update", "instance": "i", "data": {"state": state, "statusReason": "428"}}
    summary = classify(json.dumps(body)).summary
    assert summary == {"state": state, "reason": 428, "needs_qr_scan": needs_qr_scan}


@pytest.mark.parametrize(("status", "needs_qr_scan"), [("closed", True), ("open", False)])
def test_status_instance_health(status: str, needs_qr_scan: bool) -> None:
    summary = classify(json.dumps({"event": "status.instance", "instance": "i", "data": {"status": status}})).summary
    assert summary == {"status": status, "needs_qr_scan": needs_qr_scan}


def test_edit_event_with_a_revoke_is_a_protocol_message() -> None:
    data = {"key": {"remoteJid": PHONE, "fromMe": False, "id": "ID1"}, "type": "REVOKE", "timestampMs": 1767269460000}
    c = classify(json.dumps({"event": "messages.edited", "instance": "i", "data": data}))
    assert c.valid
    assert c.summary["message_kind"] == "protocol"
    assert c.summary["protocol_type"] == "REVOKE"
    assert "text" not in c.summary


def test_group_participants_as_strings_and_objects_are_bounded() -> None:
    members: list[Any] = [f"55119000{n:05d}@s.whatsapp.net" for n in range(40)]
    members += [{"id": f"1000000000{n:05d}@lid", "phoneNumber": f"55119001{n:05d}@s.whatsapp.net"} for n in range(40)]
    body = {
        "event": "group-participants.update",
        "instance": "i",
        "data": {"id": "g@g.us", "action": "add", "participants": members},
    }
    c = classify(json.dumps(body))
    assert c.valid
    assert c.summary["count"] == 80
    assert len(c.summary["participants"]) == 50
    assert c.summary["participants"][40] == "100000000000000@lid"
    assert len(c.summary["participant_phone_jids"]) == 40


def test_contacts_single_object_counts_as_one() -> None:
    body = {"event": "contacts.upsert", "instance": "i", "data": {"remoteJid": PHONE, "pushName": "Maria"}}
    assert classify(json.dumps(body)).summary == {"count": 1, "jids": [PHONE]}
