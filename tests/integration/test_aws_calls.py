"""AWS calls per event, counted at the botocore level: the cost contract of the ingest path (docs/performance.md).

Counts, not timings: a ``before-send`` hook on each of the hub's clients records every request botocore sends.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from webhook_hub.aws import clients
from webhook_hub_cli import local_aws

from .conftest import invoke, sample


@pytest.fixture
def sent(stack: local_aws.LocalStack) -> Iterator[list[str]]:
    """The operations the handler's clients send, in order (``Service.Operation``)."""
    operations: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        operations.append(event_name.split(".", 1)[1])

    hubs = [clients.dynamodb(), clients.sns(), clients.s3(), clients.secretsmanager()]
    for client in hubs:
        client.meta.events.register("before-send", record, unique_id="test-aws-calls")
    yield operations
    for client in hubs:
        client.meta.events.unregister("before-send", unique_id="test-aws-calls")


def _message(message_id: str) -> dict[str, Any]:
    body = sample("messages-upsert.json")
    body["data"]["key"]["id"] = message_id
    return body


def _calls(sent: list[str], stack: local_aws.LocalStack, body: dict[str, Any] | bytes) -> list[str]:
    sent.clear()
    invoke(stack, body)
    return list(sent)


def test_a_new_event_costs_three_calls_and_a_redelivery_one(stack: local_aws.LocalStack, sent: list[str]) -> None:
    first = _calls(sent, stack, _message("CALLS0000000000000000000000000001"))
    second = _calls(sent, stack, _message("CALLS0000000000000000000000000002"))
    redelivery = _calls(sent, stack, _message("CALLS0000000000000000000000000002"))

    assert first == ["secrets-manager.GetSecretValue", "dynamodb.PutItem", "sns.Publish", "dynamodb.UpdateItem"]
    assert second == ["dynamodb.PutItem", "sns.Publish", "dynamodb.UpdateItem"]
    assert redelivery == ["dynamodb.PutItem"]


def test_large_unclassified_and_rejected_bodies(stack: local_aws.LocalStack, sent: list[str]) -> None:
    _calls(sent, stack, _message("CALLS0000000000000000000000000003"))  # reads and caches the token
    large = sample("messages-upsert-image.json")
    large["data"]["message"]["base64"] = "QkVOQ0g" * 40_000  # 280 KB: over the inline limit
    unknown = _message("CALLS0000000000000000000000000004")
    unknown["event"] = "messages.future-thing"

    assert _calls(sent, stack, large) == ["s3.PutObject", "dynamodb.PutItem", "sns.Publish", "dynamodb.UpdateItem"]
    assert _calls(sent, stack, unknown) == ["dynamodb.PutItem", "sns.Publish", "dynamodb.UpdateItem"]
    assert _calls(sent, stack, b'{"event": "messages.upsert", "data": ') == ["s3.PutObject"]
