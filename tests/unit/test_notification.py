"""The notification document and its SNS attributes: valid against the published model, bounded, filterable."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from webhook_hub.core.classify import classify
from webhook_hub.core.notification import (
    MAX_ATTRIBUTE_LENGTH,
    NOTIFICATION_VERSION,
    Notification,
    build_notification,
    message_attributes,
    notification_json_schema,
)
from webhook_hub.core.redact import REDACTED, redact
from webhook_hub.delivery import build_delivery

Load = Callable[[str], dict[str, Any]]

RECEIVED = datetime(2026, 1, 1, 12, 0, 1, 250000, tzinfo=UTC)
REF = {"bucket": "hub-payloads", "key": "payloads/abc.json", "size": 1234567, "sha256": "0" * 64}


def test_every_sample_builds_a_valid_notification(sample_path: Path) -> None:
    c = classify(sample_path.read_bytes())
    document = build_notification(c, received_at=RECEIVED, payload=redact(c.payload))
    parsed = Notification.model_validate(json.loads(json.dumps(document, allow_nan=False)))
    assert parsed.event_id == c.event_id
    assert parsed.received_at == RECEIVED.replace(microsecond=250000)
    assert parsed.occurred_at == c.occurred_at
    assert document["received_at"] == "2026-01-01T12:00:01.250Z"
    assert document["payload_ref"] is None
    assert "FAKE-INSTANCE-TOKEN" not in json.dumps(document)
    assert "FAKE-GLOBAL-API-KEY" not in json.dumps(document)


def test_notification_fields(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")))
    document = build_notification(c, received_at=RECEIVED, payload=redact(c.payload))
    assert document == {
        "version": NOTIFICATION_VERSION,
        "event_id": c.event_id,
        "event_type": "messages.upsert",
        "known": True,
        "valid": True,
        "reasons": [],
        "instance": "loja-centro",
        "topic_key": "MessagesUpsert",
        "received_at": "2026-01-01T12:00:01.250Z",
        "occurred_at": "2026-01-01T12:00:00.000Z",
        "summary": c.summary,
        "payload": redact(c.payload),
        "payload_ref": None,
    }
    assert document["payload"]["apikey"] == REDACTED


def test_payload_ref_instead_of_payload(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/unknown-future-event.json")))
    document = build_notification(c, received_at=RECEIVED, payload=None, payload_ref=REF | {"extra": "dropped"})
    parsed = Notification.model_validate(document)
    assert parsed.payload is None
    assert parsed.payload_ref is not None
    assert parsed.payload_ref.model_dump() == REF
    assert document["reasons"] == ["unknown event 'group.join-request'"]


@pytest.mark.parametrize(("payload", "ref"), [(None, None), ({"event": "x"}, REF)])
def test_exactly_one_of_payload_and_ref(payload: Any, ref: dict[str, Any] | None, load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/call.json")))
    with pytest.raises(ValueError, match="exactly one"):
        build_notification(c, received_at=RECEIVED, payload=payload, payload_ref=ref)


def _dumps(value: Any) -> str:
    """The stored and published JSON form, spelled out here rather than taken from the code under test."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_the_published_text_is_the_document_dumped_compactly(sample_path: Path) -> None:
    c = classify(sample_path.read_bytes())
    payload = redact(c.payload, ["FAKE-INSTANCE-TOKEN-0000-0000-000000000000"])
    inline = build_delivery(c, received_at=RECEIVED, payload=payload)
    offloaded = build_delivery(c, received_at=RECEIVED, payload=None, payload_ref=REF | {"extra": 1})
    assert inline.notification == _dumps(build_notification(c, received_at=RECEIVED, payload=payload))
    assert offloaded.notification == _dumps(build_notification(c, received_at=RECEIVED, payload=None, payload_ref=REF))


def test_received_at_must_be_aware_and_becomes_utc(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/call.json")))
    with pytest.raises(ValueError, match="timezone-aware"):
        build_notification(c, received_at=datetime(2026, 1, 1), payload={})
    local = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    assert build_notification(c, received_at=local, payload={})["received_at"] == "2026-01-01T12:00:00.000Z"


def test_the_model_forbids_unknown_fields(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/call.json")))
    document = build_notification(c, received_at=RECEIVED, payload={})
    with pytest.raises(ValidationError):
        Notification.model_validate(document | {"apikey": "x"})
    with pytest.raises(ValidationError):
        Notification.model_validate(document | {"version": "2"})


def test_attributes_are_valid_sns_attributes(sample_path: Path) -> None:
    attributes = message_attributes(classify(sample_path.read_bytes()))
    assert len(attributes) <= 10, "the SNS limit"
    for name, value in attributes.items():
        assert re.fullmatch(r"[A-Za-z0-9_]+", name)
        assert isinstance(value, str)
        assert 0 < len(value) <= MAX_ATTRIBUTE_LENGTH


def test_message_attributes(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")))
    assert message_attributes(c) == {
        "event_type": "messages.upsert",
        "topic_key": "MessagesUpsert",
        "valid": "true",
        "instance": "loja-centro",
        "direction": "inbound",
        "chat_type": "direct",
        "message_kind": "text",
        "status": "DELIVERY_ACK",
    }


def test_health_attributes(load_body: Load) -> None:
    close = message_attributes(classify(json.dumps(load_body("reference/connection-update-close.json"))))
    assert close["needs_qr_scan"] == "true"
    assert message_attributes(classify(json.dumps(load_body("status-instance.json"))))["needs_qr_scan"] == "true"
    assert message_attributes(classify(json.dumps(load_body("connection-update.json"))))["needs_qr_scan"] == "false"


def test_attributes_without_instance_and_when_unclassified(load_body: Load) -> None:
    assert message_attributes(classify(json.dumps(load_body("reference/error-webhook.json")))) == {
        "event_type": "error",
        "topic_key": "Error",
        "valid": "true",
    }
    unknown = message_attributes(classify(json.dumps(load_body("reference/unknown-future-event.json"))))
    assert unknown["valid"] == "false"
    assert unknown["topic_key"] == "Unclassified"


def test_attribute_values_are_bounded_and_printable() -> None:
    body = {"event": "odd\u0001event", "instance": "i\ud800" + "x" * 1000, "data": None}
    attributes = message_attributes(classify(json.dumps(body)))
    assert attributes["event_type"] == "odd\ufffdevent"
    assert len(attributes["instance"]) == MAX_ATTRIBUTE_LENGTH
    assert attributes["instance"].startswith("i\ufffdx")


def test_json_schema() -> None:
    schema = notification_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(Notification.model_fields)
    assert schema["properties"]["version"]["const"] == NOTIFICATION_VERSION
