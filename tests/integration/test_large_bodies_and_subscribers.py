"""Large bodies go to S3 behind a pointer; subscribers get exactly what their filter policy selects."""

from __future__ import annotations

import base64
import hashlib
import json

from webhook_hub_cli import local_aws

from .conftest import invoke, receive_all, sample, scan_items

SNS_LIMIT = 262_144


def _image_upsert(size: int) -> dict[str, object]:
    body = sample("reference/messages-upsert-image-base64.json")
    body["data"]["message"]["base64"] = base64.b64encode(b"\xff" * size).decode()
    return body


def test_large_body_is_offloaded_with_size_and_sha256(stack: local_aws.LocalStack) -> None:
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-q", ["MessagesUpsert"], raw=True)
    s3 = local_aws.client("s3", stack.endpoint_url)

    answer = invoke(stack, _image_upsert(3_000_000))

    assert (answer.status, answer.body["status"]) == (200, "accepted")
    (item,) = scan_items(stack)
    assert "payload" not in item
    reference = item["payload_ref"]["M"]
    assert reference["key"]["S"] == f"payloads/{item['pk']['S']}/{reference['sha256']['S']}.json"
    stored = s3.get_object(Bucket=reference["bucket"]["S"], Key=reference["key"]["S"])["Body"].read()
    assert len(stored) == int(reference["size"]["N"])
    assert hashlib.sha256(stored).hexdigest() == reference["sha256"]["S"]
    assert b"FAKE-INSTANCE-TOKEN" not in stored
    assert json.loads(stored)["data"]["message"]["base64"].startswith("////")
    (message,) = receive_all(stack, queue)
    assert len(message["Body"].encode()) < SNS_LIMIT
    notification = json.loads(message["Body"])
    assert notification["payload"] is None
    assert notification["payload_ref"]["sha256"] == reference["sha256"]["S"]
    assert notification["summary"]["media"]["base64_inlined"] is True


def test_the_other_webhooks_copy_of_a_large_body_never_replaces_the_stored_one(stack: local_aws.LocalStack) -> None:
    s3 = local_aws.client("s3", stack.endpoint_url)
    body = _image_upsert(400_000)
    global_copy = {**body, "date_time": "2026-01-01T09:00:30.000Z", "destination": "https://other.example/hook"}

    first = invoke(stack, body)
    second = invoke(stack, global_copy)

    assert (first.body["status"], second.body["status"]) == ("accepted", "duplicate")
    (item,) = scan_items(stack)
    reference = item["payload_ref"]["M"]
    stored = s3.get_object(Bucket=reference["bucket"]["S"], Key=reference["key"]["S"])["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == reference["sha256"]["S"]
    assert json.loads(stored)["date_time"] == body["date_time"]


def test_body_just_under_the_inline_limit_stays_inline_and_under_sns_limit(stack: local_aws.LocalStack) -> None:
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-q", ["MessagesUpsert"], raw=True)

    answer = invoke(stack, _image_upsert(140_000))  # ~187 KB of base64, with non-ASCII-free JSON around it

    assert answer.status == 200
    (item,) = scan_items(stack)
    assert "payload" in item
    (message,) = receive_all(stack, queue)
    assert len(message["Body"].encode()) < SNS_LIMIT


def test_multibyte_text_is_counted_in_utf8_bytes_not_characters(stack: local_aws.LocalStack) -> None:
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-q", ["MessagesUpsert"], raw=True)
    body = sample("reference/messages-upsert-text.json")
    body["data"]["message"]["conversation"] = "ç" * 110_000  # 110,000 characters, 220,000 bytes

    answer = invoke(stack, body)

    assert answer.status == 200
    (item,) = scan_items(stack)
    assert "payload_ref" in item  # over 200 KB in bytes, although under it in characters
    (message,) = receive_all(stack, queue)
    assert len(message["Body"].encode()) < SNS_LIMIT


def test_filter_policy_selects_on_message_attributes(stack: local_aws.LocalStack) -> None:
    outbound_only = local_aws.subscribe_queue(
        stack,
        f"{stack.stack_name}-out",
        ["MessagesUpsert", "SendMessage"],
        raw=True,
        filter_policy={"direction": ["outbound"]},
    )

    invoke(stack, sample("reference/messages-upsert-text.json"))  # inbound
    invoke(stack, sample("reference/messages-set-history.json"))
    sent = invoke(stack, sample("reference/send-message.json"))  # outbound, through the API

    (message,) = receive_all(stack, outbound_only)
    assert json.loads(message["Body"])["event_id"] == sent.body["event_id"]
    assert message["MessageAttributes"]["message_kind"]["StringValue"] == "text"
