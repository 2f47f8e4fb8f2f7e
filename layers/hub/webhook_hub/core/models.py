"""Pydantic models of webhook bodies, tolerant by design.

The sender adds fields in every minor version, so every model allows extra keys and requires only what its
event cannot mean anything without. Baileys content (``data.message``, ``editedMessage``) stays an opaque dict:
its encoding changed in 2.3.6 and classification reads it defensively instead. Models build their validators on
first use (``defer_build``) and envelopes are created per event type on demand, which keeps a cold start cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, model_validator

from .catalog import topic_key
from .values import to_int


def _int64(value: Any) -> Any:
    """Numbers, decimal strings and Long objects become ints; anything else reaches pydantic's own error."""
    number = to_int(value)
    return value if number is None else number


Int64 = Annotated[int, BeforeValidator(_int64)]
"""A Baileys int64 in any of its three wire forms."""


class OpenModel(BaseModel):
    """Base of every model: unknown keys are kept, validators are built lazily."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class Envelope(OpenModel):
    """The top level of every POST. ``date_time`` is the sender's local time mislabelled ``Z``: never UTC."""

    event: str
    instance: str | None = None
    """Absent on the errors webhook."""
    data: Any = None
    destination: str | None = None
    date_time: str | None = None
    sender: str | None = None
    """Absent before the first login (e.g. on the first ``qrcode.updated``)."""
    server_url: str | None = None
    apikey: str | None = None


class MessageKey(OpenModel):
    remoteJid: str
    id: str
    fromMe: bool | None = None
    participant: str | None = None
    remoteJidAlt: str | None = None
    participantAlt: str | None = None
    addressingMode: str | None = None
    senderPn: str | None = None
    senderLid: str | None = None


class MessageData(OpenModel):
    """``messages.upsert``, ``send.message`` and each ``messages.set`` item."""

    key: MessageKey
    pushName: str | None = None
    status: str | int | None = None
    message: dict[str, Any] | None = None
    messageType: str | None = None
    messageTimestamp: Int64 | None = None
    instanceId: str | None = None
    source: str | None = None
    owner: str | None = None


class MessageUpdate(OpenModel):
    """A receipt: v2 ``{keyId, remoteJid, fromMe, status, ...}`` or v1 ``{id, remoteJid, fromMe, status, datetime}``."""

    keyId: str | None = None
    id: str | None = None
    remoteJid: str | None = None
    fromMe: bool | None = None
    participant: str | None = None
    status: str | int
    datetime: Int64 | None = None
    messageId: str | None = None
    instanceId: str | None = None

    @model_validator(mode="after")
    def _has_message_id(self) -> Self:
        if not (self.keyId or self.id):
            raise ValueError("keyId (v2) or id (v1) is required")
        return self


class MessageDelete(OpenModel):
    """A deleted message: its bare key, or a stored message holding the key under ``key``."""

    id: str | None = None
    remoteJid: str | None = None
    fromMe: bool | None = None
    participant: str | None = None
    key: MessageKey | None = None

    @model_validator(mode="after")
    def _has_message_id(self) -> Self:
        if not (self.id or self.key):
            raise ValueError("id or key is required")
        return self


class ProtocolMessage(OpenModel):
    """``messages.edited`` / ``send.message.update``: any Baileys protocol message, not only edits."""

    key: MessageKey
    type: str | int | None = None
    editedMessage: dict[str, Any] | None = None
    timestampMs: Int64 | None = None


class ConnectionUpdate(OpenModel):
    instance: str | None = None
    state: str
    statusReason: Int64 | None = None
    wuid: str | None = None
    profileName: str | None = None
    profilePictureUrl: str | None = None


class QrCode(OpenModel):
    instance: str | None = None
    pairingCode: str | None = None
    code: str | None = None
    base64: str | None = None


class QrcodeUpdated(OpenModel):
    """A new QR code (``{qrcode: {...}}``) or the limit notice (``{message, statusCode}``)."""

    qrcode: QrCode | None = None
    message: str | None = None
    statusCode: Int64 | None = None

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if self.qrcode is None and self.message is None and self.statusCode is None:
            raise ValueError("qrcode, or message/statusCode of the limit notice, is required")
        return self


class StatusInstance(OpenModel):
    instance: str | None = None
    status: str
    disconnectionReasonCode: Int64 | None = None


class Presence(OpenModel):
    lastKnownPresence: str | None = None
    lastSeen: Int64 | None = None


class PresenceUpdate(OpenModel):
    id: str
    presences: dict[str, Presence]


class Contact(OpenModel):
    remoteJid: str | None = None
    pushName: str | None = None
    profilePicUrl: str | None = None
    instanceId: str | None = None


class Chat(OpenModel):
    remoteJid: str | None = None
    instanceId: str | None = None
    name: str | None = None
    unreadMessages: Int64 | None = None


class GroupParticipant(OpenModel):
    id: str
    phoneNumber: str | None = None
    lid: str | None = None
    admin: str | None = None


class GroupMetadata(OpenModel):
    """Baileys ``GroupMetadata``; ``groups.update`` sends partial ones, which still carry ``id``."""

    id: str
    subject: str | None = None
    owner: str | None = None
    size: Int64 | None = None
    participants: list[GroupParticipant] | None = None


class GroupParticipantsUpdate(OpenModel):
    """Participants are JID strings in older versions and Baileys 7 objects in newer ones."""

    id: str
    action: str
    participants: list[str | GroupParticipant]
    author: str | None = None
    authorPn: str | None = None


class Call(OpenModel):
    """Raw Baileys ``WACallEvent``; its ``date`` is real UTC."""

    id: str
    status: str
    from_: str | None = Field(default=None, alias="from")
    chatId: str | None = None
    callerPn: str | None = None
    groupJid: str | None = None
    isVideo: bool | None = None
    isGroup: bool | None = None
    offline: bool | None = None


class Label(OpenModel):
    id: str
    name: str | None = None
    deleted: bool | None = None


class LabelAssociation(OpenModel):
    type: str
    chatId: str
    labelId: str


class TypebotStart(OpenModel):
    remoteJid: str
    url: str | None = None
    typebot: str | None = None
    sessionId: str | None = None


class TypebotStatus(OpenModel):
    remoteJid: str
    status: str


class InstanceLifecycle(OpenModel):
    instanceName: str
    instanceId: str | None = None


class MessagingHistory(OpenModel):
    messageCount: Int64 | None = None
    chatCount: Int64 | None = None
    contactCount: Int64 | None = None
    progress: Int64 | None = None


class ErrorReport(OpenModel):
    """The errors webhook's ``data``; ``message`` is a string or a list of strings."""

    error: str | None = None
    message: str | list[str] | None = None
    status: Int64 | None = None


class NewJwt(OpenModel):
    jwt: str
    instanceName: str | None = None


_REQUIRED: Any = ...

DATA_MODELS: Mapping[str, tuple[Any, Any]] = MappingProxyType(
    {
        "instance.create": (InstanceLifecycle, _REQUIRED),
        "instance.delete": (InstanceLifecycle, _REQUIRED),
        "qrcode.updated": (QrcodeUpdated, _REQUIRED),
        "connection.update": (ConnectionUpdate, _REQUIRED),
        "status.instance": (StatusInstance, _REQUIRED),
        "messages.set": (list[MessageData], _REQUIRED),
        "messages.upsert": (MessageData, _REQUIRED),
        "messages.edited": (ProtocolMessage, _REQUIRED),
        "messages.update": (MessageUpdate, _REQUIRED),
        "messages.delete": (MessageDelete, _REQUIRED),
        "send.message": (MessageData, _REQUIRED),
        "send.message.update": (ProtocolMessage, _REQUIRED),
        "contacts.upsert": (list[Contact] | Contact, _REQUIRED),
        "contacts.update": (list[Contact] | Contact, _REQUIRED),
        "presence.update": (PresenceUpdate, _REQUIRED),
        "chats.set": (list[Chat], _REQUIRED),
        "chats.upsert": (list[Chat], _REQUIRED),
        "chats.update": (list[Chat], _REQUIRED),
        "chats.delete": (list[str], _REQUIRED),
        "groups.upsert": (list[GroupMetadata], _REQUIRED),
        "groups.update": (list[GroupMetadata], _REQUIRED),
        "group-participants.update": (GroupParticipantsUpdate, _REQUIRED),
        "call": (Call, _REQUIRED),
        "typebot.start": (TypebotStart, _REQUIRED),
        "typebot.change-status": (TypebotStatus, _REQUIRED),
        "labels.edit": (Label, _REQUIRED),
        "labels.association": (LabelAssociation, _REQUIRED),
        "remove.instance": (dict[str, Any] | None, None),
        "logout.instance": (dict[str, Any] | None, None),
        "messaging-history.set": (MessagingHistory, _REQUIRED),
        "error": (ErrorReport, _REQUIRED),
        "new.jwt": (NewJwt, _REQUIRED),
    }
)
"""Canonical event name -> (type of ``data``, default). Events missing here accept any ``data``."""


@cache
def envelope_model(event_name: str | None) -> type[Envelope]:
    """The envelope whose ``data`` is typed for this event; the plain envelope for unmodelled or unknown events."""
    spec = DATA_MODELS.get(event_name or "")
    if event_name is None or spec is None:
        return Envelope
    return create_model(f"{topic_key(event_name)}Envelope", __base__=Envelope, data=spec)
