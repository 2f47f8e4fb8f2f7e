"""Runs in a fresh ``python3.13 -I -S -B`` process on the built artifact: ``child.py MODE SPEC``, SPEC being a JSON
file the parent wrote. Only the standard library is importable until a mode puts the artifact on ``sys.path``
(Lambda's order: function, layer, then the runtime's boto3). Modes:

- ``baseline``: import boto3 and create the DynamoDB and SNS clients: the least a function that stores and
  publishes does.
- ``hub``: import the handler, then answer one new text message; import and first event timed apart.
- ``cases``: one container answering the cases in order against moto, recording per case the botocore requests
  sent and, for each DynamoDB write, the items before and after it (read back from moto, whose consumed capacity
  is a constant); then each priced case many times over, for its CPU time and log bytes per event.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
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


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def baseline(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    sys.path.append(spec["runtime"])
    import boto3

    imported = time.perf_counter()
    boto3.client("dynamodb")
    boto3.client("sns")
    return {"import_ms": _ms(imported - started), "total_ms": _ms(time.perf_counter() - started)}


def hub(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    sys.path[:0] = [spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    import app

    imported = time.perf_counter()
    response = app.lambda_handler(spec["event"], CONTEXT)
    done = time.perf_counter()
    return {
        "import_ms": _ms(imported - started),
        "first_event_ms": _ms(done - imported),
        "total_ms": _ms(done - started),
        "answer": [response["statusCode"], json.loads(response["body"]).get("status")],
    }


class _Probe:
    """botocore hooks on the hub's clients: what each case sends, and the items its writes change."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader  # a client of our own, not probed
        self.capture = True
        self.calls: list[str] = []
        self.sent: list[dict[str, Any]] = []
        self.tables: dict[str, dict[str, Any]] = {}
        self._writes: list[dict[str, Any]] = []

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build", self._before)
        client.meta.events.register("before-send", self._send)
        client.meta.events.register("after-call", self._after)

    def _send(self, event_name: str, **_: Any) -> None:
        if self.capture:
            self.calls.append(event_name.split(".", 1)[1])

    def _before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.capture:
            return
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
            self._writes = [{**write, "before": self._read(write)} for write in self._targets(model.name, params)]
        self.sent.append(request)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if self.capture and model.name in WRITES:
            failed = "Error" in parsed
            self.sent[-1]["writes"] = [
                {**write, "after": self._read(write), "failed": failed} for write in self._writes
            ]

    def _targets(self, operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Each item a write names: its table, key, the item offered (puts) and the factor (2 in a transaction)."""
        if operation == "TransactWriteItems":
            entries = [(body, 2) for entry in params["TransactItems"] for body in entry.values()]
        else:
            entries = [(params, 1)]
        targets = []
        for body, factor in entries:
            table = self._table(body["TableName"])
            key = body.get("Key") or {
                part["AttributeName"]: body["Item"][part["AttributeName"]] for part in table["KeySchema"]
            }
            targets.append({"table": table["TableName"], "key": key, "offered": body.get("Item"), "factor": factor})
        return targets

    def _table(self, name: str) -> dict[str, Any]:
        if name not in self.tables:
            self.tables[name] = self.reader.describe_table(TableName=name)["Table"]
        return self.tables[name]

    def _read(self, write: dict[str, Any]) -> dict[str, Any] | None:
        answer = self.reader.get_item(TableName=write["table"], Key=write["key"], ConsistentRead=True)
        return answer.get("Item")  # type: ignore[no-any-return]


def _logged_bytes() -> int:
    sys.stdout.flush()
    return os.fstat(1).st_size


def cases(spec: dict[str, Any]) -> dict[str, Any]:
    os.dup2(os.open(spec["log_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)  # as Lambda's log pipe
    sys.path[:0] = [spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    import botocore.session

    import app
    from webhook_hub.aws import clients

    session = botocore.session.get_session()  # clients of our own, not probed
    sns: Any = session.create_client("sns")
    probe = _Probe(session.create_client("dynamodb"))
    for client in (clients.dynamodb(), clients.sns(), clients.s3(), clients.secretsmanager()):
        probe.attach(client)
    results: dict[str, Any] = {"cases": {}, "priced": {}}
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
    probe.capture = False
    for name, events in spec["priced"].items():
        cpu, logged = [], _logged_bytes()
        for event in events:
            started = time.thread_time()
            app.lambda_handler(event, CONTEXT)
            cpu.append(time.thread_time() - started)
        results["priced"][name] = {
            "cpu_ms": _ms(statistics.median(cpu)),
            "log_bytes": round((_logged_bytes() - logged) / len(events)),
        }
    return {**results, "tables": probe.tables}


def main(argv: list[str]) -> int:
    mode, spec_path = argv[1], argv[2]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    result = {"baseline": baseline, "hub": hub, "cases": cases}[mode](spec)
    with open(spec["result"], "w", encoding="utf-8") as handle:
        # B values as latin-1 text keep their len(); dates (in table descriptions) as text.
        json.dump(
            result, handle, default=lambda value: value.decode("latin-1") if isinstance(value, bytes) else str(value)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
