"""The recovery sweep publishes what was stored but never published, once, and leaves leased events alone."""

from __future__ import annotations

import json
import time

import pytest

from webhook_hub.aws import clients
from webhook_hub.aws.event_store import EventStore
from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import LambdaContext

from .conftest import invoke, receive_all, sample, scan_items


def _store_without_publishing(stack: local_aws.LocalStack, sample_name: str, topic_key: str) -> str:
    """A delivery whose publish failed (topic gone), then the topic back with a raw queue; the queue URL."""
    sns = local_aws.client("sns", stack.endpoint_url)
    topic = stack.topic_arns[topic_key]
    sns.delete_topic(TopicArn=topic)
    assert invoke(stack, sample(sample_name)).status == 503
    stack.topic_arns[topic_key] = sns.create_topic(Name=topic.rsplit(":", 1)[1])["TopicArn"]
    return local_aws.subscribe_queue(stack, f"{stack.stack_name}-{topic_key}", [topic_key], raw=True)


def _sweep() -> dict[str, int]:
    import recover

    result: dict[str, int] = recover.lambda_handler({}, LambdaContext(function_name="webhook-hub-recover"))
    return result


@pytest.fixture(autouse=True)
def _no_minimum_age(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOVERY_MIN_AGE_SECONDS", "0")


def test_sweep_publishes_a_stored_unpublished_event_exactly_once(stack: local_aws.LocalStack) -> None:
    queue = _store_without_publishing(stack, "reference/messages-upsert-image-base64.json", "MessagesUpsert")
    time.sleep(0.01)  # received_at < now, strictly

    first = _sweep()
    second = _sweep()

    assert first == {"published": 1, "busy": 0, "failed": 0}
    assert second == {"published": 0, "busy": 0, "failed": 0}
    (item,) = scan_items(stack)
    assert item["state"]["S"] == "published"
    assert "pending" not in item
    (message,) = receive_all(stack, queue)
    notification = json.loads(message["Body"])
    assert notification["event_id"] == item["pk"]["S"]
    assert notification["received_at"] == item["received_at"]["S"]
    assert notification["summary"]["message_kind"] == "image"
    assert message["MessageAttributes"]["direction"]["StringValue"] == "inbound"
    assert "FAKE-INSTANCE-TOKEN" not in message["Body"]


def test_sweep_leaves_an_event_whose_lease_is_held(stack: local_aws.LocalStack) -> None:
    queue = _store_without_publishing(stack, "reference/messages-update-read.json", "MessagesUpdate")
    (item,) = scan_items(stack)
    now = int(time.time())
    assert EventStore(stack.table_name, clients.dynamodb()).claim_publish(item["pk"]["S"], now, now + 600)

    result = _sweep()

    assert result == {"published": 0, "busy": 1, "failed": 0}
    assert receive_all(stack, queue) == []
    assert scan_items(stack)[0]["state"]["S"] == "stored"
