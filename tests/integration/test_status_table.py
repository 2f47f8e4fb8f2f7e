"""Every row of the design's status table, through the real handler against moto over HTTP."""

from __future__ import annotations

import json
from typing import Any

from webhook_hub.record import item_text, pending_shard, stored_payload
from webhook_hub_cli import local_aws

from .conftest import invoke, receive_all, sample, scan_items

TOKEN_IN_BODY = "FAKE-INSTANCE-TOKEN-0000-0000-000000000000"


def _subscribe_all(stack: local_aws.LocalStack, name: str = "all") -> str:
    return local_aws.subscribe_queue(stack, f"{stack.stack_name}-{name}", list(stack.topic_arns), raw=True)


def _only_item(stack: local_aws.LocalStack) -> dict[str, Any]:
    items = scan_items(stack)
    assert len(items) == 1, items
    return items[0]


def test_new_event_is_stored_then_published_once_without_the_apikey(stack: local_aws.LocalStack) -> None:
    queue = _subscribe_all(stack)
    body = sample("reference/messages-upsert-text.json")

    answer = invoke(stack, body)

    assert answer.status == 200
    assert answer.body["status"] == "accepted"
    assert answer.body["event_type"] == "messages.upsert"
    item = _only_item(stack)
    assert item["pk"]["S"] == answer.body["event_id"]
    assert item["state"]["S"] == "published"
    assert "pending" not in item
    assert item["instance"]["S"] == "loja-centro"
    assert TOKEN_IN_BODY not in item_text(item)
    payload, _ = stored_payload(item)
    assert payload is not None
    assert payload["data"]["key"]["id"] == body["data"]["key"]["id"]
    (message,) = receive_all(stack, queue)
    notification = json.loads(message["Body"])
    assert notification["event_id"] == answer.body["event_id"]
    assert notification["event_type"] == "messages.upsert"
    assert notification["summary"]["text"] == body["data"]["message"]["conversation"]
    assert TOKEN_IN_BODY not in message["Body"]
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["event_type"] == "messages.upsert"
    assert attributes["instance"] == "loja-centro"
    assert attributes["direction"] == "inbound"


def test_redelivery_of_a_published_event_publishes_nothing(stack: local_aws.LocalStack) -> None:
    queue = _subscribe_all(stack)
    body = sample("reference/messages-upsert-text.json")
    first = invoke(stack, body)
    global_copy = {**body, "destination": "https://other.example/global", "date_time": "2026-01-01T09:00:00.999Z"}

    again = invoke(stack, body)
    through_global_webhook = invoke(stack, global_copy)

    assert (again.status, again.body["status"]) == (200, "duplicate")
    assert (through_global_webhook.status, through_global_webhook.body["status"]) == (200, "duplicate")
    assert again.body["event_id"] == first.body["event_id"] == through_global_webhook.body["event_id"]
    assert len(scan_items(stack)) == 1
    assert len(receive_all(stack, queue)) == 1


def test_redelivery_of_a_stored_unpublished_event_publishes_it_once(stack: local_aws.LocalStack) -> None:
    sns = local_aws.client("sns", stack.endpoint_url)
    topic = stack.topic_arns["MessagesUpdate"]
    sns.delete_topic(TopicArn=topic)  # SNS outage for this topic: the publish fails after the write
    body = sample("reference/messages-update-read.json")

    failed = invoke(stack, body)

    assert failed.status == 503
    assert failed.body["error"] == "publish_failed"
    assert failed.headers["retry-after"] == "5"
    item = _only_item(stack)
    assert item["state"]["S"] == "stored"
    assert item["pending"]["S"] == pending_shard(item["pk"]["S"])
    assert item["attempts"]["N"] == "1"

    stack.topic_arns["MessagesUpdate"] = sns.create_topic(Name=topic.rsplit(":", 1)[1])["TopicArn"]
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-updates", ["MessagesUpdate"], raw=True)
    retried = invoke(stack, body)
    retried_again = invoke(stack, body)

    assert (retried.status, retried.body["status"]) == (200, "republished")
    assert (retried_again.status, retried_again.body["status"]) == (200, "duplicate")
    item = _only_item(stack)
    assert item["state"]["S"] == "published"
    (message,) = receive_all(stack, queue)
    assert json.loads(message["Body"])["received_at"] == item["received_at"]["S"]


def test_unknown_event_is_stored_marked_and_published_to_unclassified(stack: local_aws.LocalStack) -> None:
    unclassified = local_aws.subscribe_queue(stack, f"{stack.stack_name}-u", ["Unclassified"], raw=True)

    answer = invoke(stack, sample("reference/unknown-future-event.json"))

    assert (answer.status, answer.body["status"]) == (200, "unclassified")
    item = _only_item(stack)
    assert item["known"]["BOOL"] is False
    assert item["topic_key"]["S"] == "Unclassified"
    assert item["reasons"]["L"]
    (message,) = receive_all(stack, unclassified)
    assert json.loads(message["Body"])["event_type"] == "group.join-request"


def test_body_failing_its_model_goes_to_unclassified_not_to_a_4xx(stack: local_aws.LocalStack) -> None:
    unclassified = local_aws.subscribe_queue(stack, f"{stack.stack_name}-u", ["Unclassified"], raw=True)
    body = sample("reference/messages-upsert-text.json")
    del body["data"]["key"]

    answer = invoke(stack, body)

    assert (answer.status, answer.body["status"]) == (200, "unclassified")
    item = _only_item(stack)
    assert (item["known"]["BOOL"], item["valid"]["BOOL"]) == (True, False)
    (message,) = receive_all(stack, unclassified)
    notification = json.loads(message["Body"])
    assert notification["event_type"] == "messages.upsert"
    assert notification["valid"] is False


def test_missing_or_wrong_credentials_answer_401_and_store_nothing(stack: local_aws.LocalStack) -> None:
    body = sample("reference/messages-upsert-text.json")

    missing = invoke(stack, body, path="/webhook")
    wrong = invoke(stack, body, path="/webhook/not-the-token")
    wrong_header = invoke(stack, body, path="/webhook", headers={"x-webhook-token": stack.token + "x"})

    for answer in (missing, wrong, wrong_header):
        assert answer.status == 401
        assert answer.body == {"error": "unauthorized", "reason": "missing or invalid credentials"}
    assert scan_items(stack) == []
    assert stack.token not in json.dumps([missing.body, wrong.body, wrong_header.body])


def test_body_that_is_not_json_or_has_no_event_answers_400_and_is_quarantined(stack: local_aws.LocalStack) -> None:
    s3 = local_aws.client("s3", stack.endpoint_url)

    not_json = invoke(stack, b'{"event": "messages.upsert", "apikey": "' + TOKEN_IN_BODY.encode() + b'", oops')
    no_event = invoke(stack, {"instance": "loja-centro", "data": {}})

    assert (not_json.status, not_json.body["error"]) == (400, "not_json")
    assert (no_event.status, no_event.body["error"]) == (400, "no_event")
    assert not_json.body["reason"]
    assert no_event.body["reason"]
    assert scan_items(stack) == []
    keys = [entry["Key"] for entry in s3.list_objects_v2(Bucket=stack.bucket_name)["Contents"]]
    assert len(keys) == 2
    assert all(key.startswith("quarantine/") for key in keys)
    quarantined = [s3.get_object(Bucket=stack.bucket_name, Key=key)["Body"].read() for key in keys]
    assert any(b"oops" in body for body in quarantined)
    assert not any(TOKEN_IN_BODY.encode() in body for body in quarantined)


def test_dynamodb_failing_answers_503_and_nothing_is_published(stack: local_aws.LocalStack) -> None:
    queue = _subscribe_all(stack)
    dynamodb = local_aws.client("dynamodb", stack.endpoint_url)
    dynamodb.delete_table(TableName=stack.table_name)

    answer = invoke(stack, sample("reference/messages-upsert-text.json"))

    assert answer.status == 503
    assert answer.body["error"] == "store_unavailable"
    assert receive_all(stack, queue) == []
