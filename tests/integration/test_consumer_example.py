"""The subscriber kit (examples/consumer/) against moto: its queue, DLQ, subscriptions and idempotency table as its
template declares them, fed by the real hub; the consumer handles each event once and fails only bad records."""

from __future__ import annotations

import importlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from webhook_hub.delivery import delivery_of
from webhook_hub_cli import local_aws
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import LambdaContext

from .conftest import invoke, sample

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "consumer"
IDEMPOTENCY_TABLE = "consumer-example-idempotency"
"""One table for the session: the consumer module reads its name once, at import, as in Lambda."""


class Kit:
    """The example stack's queue, DLQ and subscriptions, made from examples/consumer/template.yaml."""

    def __init__(self, stack: local_aws.LocalStack) -> None:
        template = stack_template.load(EXAMPLE / "template.yaml")
        resources, parameters = template["Resources"], template["Parameters"]
        sqs = self.sqs = local_aws.client("sqs", stack.endpoint_url)
        self.dlq_url = sqs.create_queue(QueueName=f"{stack.stack_name}-consumer-dlq")["QueueUrl"]
        dlq_arn = self._arn(self.dlq_url)
        redrive = dict(resources["Queue"]["Properties"]["RedrivePolicy"], deadLetterTargetArn=dlq_arn)
        self.max_receives = int(redrive["maxReceiveCount"])
        self.queue_url = sqs.create_queue(
            QueueName=f"{stack.stack_name}-consumer", Attributes={"RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        self.queue_arn = self._arn(self.queue_url)
        _variable, keys, body = resources["Fn::ForEach::Subscriptions"]
        assert keys == {"Ref": "TopicKeys"}
        subscription = next(iter(body.values()))["Properties"]
        self.topic_keys = parameters["TopicKeys"]["Default"].split(",")
        sns = local_aws.client("sns", stack.endpoint_url)
        for key in self.topic_keys:
            sns.subscribe(
                TopicArn=stack.topic_arns[key],
                Protocol=subscription["Protocol"],
                Endpoint=self.queue_arn,
                Attributes={
                    "RawMessageDelivery": str(subscription["RawMessageDelivery"]).lower(),
                    "FilterPolicy": parameters["FilterPolicy"]["Default"],
                },
            )

    def _arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return str(attributes["QueueArn"])

    def batch(self) -> list[dict[str, Any]]:
        """What Lambda's SQS event source hands the function: up to 10 messages, as records."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        return [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": self.queue_arn,
                "awsRegion": local_aws.REGION,
            }
            for message in messages
        ]

    def run(self, consumer: ModuleType) -> tuple[list[str], list[str]]:
        """One invocation, then what the event source does: delete the records that did not fail."""
        records = self.batch()
        try:
            result = consumer.lambda_handler({"Records": records}, LambdaContext(function_name="consumer"))
        except BatchProcessingError:  # every record failed: the invocation fails, the whole batch comes back
            failed = [record["messageId"] for record in records]
        else:
            failed = [failure["itemIdentifier"] for failure in result["batchItemFailures"]]
        for record in records:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return [record["messageId"] for record in records], failed


@pytest.fixture
def logs() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def consumer(endpoint_url: str, monkeypatch: pytest.MonkeyPatch, logs: io.StringIO) -> Iterator[ModuleType]:
    """The example's module, imported as Lambda does (settings from the environment), its log lines into ``logs``."""
    template = stack_template.load(EXAMPLE / "template.yaml")
    dynamodb = local_aws.client("dynamodb", endpoint_url)
    if IDEMPOTENCY_TABLE not in dynamodb.list_tables()["TableNames"]:
        properties = template["Resources"]["IdempotencyTable"]["Properties"]
        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode=properties["BillingMode"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
        )
    monkeypatch.setenv("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "webhook-hub-consumer")
    module = importlib.import_module("consumer")
    handler = module.logger.logger_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(logs)
    yield module
    handler.setStream(previous)


def _logged(logs: io.StringIO) -> list[dict[str, Any]]:
    """The log lines written since the last call."""
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    logs.seek(0)
    logs.truncate()
    return lines


def test_each_event_is_handled_once_and_a_bad_record_alone_is_retried_then_dead_lettered(
    stack: local_aws.LocalStack, consumer: ModuleType, logs: io.StringIO
) -> None:
    kit = Kit(stack)
    received = invoke(stack, sample("reference/messages-upsert-text.json")).body["event_id"]
    sent = invoke(stack, sample("reference/send-message.json")).body["event_id"]
    invoke(stack, sample("reference/connection-update-close.json"))  # a topic the kit did not subscribe to
    kit.sqs.send_message(QueueUrl=kit.queue_url, MessageBody='{"not": "a notification"}')
    _logged(logs)

    records, failed = kit.run(consumer)

    assert len(records) == 3
    (bad,) = failed
    logged = _logged(logs)
    (message,) = [line for line in logged if line["message"] == "message received"]
    assert (message["event_id"], message["instance"]) == (received, "loja-centro")
    assert message["text"] == "Olá! Vocês abrem no sábado?"
    assert [line["event_id"] for line in logged if line["message"] == "event"] == [sent]

    kit.sqs.send_message(QueueUrl=kit.queue_url, MessageBody=sample_document(stack, received))  # a replay
    again, failed_again = kit.run(consumer)

    assert failed_again == [bad]  # the replayed event is not handled a second time, the bad record fails again
    assert len(again) == 2
    assert [line for line in _logged(logs) if line.get("event_id") == received] == []

    for _ in range(kit.max_receives):
        kit.run(consumer)
    dead = kit.sqs.receive_message(QueueUrl=kit.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in dead] == ['{"not": "a notification"}']
    assert kit.batch() == []


def sample_document(stack: local_aws.LocalStack, event_id: str) -> str:
    """The notification of a stored event, as a replay sends it to a queue."""
    item = local_aws.client("dynamodb", stack.endpoint_url).get_item(
        TableName=stack.table_name, Key={"pk": {"S": event_id}}
    )["Item"]
    return delivery_of(item).notification
