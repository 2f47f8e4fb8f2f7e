"""Lambda's SQS event source, locally: receive a batch, invoke the function with it, delete what it did not
report as failed (``ReportBatchItemFailures``).

``webhook-hub run`` polls the destinations' intake and tasks queues this way in its container processes, as
AWS polls them for the dispatch and forward functions; the tests drive the same functions through ``settle``.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from webhook_hub_cli import local_aws
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import LambdaContext

HANDLERS = {"dispatch": "DispatchFunction", "forward": "ForwardFunction"}
"""Handler module -> the function in template.yaml whose ``CodeUri`` holds it."""
FORWARD_POLLERS = 3
"""Batches forwarded at once, as Lambda runs several: a slow destination's batch does not hold up the others'."""


def receive(sqs: Any, queue_url: str, *, wait_seconds: int = 1) -> list[dict[str, Any]]:
    answer = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = answer.get("Messages", [])
    return messages


def lambda_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda gives a function for these received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": dict(message.get("MessageAttributes") or {}),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": local_aws.REGION,
            }
            for message in messages
        ]
    }


def settle(sqs: Any, queue_url: str, messages: list[dict[str, Any]], response: dict[str, Any]) -> None:
    """Delete the messages the function did not report as failed."""
    failed = {entry["itemIdentifier"] for entry in response.get("batchItemFailures", [])}
    done = [message for message in messages if message["MessageId"] not in failed]
    if done:
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(done)],
        )


def invoke(handler: str, event: dict[str, Any]) -> dict[str, Any]:
    """Runs in a container process: the handler module's ``lambda_handler`` (imported once per container)."""
    folder = str(stack_template.function_dir(HANDLERS[handler]))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module = __import__(handler)
    response: dict[str, Any] = module.lambda_handler(event, LambdaContext(function_name=f"webhook-hub-{handler}"))
    return response


def _poll(endpoint_url: str, queue_url: str, handler: str, submit: Callable[..., Any], stop: threading.Event) -> None:
    sqs = local_aws.client("sqs", endpoint_url)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    while not stop.is_set():
        messages = receive(sqs, queue_url)
        if not messages:
            continue
        try:
            response = submit(invoke, handler, lambda_event(messages, queue_arn)).result()
        except Exception as error:  # as on AWS: a failed invocation leaves the batch in the queue
            print(f"webhook-hub: the {handler} function failed: {type(error).__name__}", file=sys.stderr)
            continue
        settle(sqs, queue_url, messages, response)


def destination_threads(
    endpoint_url: str, stack_name: str, containers: Executor, stop: threading.Event
) -> list[threading.Thread]:
    """The dispatch and forward functions' event sources, one polling thread each (start them)."""
    resources = local_aws.local_destination_resources(endpoint_url, stack_name)
    pollers = [(resources.intake_queue_url, "dispatch")] + [(resources.delivery_queue_url, "forward")] * FORWARD_POLLERS
    return [
        threading.Thread(target=_poll, args=(endpoint_url, queue_url, handler, containers.submit, stop), daemon=True)
        for queue_url, handler in pollers
    ]
