"""The stack's resources on moto's AWS emulator, created from what template.yaml declares.

Used by ``webhook-hub run`` and by the tests: the table, bucket, secret and every topic are made
from the template, and the function's environment is the template's, resolved for this emulator.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from webhook_hub_cli import template as stack_template

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
"""moto's default account."""


def client(service: Any, endpoint_url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any key
    )


_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_write_lock = threading.RLock()


def _atomic_dynamodb_writes() -> None:
    """Make moto's DynamoDB writes atomic, as DynamoDB's are.

    moto serves each request on its own thread and checks a ``ConditionExpression`` and then writes without a
    lock, so two concurrent conditional puts of one key can both succeed: the race the hub's conditional write
    exists to win. One lock around every write restores DynamoDB's guarantee (reads need none).
    """
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_atomic", False):
            continue

        def atomic(self: Any, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
            with _write_lock:
                return _method(self, *args, **kwargs)

        atomic._atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, functools.wraps(method)(atomic))


def start_emulator(port: int = 0) -> tuple[Any, str]:
    """moto in server mode on loopback; returns the server (``.stop()`` it) and its endpoint URL."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - only the local runner and tests need moto

    _atomic_dynamodb_writes()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound_port = server.get_host_and_port()
    return server, f"http://{host}:{bound_port}"


@dataclass
class LocalStack:
    endpoint_url: str
    stack_name: str
    token: str
    environment: dict[str, str]
    """The ingest function's environment, as the template declares it, resolved locally."""
    topic_arns: dict[str, str] = field(default_factory=dict)
    tap_queue_url: str | None = None
    """A queue subscribed (SNS envelope, not raw) to every topic: what the local runner prints."""

    @property
    def table_name(self) -> str:
        return self.environment["TABLE_NAME"]

    @property
    def bucket_name(self) -> str:
        return self.environment["BUCKET_NAME"]


def _resolve(value: Any, physical: dict[str, str], template: dict[str, Any], pseudo: dict[str, str]) -> str:
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        return physical.get(name) or stack_template.parameter_default(template, name)
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda match: pseudo[match.group(1)], value["Fn::Sub"])
    return str(value)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def provision(endpoint_url: str, stack_name: str = "webhook-hub-local", *, tap: bool = True) -> LocalStack:
    """Create the stack's table, bucket, secret and topics on the emulator at ``endpoint_url``.

    What exists already (an emulator restored from a snapshot) is kept as it is, the token's secret included.
    """
    template = stack_template.load()
    table_name, bucket_name = f"{stack_name}-events", f"{stack_name}-payloads"
    dynamodb = client("dynamodb", endpoint_url)
    try:
        dynamodb.create_table(**stack_template.table_definition(template, table_name))
    except ClientError as error:
        if _error_code(error) != "ResourceInUseException":
            raise
    else:
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": stack_template.ttl_attribute(template), "Enabled": True},
        )
    try:
        client("s3", endpoint_url).create_bucket(Bucket=bucket_name)
    except ClientError as error:
        if _error_code(error) != "BucketAlreadyOwnedByYou":
            raise
    secrets_manager = client("secretsmanager", endpoint_url)
    secret_name = f"{stack_name}-webhook-token"
    try:
        secret = secrets_manager.create_secret(
            Name=secret_name,
            SecretString=json.dumps(
                {"current": secrets.token_urlsafe(30).replace("-", "x").replace("_", "y"), "previous": ""}
            ),
        )
    except ClientError as error:
        if _error_code(error) != "ResourceExistsException":
            raise
        secret = secrets_manager.describe_secret(SecretId=secret_name)
    token = json.loads(secrets_manager.get_secret_value(SecretId=secret["ARN"])["SecretString"])["current"]
    physical = {"EventsTable": table_name, "PayloadBucket": bucket_name, "WebhookToken": secret["ARN"]}
    physical |= _provision_destinations(endpoint_url, stack_name, template)
    pseudo = {
        "AWS::Partition": "aws",
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": stack_name,
    }
    environment = {
        name: _resolve(value, physical, template, pseudo)
        for function in FUNCTIONS
        for name, value in stack_template.function_environment(template, function).items()
    }
    environment[PRIVATE_NETWORK_VARIABLE] = "allowed"  # the local hub forwards to this machine and its LAN too
    stack = LocalStack(endpoint_url, stack_name, token, environment)
    sns = client("sns", endpoint_url)
    for key in stack_template.topic_keys(template):
        stack.topic_arns[key] = sns.create_topic(Name=f"{stack_name}-event-{key}")["TopicArn"]
    intake_url = client("sqs", endpoint_url).get_queue_url(QueueName=f"{stack_name}-intake")["QueueUrl"]
    _subscribe(stack, intake_url, list(stack.topic_arns), raw=True)
    if tap:
        stack.tap_queue_url = subscribe_queue(stack, f"{stack_name}-tap", list(stack.topic_arns), raw=False)
    return stack


FUNCTIONS = ("IngestFunction", "DispatchFunction", "ForwardFunction")
"""The functions whose environments the local containers get (one environment: the names do not clash)."""
PRIVATE_NETWORK_VARIABLE = "DESTINATIONS_PRIVATE_NETWORK"


@dataclass(frozen=True)
class DestinationResources:
    """Where the destinations live: the table, the secrets' name prefix, the tasks' and parked queues."""

    table_name: str
    secret_prefix: str
    delivery_queue_url: str
    parked_queue_url: str
    intake_queue_url: str = ""


def stack_name_of(events_table: str) -> str:
    """The local stack's name, from its events table's (``provision`` names it ``<stack>-events``)."""
    return events_table.removesuffix("-events")


def local_destination_resources(endpoint_url: str, stack_name: str) -> DestinationResources:
    sqs = client("sqs", endpoint_url)
    return DestinationResources(
        f"{stack_name}-destinations",
        f"{stack_name}/destinations/",
        sqs.get_queue_url(QueueName=f"{stack_name}-forwarding.fifo")["QueueUrl"],
        sqs.get_queue_url(QueueName=f"{stack_name}-parked")["QueueUrl"],
        sqs.get_queue_url(QueueName=f"{stack_name}-intake")["QueueUrl"],
    )


def _provision_destinations(endpoint_url: str, stack_name: str, template: dict[str, Any]) -> dict[str, str]:
    """The destinations table, the intake, tasks (FIFO) and parked queues, and the alerts topic; their ids."""
    table = f"{stack_name}-destinations"
    try:
        client("dynamodb", endpoint_url).create_table(
            **stack_template.table_definition(template, table, "DestinationsTable")
        )
    except ClientError as error:  # restored from a snapshot: the destinations are kept
        if _error_code(error) != "ResourceInUseException":
            raise
    sqs = client("sqs", endpoint_url)
    resources = stack_template.resources(template)
    queues = {}
    for logical_id, name in (
        ("DestinationIntakeQueue", f"{stack_name}-intake"),
        ("DeliveryQueue", f"{stack_name}-forwarding.fifo"),
        ("ParkedQueue", f"{stack_name}-parked"),
    ):
        declared = resources[logical_id]["Properties"]
        attributes = {
            name: str(declared[name]).lower() if isinstance(declared[name], bool) else str(declared[name])
            for name in ("FifoQueue", "DeduplicationScope", "FifoThroughputLimit", "VisibilityTimeout")
            if name in declared
        }
        attributes["MessageRetentionPeriod"] = str(declared["MessageRetentionPeriod"])
        queues[logical_id] = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    alerts = client("sns", endpoint_url).create_topic(Name=f"{stack_name}-alerts")["TopicArn"]
    return {"DestinationsTable": table, "AlertsTopic": alerts, **queues}


def subscribe_queue(
    stack: LocalStack, queue_name: str, topic_keys: list[str], *, raw: bool, filter_policy: dict[str, Any] | None = None
) -> str:
    """A new SQS queue subscribed to the given topics; returns its URL."""
    queue_url: str = client("sqs", stack.endpoint_url).create_queue(QueueName=queue_name)["QueueUrl"]
    _subscribe(stack, queue_url, topic_keys, raw=raw, filter_policy=filter_policy)
    return queue_url


def _subscribe(
    stack: LocalStack, queue_url: str, topic_keys: list[str], *, raw: bool, filter_policy: dict[str, Any] | None = None
) -> None:
    sqs, sns = client("sqs", stack.endpoint_url), client("sns", stack.endpoint_url)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "true" if raw else "false"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    for key in topic_keys:
        sns.subscribe(TopicArn=stack.topic_arns[key], Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)


def drain_queue(endpoint_url: str, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue, with its attributes (deleted as read)."""
    sqs = client("sqs", endpoint_url)
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(batch)],
        )
