"""The event catalog: the single source for event names, their spellings and their SNS topics.

Evolution API spells every event three ways (body ``messages.upsert``, config ``MESSAGES_UPSERT``,
URL suffix ``messages-upsert``). The template's topic list, the docs and classification all read
this table, so adding an event here is the whole change.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class EventType:
    """One event the sender can emit, with every spelling it may arrive under."""

    name: str
    """Body spelling, e.g. ``messages.upsert``."""
    meaning: str
    config_name: str = ""
    """Subscription spelling; derived from ``name`` unless the sender itself spells it otherwise."""
    suffix: str | None = ""
    """By-events URL suffix; derived from ``config_name``; ``None`` where the sender never appends one."""

    def __post_init__(self) -> None:
        if not self.config_name:
            object.__setattr__(self, "config_name", config_spelling(self.name))
        if self.suffix == "":
            object.__setattr__(self, "suffix", self.config_name.lower().replace("_", "-"))

    @property
    def topic_key(self) -> str:
        """Alphanumeric key of the type's SNS topic (``MessagesUpsert``), also its CloudFormation id stem."""
        return _TOPIC_KEYS.get(self.name) or topic_key(self.name)


UNCLASSIFIED_TOPIC_KEY = "Unclassified"
"""Topic for unknown event names and bodies that fail their event's model."""


def config_spelling(name: str) -> str:
    """Evolution's rule: ``.`` and ``-`` become ``_``, then upper case."""
    return name.replace(".", "_").replace("-", "_").upper()


def topic_key(name: str) -> str:
    return "".join(part.capitalize() for part in config_spelling(name).split("_") if part)


EVENT_TYPES: tuple[EventType, ...] = (
    EventType("application.startup", "Server start-up; configurable but never emitted by any known version."),
    EventType("instance.create", "An instance was created on the server."),
    EventType("instance.delete", "An instance was deleted from the server."),
    EventType("qrcode.updated", "A new QR code to scan (or the QR limit was reached); carries a live login secret."),
    EventType("connection.update", "The WhatsApp session changed state: connecting, open, close or refused."),
    EventType("status.instance", "The instance was logged out for good; the QR code must be scanned again."),
    EventType("messages.set", "History sync: a batch of past messages (can be large)."),
    EventType("messages.upsert", "A message was received, or sent from the phone or WhatsApp Web."),
    EventType("messages.edited", "A protocol message arrived: usually an edit, sometimes a revoke."),
    EventType("messages.update", "Delivery, read or played receipt for a message (status change)."),
    EventType("messages.delete", "A message was deleted for everyone."),
    EventType("send.message", "A message was sent through the API."),
    EventType("send.message.update", "A message sent through the API was edited through the API."),
    EventType("contacts.set", "Contact list sync; configurable but no emitter found."),
    EventType("contacts.upsert", "One or more contacts were added or refreshed."),
    EventType("contacts.update", "One or more contacts changed (name, picture)."),
    EventType("presence.update", "A contact is typing, recording, online or offline."),
    EventType("chats.set", "Chat list sync: the chats known after login."),
    EventType("chats.upsert", "Chats were created or their unread count changed."),
    EventType("chats.update", "Chats changed."),
    EventType("chats.delete", "Chats were deleted."),
    EventType("groups.upsert", "The account joined or created groups (full group metadata)."),
    EventType(
        "groups.update",
        "Group metadata changed (subject, settings); blocked by a sender naming bug in known versions.",
        suffix="groups-update",
    ),
    EventType("group-participants.update", "Participants were added, removed, promoted or demoted in a group."),
    EventType("call", "A voice or video call: offer, ringing, accept, reject, timeout or terminate."),
    EventType("typebot.start", "A Typebot flow started for a chat."),
    EventType("typebot.change-status", "A Typebot session was opened, paused or closed."),
    EventType("labels.edit", "A WhatsApp Business label was created, changed or deleted."),
    EventType("labels.association", "A label was added to or removed from a chat."),
    EventType("remove.instance", "The instance was removed (v2)."),
    EventType("logout.instance", "The instance was logged out through the API (v2)."),
    EventType("messaging-history.set", "History sync finished (2.4.0-rc): message, chat and contact counts."),
    EventType("chama-ai.action", "A Chama AI integration action (v1 only)."),
    EventType(
        "new.jwt",
        "A new instance JWT (v1 JWT auth mode); the token itself is a secret and is redacted.",
        config_name="NEW_JWT_TOKEN",
        suffix=None,
    ),
    EventType(
        "error",
        "The server's errors webhook: a failed API call; carries the server's global key, which is redacted.",
        config_name="WEBHOOK_EVENTS_ERRORS",
        suffix=None,
    ),
)


_TOPIC_KEYS = MappingProxyType({event_type.name: topic_key(event_type.name) for event_type in EVENT_TYPES})
"""Each catalog type's topic key, computed once: classification asks for it on every event."""


def _index() -> MappingProxyType[str, EventType]:
    spellings: dict[str, EventType] = {}
    for event_type in EVENT_TYPES:
        for spelling in (event_type.name, event_type.config_name, event_type.suffix, config_spelling(event_type.name)):
            if spelling:
                spellings.setdefault(spelling.lower(), event_type)
    # The sender's own allow-list spells groups.update as GROUP_UPDATE (its naming bug); accept it too.
    spellings.setdefault("group_update", spellings["groups.update"])
    return MappingProxyType(spellings)


_BY_SPELLING = _index()


def lookup(spelling: str) -> EventType | None:
    """The event type for any of its spellings, case-insensitive; ``None`` for an unknown name."""
    return _BY_SPELLING.get(spelling.strip().strip("/").lower())


def topic_keys() -> tuple[str, ...]:
    """Every topic the stack must create: one per event type, then the unclassified topic."""
    return (*(event_type.topic_key for event_type in EVENT_TYPES), UNCLASSIFIED_TOPIC_KEY)
