"""The event catalog: every spelling resolves, topic keys are usable as CloudFormation ids."""

from __future__ import annotations

import re

import pytest

from webhook_hub.core.catalog import (
    EVENT_TYPES,
    UNCLASSIFIED_TOPIC_KEY,
    EventType,
    config_spelling,
    lookup,
    topic_key,
    topic_keys,
)


def _spellings(event_type: EventType) -> list[str]:
    spellings = [event_type.name, event_type.config_name, config_spelling(event_type.name)]
    return [*spellings, event_type.suffix] if event_type.suffix else spellings


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda event_type: event_type.name)
def test_every_spelling_looks_up_case_insensitively(event_type: EventType) -> None:
    for spelling in _spellings(event_type):
        for variant in (spelling, spelling.upper(), spelling.lower(), spelling.swapcase(), f" /{spelling}/ "):
            assert lookup(variant) is event_type, variant


def test_spellings_follow_the_senders_derivation() -> None:
    upsert = lookup("messages.upsert")
    assert upsert is not None
    assert (upsert.config_name, upsert.suffix, upsert.topic_key) == (
        "MESSAGES_UPSERT",
        "messages-upsert",
        "MessagesUpsert",
    )
    participants = lookup("GROUP_PARTICIPANTS_UPDATE")
    assert participants is not None
    assert participants.name == "group-participants.update"
    assert participants.suffix == "group-participants-update"


def test_special_spellings() -> None:
    assert lookup("GROUP_UPDATE") is lookup("groups.update"), "the sender's own misspelling of groups.update"
    assert lookup("NEW_JWT_TOKEN") is lookup("new.jwt")
    assert lookup("WEBHOOK_EVENTS_ERRORS") is lookup("error")
    assert [t.suffix for t in EVENT_TYPES if t.suffix is None] == [None, None]


def test_unknown_spellings() -> None:
    assert lookup("group.join-request") is None
    assert lookup("") is None
    assert lookup("messages") is None


def test_names_are_unique() -> None:
    assert len({t.name for t in EVENT_TYPES}) == len(EVENT_TYPES)
    assert len({t.config_name for t in EVENT_TYPES}) == len(EVENT_TYPES)


def test_topic_keys_are_unique_and_alphanumeric() -> None:
    keys = topic_keys()
    assert keys[:-1] == tuple(topic_key(event_type.name) for event_type in EVENT_TYPES)
    assert len(set(keys)) == len(keys) == len(EVENT_TYPES) + 1
    assert keys[-1] == UNCLASSIFIED_TOPIC_KEY
    for key in keys:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", key), key
    assert topic_key("typebot.change-status") == "TypebotChangeStatus"
