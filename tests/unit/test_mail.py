"""The e-mail text: short, human, secret-free, and the same bytes from the first delivery and from the stored item."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from webhook_hub.core.classify import classify
from webhook_hub.core.mail import MAIL_TEXT_LIMIT, mail_subject, mail_text, subject_line
from webhook_hub.core.notification import sns_message
from webhook_hub.core.redact import redact
from webhook_hub.core.values import compact_json
from webhook_hub.delivery import build_delivery, delivery_of
from webhook_hub.record import build_item

Load = Callable[[str], dict[str, Any]]

RECEIVED = datetime(2026, 1, 1, 12, 0, 1, 250000, tzinfo=UTC)


def test_a_message_mail_says_what_who_where_what_text_when_and_how_to_see_it(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")))

    text = mail_text(c, received_at=RECEIVED)

    lines = text.splitlines()
    assert lines[0] == "WhatsApp message received"
    assert "Instance: loja-centro" in lines
    assert "Chat: 5511900000001@s.whatsapp.net" in lines
    assert "From: Maria Teste" in lines
    assert "Text: Olá! Vocês abrem no sábado?" in lines
    assert "Time: 2026-01-01T12:00:00.000Z" in lines
    assert "Received: 2026-01-01T12:00:01.250Z" in lines
    assert f"  webhook-hub show {c.event_id}" in lines
    assert len(text) < 1_000


def test_a_disconnect_mail_gives_the_state_and_what_to_do(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/connection-update-close.json")))

    text = mail_text(c, received_at=RECEIVED)

    assert text.startswith("Connection state changed\n")
    assert "State: close" in text
    assert "Reason code: 401" in text
    assert "scanning a new QR code" in text
    assert "Time: 2026-01-01T12:00:01.250Z" in text  # no instant in the body: the time it was received


def test_a_long_text_is_cut_and_an_unknown_event_is_named(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-text.json")
    body["data"]["message"]["conversation"] = "x" * 3_000 + "\nsecond line"
    unknown = {"event": "group.join-request", "instance": "loja-centro", "data": {}}

    cut = mail_text(classify(json.dumps(body)), received_at=RECEIVED)
    named = mail_text(classify(json.dumps(unknown)), received_at=RECEIVED)

    assert "Text: " + "x" * MAIL_TEXT_LIMIT + "…\n" in cut
    assert "second line" not in cut
    assert named.startswith("Event group.join-request (unclassified)\n")
    assert "Why unclassified: " in named


def test_the_subject_is_short_ascii_and_names_the_instance(load_body: Load) -> None:
    body = load_body("reference/connection-update-close.json")
    body["instance"] = "Loja São João " + "x" * 200

    subject = mail_subject(classify(json.dumps(body)))

    assert subject.startswith("Webhook Hub: Connection state changed (Loja S?o Jo?o xxx")
    assert subject.endswith("...")
    assert len(subject) == 99
    assert subject.isascii()
    assert subject_line("a\nb") == "a?b"


def test_no_sample_mail_carries_a_secret_or_a_control_character(sample_path: Path) -> None:
    c = classify(sample_path.read_bytes())

    text = mail_text(c, received_at=RECEIVED) + mail_subject(c)

    for secret in ("FAKE-INSTANCE-TOKEN", "FAKE-GLOBAL-API-KEY", "eyJ", "2@FAKE", "FAKE1234", "base64,"):
        assert secret not in text
    assert all(line.isprintable() for line in text.splitlines())


def test_the_message_gives_email_the_text_and_every_other_protocol_the_document(load_body: Load) -> None:
    c = classify(json.dumps(load_body("reference/messages-upsert-text.json")))
    delivery = build_delivery(c, received_at=RECEIVED, payload=redact(c.payload))

    structure = json.loads(delivery.message)

    assert structure == {"default": delivery.notification, "email": mail_text(c, received_at=RECEIVED)}
    assert json.loads(structure["default"])["event_id"] == c.event_id
    assert delivery.message == sns_message(delivery.notification, structure["email"])


def test_a_stored_item_rebuilds_the_very_bytes_first_published(sample_path: Path) -> None:
    c = classify(sample_path.read_bytes())
    payload = redact(c.payload)
    first = build_delivery(c, received_at=RECEIVED, payload=payload)
    item = build_item(
        c,
        received_at=RECEIVED,
        payload_json=compact_json(payload),
        payload_ref=None,
        lease_until=0,
        sweep_at=0,
        retention_days=30,
    )

    rebuilt = delivery_of(item)

    assert rebuilt == first
