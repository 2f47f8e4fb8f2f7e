"""Runs in a fresh ``python3.13 -I -S -B`` process on the built artifact: ``child.py MODE SPEC``, SPEC a JSON file
the parent wrote. Only the standard library is importable until a mode puts the artifact on ``sys.path``. Modes:

- ``baseline`` and ``hub``: one cold start, import and first event timed apart (docs/performance.md §1 says what
  each does).
- ``cases``: one container answering the cases in order against moto, recording per case the botocore requests
  sent and, for each DynamoDB write, the items before and after it (read back from moto, whose consumed capacity
  is a constant); then each priced case many times over, for its CPU time and log bytes per event.
"""

from __future__ import annotations

import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems")
CONTEXT = SimpleNamespace(  # what Powertools and the handler read from Lambda's context object
    function_name="webhook-hub-ingest",
    function_version="$LATEST",
    memory_limit_in_mb=1024,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:webhook-hub-ingest",
    aws_request_id="00000000-0000-4000-8000-000000000000",
    get_remaining_time_in_millis=lambda: 20_000,
)


def _on_path(spec: dict[str, Any]) -> None:
    """Lambda's order: the function, the layer (the host's ``pydantic_core`` before it), then the runtime's boto3."""
    sys.path[:0] = [spec["overlay"], spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])


def _timed(started: float, imported: float, answer: list[Any]) -> dict[str, Any]:
    done = time.perf_counter()
    milliseconds = {"import_ms": imported - started, "first_event_ms": done - imported, "total_ms": done - started}
    return {**{key: round(value * 1000, 3) for key, value in milliseconds.items()}, "answer": answer}


def baseline(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    sys.path.append(spec["runtime"])
    import hmac

    import boto3

    imported = time.perf_counter()
    dynamodb, sns, secrets = boto3.client("dynamodb"), boto3.client("sns"), boto3.client("secretsmanager")
    event, table = spec["event"], os.environ["TABLE_NAME"]
    secret = json.loads(secrets.get_secret_value(SecretId=os.environ["TOKEN_SECRET_ID"])["SecretString"])
    if not hmac.compare_digest(event["pathParameters"]["proxy"], secret["current"]):
        return _timed(started, imported, [401, "unauthorized"])
    body = json.loads(event["body"])
    key = {"pk": {"S": body["data"]["key"]["id"]}}
    item = {**key, "event": {"S": body["event"]}, "instance": {"S": body["instance"]}, "body": {"S": event["body"]}}
    dynamodb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    sns.publish(TopicArn=os.environ["TOPIC_ARN_PREFIX"] + "MessagesUpsert", Message=event["body"])
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #state = :published",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":published": {"S": "published"}},
    )
    return _timed(started, imported, [200, "accepted"])


def hub(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    _on_path(spec)
    import app

    imported = time.perf_counter()
    response = app.lambda_handler(spec["event"], CONTEXT)
    return _timed(started, imported, [response["statusCode"], json.loads(response["body"]).get("status")])


class _Probe:
    """botocore hooks on the hub's clients: what each case sends, and the items its writes change."""

    def __init__(self, reader: Any, clients: tuple[Any, ...]) -> None:
        self.reader = reader  # a client of our own, not probed
        self.calls: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.tables: dict[str, dict[str, Any]] = {}
        self.hooks: dict[str, Callable[..., None]] = {
            "before-parameter-build": self._before,
            "before-send": self._send,
            "after-call": self._after,
        }
        for client, (event, hook) in itertools.product(clients, self.hooks.items()):
            client.meta.events.register(event, hook)

    def _send(self, event_name: str, **_: Any) -> None:  # each attempt, retries included
        self.calls.append(event_name.split(".", 1)[1])

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        request: dict[str, Any] = {"operation": model.name}
        if model.name == "Publish":  # SNS bills the message and its attributes, per started 64 KB
            attributes = params.get("MessageAttributes", {}).items()
            request["bytes"] = len(params["Message"].encode()) + sum(
                len(name) + len(value["DataType"]) + len(value["StringValue"].encode()) for name, value in attributes
            )
        elif model.name == "PutObject":
            body = params["Body"]  # botocore may have wrapped the bytes in a BytesIO by now
            request["bytes"] = len(body.getbuffer()) if hasattr(body, "getbuffer") else len(body)
        elif model.name in WRITES:
            request["writes"] = [{**write, "before": self._read(write)} for write in self._targets(model.name, params)]
        self.sent.append(request)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        for write in self.sent[-1]["writes"] if model.name in WRITES else []:
            write.update(after=self._read(write), failed="Error" in parsed)

    def _targets(self, operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Each item a write names: its table, key, the item offered (puts) and the factor (2 in a transaction)."""
        transaction = operation == "TransactWriteItems"
        entries = [body for entry in params["TransactItems"] for body in entry.values()] if transaction else [params]
        targets = []
        for body in entries:
            name = body["TableName"]
            if name not in self.tables:
                self.tables[name] = self.reader.describe_table(TableName=name)["Table"]
            key = body.get("Key") or {
                part["AttributeName"]: body["Item"][part["AttributeName"]] for part in self.tables[name]["KeySchema"]
            }
            targets.append({"table": name, "key": key, "offered": body.get("Item"), "factor": 2 if transaction else 1})
        return targets

    def _read(self, write: dict[str, Any]) -> dict[str, Any] | None:
        answer = self.reader.get_item(TableName=write["table"], Key=write["key"], ConsistentRead=True)
        return answer.get("Item")  # type: ignore[no-any-return]


def _logged_bytes() -> int:
    sys.stdout.flush()
    return os.fstat(1).st_size


def cases(spec: dict[str, Any]) -> dict[str, Any]:
    os.dup2(os.open(spec["log_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)  # as Lambda's log pipe
    _on_path(spec)
    import botocore.session

    import app
    from webhook_hub.aws import clients

    session = botocore.session.get_session()  # clients of our own, not probed
    sns: Any = session.create_client("sns")
    probed = (clients.dynamodb(), clients.sns(), clients.s3(), clients.secretsmanager())
    probe = _Probe(session.create_client("dynamodb"), probed)
    results: dict[str, Any] = {"cases": {}, "priced": {}, "tables": probe.tables}
    for case in spec["cases"]:
        if "delete_topic" in case:
            sns.delete_topic(TopicArn=case["delete_topic"])
        if "create_topic" in case:
            sns.create_topic(Name=case["create_topic"])
        probe.calls, probe.sent = [], []
        answer = app.lambda_handler(case["event"], CONTEXT)
        body = json.loads(answer["body"])
        status = f"{answer['statusCode']} {body.get('status') or body.get('error')}"
        results["cases"][case["name"]] = {"answer": status, "calls": probe.calls, "sent": probe.sent}
    for client, (event, hook) in itertools.product(probed, probe.hooks.items()):
        client.meta.events.unregister(event, hook)
    for name, events in spec["priced"].items():
        cpu, logged = [], _logged_bytes()
        for event in events:
            started = time.thread_time()
            app.lambda_handler(event, CONTEXT)
            cpu.append(time.thread_time() - started)
        cpu_ms = round(statistics.median(cpu) * 1000, 3)
        results["priced"][name] = {"cpu_ms": cpu_ms, "log_bytes": round((_logged_bytes() - logged) / len(events))}
    return results


def main(argv: list[str]) -> int:
    with open(argv[2], encoding="utf-8") as handle:
        spec = json.load(handle)
    result = {"baseline": baseline, "hub": hub, "cases": cases}[argv[1]](spec)
    with open(spec["result"], "w", encoding="utf-8") as handle:
        # B values as latin-1 text keep their len(); dates (in table descriptions) as text.
        json.dump(
            result, handle, default=lambda value: value.decode("latin-1") if isinstance(value, bytes) else str(value)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
