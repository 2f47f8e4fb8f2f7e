"""What each protocol receives (SNS ``MessageStructure=json``) and SNS's 256 KB limit on the whole structure.

moto delivers to SQS, HTTP and Lambda endpoints and picks each subscription's part of the structure as SNS does
(its protocol's key, else ``default``); it accepts e-mail subscriptions but sends no mail. For e-mail, the tests
read the structured message moto's SNS backend recorded for the topic (the session's server runs in this process)
and check its ``email`` part: that is what SNS mails, by the same selection rule the SQS deliveries exercise.
"""

from __future__ import annotations

import json
from typing import Any

from moto.sns.models import sns_backends

from webhook_hub.core.classify import classify
from webhook_hub.core.mail import mail_text
from webhook_hub.core.values import from_iso
from webhook_hub.delivery import delivery_of
from webhook_hub.settings import SNS_MESSAGE_LIMIT
from webhook_hub_cli import local_aws

from .conftest import invoke, receive_all, sample, scan_items

Published = tuple[str, str, dict[str, Any]]
"""The message as published (the structure), its subject and its attributes."""


def _recorded(stack: local_aws.LocalStack, topic_key: str) -> list[Published]:
    """Every message SNS took for the topic."""
    topic = sns_backends[local_aws.ACCOUNT_ID][local_aws.REGION].topics[stack.topic_arns[topic_key]]
    return [
        (message, subject or "", attributes or {}) for _id, message, subject, attributes, _ in topic.sent_notifications
    ]


def _sns_size(published: Published) -> int:
    """What the hub counts against SNS's limit: the message, the subject and each attribute's name, type and value,
    in UTF-8 bytes."""
    message, subject, attributes = published
    return (
        len(message.encode())
        + len(subject)
        + sum(len(name) + len(value["Type"]) + len(str(value["Value"]).encode()) for name, value in attributes.items())
    )


def test_queues_get_the_document_and_email_gets_the_short_text(stack: local_aws.LocalStack) -> None:
    raw = local_aws.subscribe_queue(stack, f"{stack.stack_name}-raw", ["MessagesUpsert"], raw=True)
    wrapped = local_aws.subscribe_queue(stack, f"{stack.stack_name}-wrapped", ["MessagesUpsert"], raw=False)
    sns = local_aws.client("sns", stack.endpoint_url)
    for protocol in ("email", "email-json"):
        sns.subscribe(TopicArn=stack.topic_arns["MessagesUpsert"], Protocol=protocol, Endpoint="owner@example.com")
    body = sample("reference/messages-upsert-text.json")

    answer = invoke(stack, body)

    assert answer.body["status"] == "accepted"
    (raw_message,) = receive_all(stack, raw)
    (wrapped_message,) = receive_all(stack, wrapped)
    document = raw_message["Body"]
    assert json.loads(wrapped_message["Body"])["Message"] == document
    assert json.loads(document)["payload"]["data"]["message"]["conversation"] == "Olá! Vocês abrem no sábado?"
    ((published, subject, _attributes),) = _recorded(stack, "MessagesUpsert")
    assert subject == "Webhook Hub: WhatsApp message received (loja-centro)"
    assert json.loads(wrapped_message["Body"])["Subject"] == subject
    structure = json.loads(published)
    assert set(structure) == {"default", "email"}  # no "email-json" key: those subscribers get the document
    assert structure["default"] == document
    (item,) = scan_items(stack)
    received_at = from_iso(item["received_at"]["S"])
    assert received_at is not None
    assert structure["email"] == mail_text(classify(json.dumps(body)), received_at=received_at)
    assert "Text: Olá! Vocês abrem no sábado?" in structure["email"]
    assert f"webhook-hub show {answer.body['event_id']}" in structure["email"]
    assert "FAKE-INSTANCE-TOKEN" not in published
    assert "messageSecret" not in structure["email"]


def test_a_redelivery_publishes_the_bytes_of_the_first_delivery(stack: local_aws.LocalStack) -> None:
    invoke(stack, sample("reference/connection-update-close.json"))
    (item,) = scan_items(stack)

    ((published, subject, _attributes),) = _recorded(stack, "ConnectionUpdate")

    rebuilt = delivery_of(item)
    assert (rebuilt.message, rebuilt.subject) == (published, subject)


def _quoted_upsert(message_id: str, quotes: int, letters: int) -> dict[str, Any]:
    """An upsert whose text is ``quotes`` double quotes then ``letters`` letters: each quote is 2 bytes of the
    document and 4 of the SNS structure (escaped twice), each letter 1 of each."""
    body = sample("reference/messages-upsert-text.json")
    body["data"]["key"]["id"] = message_id
    body["data"]["message"]["conversation"] = '"' * quotes + "a" * letters
    return body


def test_the_whole_structure_counts_against_the_sns_limit(stack: local_aws.LocalStack) -> None:
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-q", ["MessagesUpsert"], raw=True)
    quotes = 80_000  # a document of ~170 KB, inline by every limit but SNS's once escaped (~330 KB)

    answer = invoke(stack, _quoted_upsert("QUOTES" + "0" * 26, quotes, 0))

    assert (answer.status, answer.body["status"]) == (200, "accepted")
    (item,) = scan_items(stack)
    assert "payload_ref" in item
    (message,) = receive_all(stack, queue)
    assert len(message["Body"].encode()) < 200_000 / 2  # the pointer, not the payload
    (published,) = _recorded(stack, "MessagesUpsert")
    assert _sns_size(published) < SNS_MESSAGE_LIMIT


def test_a_structure_one_byte_under_the_limit_is_inline_and_at_the_limit_offloaded(
    stack: local_aws.LocalStack,
) -> None:
    """Calibrated on a published message: beyond the summary's 4096 characters, the size grows exactly with the
    text (the e-mail quotes at most 500 characters)."""
    base_quotes = 50_000
    invoke(stack, _quoted_upsert("CALIBRATE" + "0" * 23, base_quotes, 0))
    (published,) = _recorded(stack, "MessagesUpsert")
    missing = SNS_MESSAGE_LIMIT - _sns_size(published)
    assert missing > 4
    quotes, letters = base_quotes + (missing - 1) // 4, (missing - 1) % 4  # one byte short of the limit

    under = invoke(stack, _quoted_upsert("UNDER" + "0" * 27, quotes, letters))
    at_limit = invoke(stack, _quoted_upsert("ATLIMIT" + "0" * 25, quotes, letters + 1))

    assert (under.status, at_limit.status) == (200, 200)
    items = {item["pk"]["S"]: item for item in scan_items(stack)}
    assert "payload" in items[under.body["event_id"]]
    assert "payload_ref" in items[at_limit.body["event_id"]]
    sizes = [_sns_size(published) for published in _recorded(stack, "MessagesUpsert")]
    assert sizes[1] == SNS_MESSAGE_LIMIT - 1
    assert sizes[2] < SNS_MESSAGE_LIMIT / 2
