"""Normalised summaries: the few facts subscribers route and filter on, the same whatever the sender's version.

Summaries read the parsed body defensively instead of the validated models, so a body that fails its model still
gets a best-effort summary. They are JSON-able and bounded (strings capped, lists cut at 50, text at 4096
characters), omit absent facts, and never copy a secret: no API key, JWT, QR code, media bytes or media key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from .values import from_epoch_millis, from_epoch_seconds, from_iso, iso_utc, to_int

Summary = tuple[dict[str, Any], datetime | None]
"""The summary fields and the instant the event happened (``None`` when the body does not say)."""

TEXT_LIMIT = 4096
STRING_LIMIT = 256
LIST_LIMIT = 50

PHONE_SUFFIX = "@s.whatsapp.net"
LID_SUFFIX = "@lid"

STATUS_RANKS: Mapping[str, int] = MappingProxyType(
    {"PENDING": 1, "SERVER_ACK": 2, "DELIVERY_ACK": 3, "READ": 4, "PLAYED": 5}
)
"""Delivery progress; a status only moves up. ``ERROR`` and ``DELETED`` are outside the order and get no rank."""

_STATUS_NAMES = ("ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ", "PLAYED")
"""Baileys ``WebMessageInfo.Status`` numbers, for senders that forward the raw number instead of the name."""

_WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
)
"""Baileys containers whose ``.message`` holds the real content."""
_MAX_UNWRAP = 4

_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "conversation": "text",
        "extendedTextMessage": "text",
        "imageMessage": "image",
        "videoMessage": "video",
        "ptvMessage": "video",
        "audioMessage": "audio",
        "documentMessage": "document",
        "stickerMessage": "sticker",
        "locationMessage": "location",
        "liveLocationMessage": "location",
        "contactMessage": "contact",
        "contactsArrayMessage": "contact",
        "reactionMessage": "reaction",
        "pollCreationMessage": "poll",
        "pollCreationMessageV2": "poll",
        "pollCreationMessageV3": "poll",
        "pollUpdateMessage": "poll",
        "buttonsResponseMessage": "button_reply",
        "templateButtonReplyMessage": "button_reply",
        "interactiveResponseMessage": "button_reply",
        "listResponseMessage": "list_reply",
        "editedMessage": "edit",
        "protocolMessage": "protocol",
    }
)
"""Baileys content key -> message kind."""

_TEXT_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "extendedTextMessage": "text",
        "imageMessage": "caption",
        "videoMessage": "caption",
        "documentMessage": "caption",
        "buttonsResponseMessage": "selectedDisplayText",
        "templateButtonReplyMessage": "selectedDisplayText",
        "listResponseMessage": "title",
        "reactionMessage": "text",
    }
)
"""Where each content type keeps its human text (``conversation`` is the text itself)."""

_MEDIA_KINDS = frozenset({"image", "video", "audio", "voice_note", "document", "sticker"})
_NEEDS_QR_STATES = frozenset({"close", "refused"})


def summarize(event_name: str, envelope: Mapping[str, Any]) -> Summary:
    """Summary of a parsed body, by canonical event name; unknown names get the generic one."""
    return _SUMMARIZERS.get(event_name, _generic)(envelope.get("data"), envelope)


def chat_type(jid: str | None) -> str | None:
    """What kind of chat a JID addresses; a ``@lid`` is a person, just not by phone number."""
    if jid is None:
        return None
    if jid.endswith((PHONE_SUFFIX, LID_SUFFIX)):
        return "direct"
    if jid.endswith("@g.us"):
        return "group"
    if jid == "status@broadcast":
        return "status"
    if jid.endswith("@newsletter"):
        return "newsletter"
    if jid.endswith("@broadcast"):
        return "broadcast"
    return "unknown"


def status_name(value: Any) -> str | None:
    """The delivery status as the v2 string, also when a sender forwards Baileys' number."""
    if isinstance(value, str) and value:
        return value[:STRING_LIMIT]
    number = to_int(value)
    return _STATUS_NAMES[number] if number is not None and 0 <= number < len(_STATUS_NAMES) else None


def _text(value: Any, limit: int = STRING_LIMIT) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _first(suffix: str, *candidates: Any) -> str | None:
    """The first candidate JID of the given form: the only safe way to tell a phone from a LID."""
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.endswith(suffix):
            return candidate[:STRING_LIMIT]
    return None


def _jids(items: list[Any], field: str | None) -> list[str] | None:
    """Up to ``LIST_LIMIT`` JIDs of a batch: the items themselves, or each item's ``field``."""
    found = []
    for item in items:
        jid = _text(item) if field is None else _text(_mapping(item).get(field))
        if jid is not None:
            found.append(jid)
            if len(found) == LIST_LIMIT:
                break
    return found or None


def _at(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _addressing(key: Mapping[str, Any]) -> dict[str, Any]:
    """Chat, phone, LID, author and direction from a message key (or a receipt's flat copy of one)."""
    chat = _text(key.get("remoteJid"))
    alternate = key.get("remoteJidAlt")
    participant = _text(key.get("participant"))
    return {
        "chat_jid": chat,
        "chat_type": chat_type(chat),
        "phone_jid": _first(PHONE_SUFFIX, chat, alternate, key.get("senderPn")),
        "lid": _first(LID_SUFFIX, chat, alternate, key.get("senderLid")),
        "participant": participant,
        "participant_phone_jid": _first(PHONE_SUFFIX, participant, key.get("participantAlt"), key.get("participantPn")),
        "direction": "outbound" if key.get("fromMe") is True else "inbound",
    }


def _unwrap(message: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The innermost content of Baileys wrappers, and whether one of them marked an edit."""
    edited = False
    for _ in range(_MAX_UNWRAP):
        for wrapper in _WRAPPERS:
            container = message.get(wrapper)
            if isinstance(container, dict) and isinstance(container.get("message"), dict):
                edited = edited or wrapper == "editedMessage"
                message = container["message"]
                break
        else:
            break
    return message, edited


def _describe(message: Mapping[str, Any]) -> tuple[str, str | None, Any]:
    """Kind, content key and content of a Baileys message; its first known content key wins."""
    for name, content in message.items():
        kind = _KINDS.get(name)
        if kind is not None:
            return kind, name, content
    return "unknown", None, None


def _content_text(name: str | None, content: Any) -> str | None:
    if name == "conversation":
        return _text(content, TEXT_LIMIT)
    field = _TEXT_FIELDS.get(name or "")
    return None if field is None else _text(_mapping(content).get(field), TEXT_LIMIT)


def _content(message: Any) -> dict[str, Any]:
    """Kind, text and media facts of ``data.message``."""
    if not isinstance(message, dict):
        return {}
    inner, edited = _unwrap(message)
    kind, name, content = _describe(inner)
    edit = _mapping(content).get("editedMessage") if kind == "protocol" else None
    if isinstance(edit, dict):
        kind = "edit"
        text = _content_text(*_describe(edit)[1:])
    else:
        kind = "edit" if edited else kind
        text = _content_text(name, content)
    details = _mapping(content)
    if kind == "audio" and details.get("ptt") is True:
        kind = "voice_note"
    fields: dict[str, Any] = {"message_kind": kind, "text": text}
    if kind == "reaction":
        fields["reacted_message_id"] = _text(_mapping(details.get("key")).get("id"))
    if kind in _MEDIA_KINDS:
        fields["media"] = _compact(
            {
                "mimetype": _text(details.get("mimetype")),
                "size": to_int(details.get("fileLength")),
                "file_name": _text(details.get("fileName")),
                "seconds": to_int(details.get("seconds")),
                "base64_inlined": isinstance(message.get("base64"), str),
            }
        )
    return fields


def _message(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """``messages.upsert`` and ``send.message``: one message."""
    if not isinstance(data, dict):
        return {}, None
    key = _mapping(data.get("key"))
    moment = from_epoch_seconds(data.get("messageTimestamp"))
    fields = {
        "message_id": _text(key.get("id")),
        **_addressing(key),
        "push_name": _text(data.get("pushName")),
        **_content(data.get("message")),
        "status": status_name(data.get("status")),
        "source": _text(data.get("source")),
        "occurred_at": _at(moment),
    }
    return _compact(fields), moment


def _message_batch(data: Any, envelope: Mapping[str, Any]) -> Summary:
    """``messages.set``: a count and the first and last messages, plus the 2.4.0-rc sync progress."""
    fields: dict[str, Any] = {"count": len(data)} if isinstance(data, list) else {}
    if isinstance(data, list) and data:
        fields["first"] = _message(data[0], envelope)[0]
        fields["last"] = _message(data[-1], envelope)[0]
    fields["is_latest"] = _flag(envelope.get("isLatest"))
    fields["progress"] = to_int(envelope.get("progress"))
    return _compact(fields), None


def _update(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """``messages.update``: v2 ``keyId`` or v1 ``id``, and v1's ``datetime`` in milliseconds."""
    if not isinstance(data, dict):
        return {}, None
    status = status_name(data.get("status"))
    moment = from_epoch_millis(data.get("datetime"))
    fields = {
        "message_id": _text(data.get("keyId")) or _text(data.get("id")),
        **_addressing(data),
        "status": status,
        "status_rank": STATUS_RANKS.get(status or ""),
        "occurred_at": _at(moment),
    }
    return _compact(fields), moment


def _delete(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """``messages.delete``: the WhatsApp id of a stored message's key wins over the store's own ``id``."""
    if not isinstance(data, dict):
        return {}, None
    key = data.get("key")
    key = key if isinstance(key, dict) else data
    return _compact({"message_id": _text(key.get("id")), **_addressing(key)}), None


def _protocol(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """``messages.edited`` / ``send.message.update``: an edit when ``editedMessage`` is there, else another protocol."""
    if not isinstance(data, dict):
        return {}, None
    key = _mapping(data.get("key"))
    edit = data.get("editedMessage")
    moment = from_epoch_millis(data.get("timestampMs"))
    fields = {
        "message_id": _text(key.get("id")),
        **_addressing(key),
        "message_kind": "edit" if isinstance(edit, dict) else "protocol",
        "text": _content_text(*_describe(edit)[1:]) if isinstance(edit, dict) else None,
        "protocol_type": _text(data.get("type")) or to_int(data.get("type")),  # enum name or number, as sent
        "occurred_at": _at(moment),
    }
    return _compact(fields), moment


def _connection(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """Only a terminal ``close`` (401/403/...) or ``refused`` reaches the webhook: both need a new QR scan."""
    data = _mapping(data)
    state = _text(data.get("state"))
    fields = {
        "state": state,
        "reason": to_int(data.get("statusReason")),
        "needs_qr_scan": None if state is None else state in _NEEDS_QR_STATES,
        "wuid": _text(data.get("wuid")),
        "profile_name": _text(data.get("profileName")),
    }
    return _compact(fields), None


def _instance_status(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    data = _mapping(data)
    status = _text(data.get("status"))
    fields = {
        "status": status,
        "needs_qr_scan": None if status is None else status == "closed",
        "reason": to_int(data.get("disconnectionReasonCode")),
    }
    return _compact(fields), None


def _qrcode(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """Whether there is something to show, never the code itself: it is a live login credential."""
    data = _mapping(data)
    qrcode = _mapping(data.get("qrcode"))
    fields = {
        "has_qr": bool(_text(qrcode.get("code")) or _text(qrcode.get("base64"))),
        "has_pairing_code": _text(qrcode.get("pairingCode")) is not None,
        "limit_reached": "qrcode" not in data and ("message" in data or "statusCode" in data),
    }
    return fields, None


def _call(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    data = _mapping(data)
    moment = from_iso(data.get("date"))
    fields = {
        "call_id": _text(data.get("id")),
        "from": _text(data.get("from")),
        "status": _text(data.get("status")),
        "is_video": _flag(data.get("isVideo")),
        "is_group": _flag(data.get("isGroup")),
        "occurred_at": _at(moment),
    }
    return _compact(fields), moment


def _participants(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """``group-participants.update``: participants are JID strings or Baileys 7 objects with a ``phoneNumber``."""
    data = _mapping(data)
    members = data.get("participants")
    members = members if isinstance(members, list) else []
    objects = [member for member in members if isinstance(member, dict)]
    fields = {
        "group_jid": _text(data.get("id")),
        "action": _text(data.get("action")),
        "author": _text(data.get("author")),
        "participants": _jids([member.get("id") if isinstance(member, dict) else member for member in members], None),
        "participant_phone_jids": _jids(objects, "phoneNumber"),
        "count": len(members) if members else None,
    }
    return _compact(fields), None


def _presence(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    data = _mapping(data)
    presences: dict[str, str] = {}
    for jid, presence in _mapping(data.get("presences")).items():
        state = _text(_mapping(presence).get("lastKnownPresence"))
        if state is not None:
            presences[jid[:STRING_LIMIT]] = state
            if len(presences) == LIST_LIMIT:
                break
    return _compact({"chat_jid": _text(data.get("id")), "presences": presences or None}), None


def _error(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """The errors webhook: its ``message`` is a string or a list of strings."""
    data = _mapping(data)
    message = data.get("message")
    if isinstance(message, list):
        message = "; ".join(part for part in message if isinstance(part, str))
    fields = {"status": to_int(data.get("status")), "error": _text(data.get("error")), "message": _text(message, 512)}
    return _compact(fields), None


def _batch(field: str | None) -> Callable[[Any, Mapping[str, Any]], Summary]:
    """Contacts, chats and groups: a count and the first JIDs; a single object counts as a batch of one."""

    def summarize_batch(data: Any, _envelope: Mapping[str, Any]) -> Summary:
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
        return _compact({"count": len(items), "jids": _jids(items, field)}), None

    return summarize_batch


def _fields(**names: str) -> Callable[[Any, Mapping[str, Any]], Summary]:
    """Summary copying a few scalar ``data`` fields under snake_case names (``summary name=data field``)."""

    def summarize_fields(data: Any, _envelope: Mapping[str, Any]) -> Summary:
        data = _mapping(data)
        fields = {}
        for name, field in names.items():
            value = data.get(field)
            fields[name] = value if isinstance(value, bool) else _text(value) or to_int(value)
        return _compact(fields), None

    return summarize_fields


def _generic(data: Any, _envelope: Mapping[str, Any]) -> Summary:
    """Events without their own summary: only the size of a batch."""
    return ({"count": len(data)} if isinstance(data, list) else {}), None


_SUMMARIZERS: Mapping[str, Callable[[Any, Mapping[str, Any]], Summary]] = MappingProxyType(
    {
        "messages.upsert": _message,
        "send.message": _message,
        "messages.set": _message_batch,
        "messages.update": _update,
        "messages.delete": _delete,
        "messages.edited": _protocol,
        "send.message.update": _protocol,
        "connection.update": _connection,
        "status.instance": _instance_status,
        "qrcode.updated": _qrcode,
        "call": _call,
        "group-participants.update": _participants,
        "presence.update": _presence,
        "error": _error,
        "contacts.set": _batch("remoteJid"),
        "contacts.upsert": _batch("remoteJid"),
        "contacts.update": _batch("remoteJid"),
        "chats.set": _batch("remoteJid"),
        "chats.upsert": _batch("remoteJid"),
        "chats.update": _batch("remoteJid"),
        "chats.delete": _batch(None),
        "groups.upsert": _batch("id"),
        "groups.update": _batch("id"),
        "labels.edit": _fields(label_id="id", name="name", deleted="deleted"),
        "labels.association": _fields(action="type", chat_jid="chatId", label_id="labelId"),
        "typebot.start": _fields(chat_jid="remoteJid", session_id="sessionId"),
        "typebot.change-status": _fields(chat_jid="remoteJid", status="status"),
        "instance.create": _fields(instance_name="instanceName", instance_id="instanceId"),
        "instance.delete": _fields(instance_name="instanceName", instance_id="instanceId"),
        "messaging-history.set": _fields(
            message_count="messageCount", chat_count="chatCount", contact_count="contactCount", progress="progress"
        ),
        "new.jwt": _fields(instance_name="instanceName"),
    }
)
