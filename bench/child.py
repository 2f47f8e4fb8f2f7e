"""Runs inside a fresh ``python3.13 -I -S`` process: one measurement of the built artifact, results to a JSON file.

``child.py MODE SPEC``; SPEC is a JSON file written by the parent (paths, events, iterations, where to write).
Only the standard library is importable until the mode puts the artifact on ``sys.path`` (Lambda's order: function,
layer, then the runtime's boto3). Modes:

- ``baseline``: import boto3 and create the DynamoDB and SNS clients; nothing else.
- ``floor``: boto3, the three clients a first event needs and its four calls, with none of the hub's code.
- ``cold``: import the handler module, then answer one webhook; ``import`` and ``first event`` timed separately.
- ``warm``: answer many webhooks per scenario and time each: wall, this thread's CPU, and inside botocore (from
  ``provide-client-params`` to ``after-call``) its CPU and the wall spent in the HTTP send itself (AWS wait);
  also the part of our own CPU spent in ``Ingest.handle`` (the pipeline, without the handler and Powertools).
- ``calls``: count the botocore requests (``before-send``) each scenario makes.

Both timed modes read the spec with ``json`` before their clock starts, so neither pays for that import.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

_STARTED = time.perf_counter()


class Context:
    """The attributes of Lambda's context object that Powertools and the handler read."""

    function_name = "webhook-hub-ingest"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:webhook-hub-ingest"
    log_group_name = "/aws/lambda/webhook-hub-ingest"
    log_stream_name = "bench"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def baseline(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    sys.path.append(spec["runtime"])
    import boto3

    imported = time.perf_counter()
    boto3.client("dynamodb")
    boto3.client("sns")
    done = time.perf_counter()
    return {
        "import_ms": _ms(imported - started),
        "total_ms": _ms(done - started),
        "since_start_ms": _ms(done - _STARTED),
        "modules": len(sys.modules),
    }


def floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The AWS part of a first event with nothing of ours: boto3, three clients, the same four calls."""
    import os

    started = time.perf_counter()
    sys.path.append(spec["runtime"])
    import boto3

    imported = time.perf_counter()
    secrets: Any = boto3.client("secretsmanager")
    dynamodb: Any = boto3.client("dynamodb")
    sns: Any = boto3.client("sns")
    secrets.get_secret_value(SecretId=os.environ["TOKEN_SECRET_ID"])
    pk = {"S": spec["pk"]}
    dynamodb.put_item(
        TableName=os.environ["TABLE_NAME"], Item={"pk": pk}, ConditionExpression="attribute_not_exists(pk)"
    )
    sns.publish(TopicArn=os.environ["TOPIC_ARN_PREFIX"] + "MessagesUpsert", Message="{}")
    dynamodb.update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": pk},
        UpdateExpression="SET #state = :published",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":published": {"S": "published"}},
    )
    done = time.perf_counter()
    return {
        "import_ms": _ms(imported - started),
        "first_event_ms": _ms(done - imported),
        "total_ms": _ms(done - started),
        "since_start_ms": _ms(done - _STARTED),
        "modules": len(sys.modules),
    }


def cold(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    sys.path[:0] = [spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    import app

    imported = time.perf_counter()
    modules_after_import = len(sys.modules)
    boto_at_import = "botocore.client" in sys.modules or "boto3" in sys.modules
    pydantic_at_import = "pydantic" in sys.modules
    event = spec["event"]  # already parsed: nothing between the two clocks but the call
    context = Context()
    first_started = time.perf_counter()
    response = app.lambda_handler(event, context)
    done = time.perf_counter()
    return {
        "import_ms": _ms(imported - started),
        "first_event_ms": _ms(done - first_started),
        "total_ms": _ms((imported - started) + (done - first_started)),
        "since_start_ms": _ms(done - _STARTED),
        "status": response["statusCode"],
        "answer": json.loads(response["body"]).get("status"),
        "modules_after_import": modules_after_import,
        "modules": len(sys.modules),
        "boto_at_import": boto_at_import,
        "pydantic_at_import": pydantic_at_import,
    }


class _Probe:
    """botocore event hooks on the hub's clients: what each API call costs and what it sends."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.params: list[tuple[str, dict[str, Any]]] = []
        self.botocore_cpu = 0.0
        self.send_cpu = 0.0
        self.send_wall = 0.0
        self._call_cpu = 0.0

    def attach(self, client: Any) -> None:
        events = client.meta.events
        events.register("provide-client-params", self._start)
        events.register("before-send", self._send(client))
        events.register("after-call", self._end)

    def reset(self) -> None:
        self.calls.clear()
        self.params.clear()
        self.botocore_cpu = self.send_cpu = self.send_wall = 0.0

    def _start(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._call_cpu = time.thread_time()
        self.params.append((model.name, params))

    def _send(self, client: Any) -> Any:
        http = client._endpoint.http_session

        def send(request: Any, event_name: str, **_: Any) -> Any:
            """Sends the request itself (botocore uses a response returned here) to time the wire alone."""
            self.calls.append(event_name.split(".", 1)[1])
            cpu, wall = time.thread_time(), time.perf_counter()
            response = http.send(request)
            self.send_wall += time.perf_counter() - wall
            self.send_cpu += time.thread_time() - cpu
            return response

        return send

    def _end(self, **_: Any) -> None:
        self.botocore_cpu += time.thread_time() - self._call_cpu


def _hub_clients() -> list[Any]:
    from webhook_hub.aws import clients

    return [clients.dynamodb(), clients.sns(), clients.s3(), clients.secretsmanager()]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _control(endpoint: str, **settings: bool) -> None:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - the stub on 127.0.0.1
        endpoint + "/__control", data=json.dumps(settings).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        answer.read()


def _stdout_size() -> int:
    import os

    sys.stdout.flush()
    return os.fstat(1).st_size


def warm(spec: dict[str, Any]) -> dict[str, Any]:
    import os

    sys.path[:0] = [spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    log_file = os.open(spec["log_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_file, 1)  # the function's logs go to a file, as Lambda's go to its log pipe; sizes are counted
    import app

    context = Context()
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    app.lambda_handler(spec["warmup_event"], context)  # clients, secret cache, the validators most events use
    probe = _Probe()
    for client in _hub_clients():
        probe.attach(client)
    pipeline = _time_pipeline(app._ingest(), probe)
    results: dict[str, Any] = {}
    for scenario in spec["scenarios"]:
        name, event, iterations = scenario["name"], scenario["event"], scenario["iterations"]
        _control(endpoint, dedup=scenario["dedup"], reset=True)
        if scenario["dedup"]:
            app.lambda_handler(event, context)  # the first delivery; every timed one is a redelivery
        for _ in range(scenario.get("warmup", 20)):
            app.lambda_handler(event, context)
        walls, cpus, own, botocore, waits, sends, core = [], [], [], [], [], [], []
        log_before = _stdout_size()
        answer: dict[str, Any] = {}
        calls: list[str] = []
        for _ in range(iterations):
            probe.reset()
            cpu, wall = time.thread_time(), time.perf_counter()
            answer = app.lambda_handler(event, context)
            wall_used, cpu_used = time.perf_counter() - wall, time.thread_time() - cpu
            walls.append(wall_used)
            cpus.append(cpu_used)
            own.append(cpu_used - probe.botocore_cpu)
            core.append(pipeline[0])
            botocore.append(probe.botocore_cpu - probe.send_cpu)
            sends.append(probe.send_cpu)
            waits.append(probe.send_wall)
            calls = list(probe.calls)
        log_bytes = (_stdout_size() - log_before) / iterations
        body = scenario.get("body")
        loads: list[float] = []
        if body is not None:
            for _ in range(iterations):
                started = time.perf_counter()
                json.loads(body)
                loads.append(time.perf_counter() - started)
        results[name] = {
            "iterations": iterations,
            "status": answer["statusCode"],
            "answer": json.loads(answer["body"]).get("status"),
            "calls": calls,
            "wall_us": _stats(walls),
            "cpu_us": _stats(cpus),
            "own_cpu_us": _stats(own),
            "pipeline_cpu_us": _stats(core),
            "botocore_cpu_us": _stats(botocore),
            "send_cpu_us": _stats(sends),
            "aws_wait_us": _stats(waits),
            "json_loads_us": _stats(loads) if loads else None,
            "log_bytes": round(log_bytes),
            "sent": [[operation, _shrink(params)] for operation, params in probe.params],
        }
    return results


def _time_pipeline(ingest: Any, probe: _Probe) -> list[float]:
    """Wraps this container's ``Ingest.handle``: its own CPU (botocore's excluded) per event, in ``[0]``."""
    handle = ingest.handle
    last = [0.0]

    def timed(request: Any) -> Any:
        cpu, botocore = time.thread_time(), probe.botocore_cpu
        try:
            return handle(request)
        finally:
            last[0] = time.thread_time() - cpu - (probe.botocore_cpu - botocore)

    ingest.handle = timed
    return last


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(_percentile(values, 0.5) * 1e6, 1),
        "p90": round(_percentile(values, 0.9) * 1e6, 1),
        "p99": round(_percentile(values, 0.99) * 1e6, 1),
    }


def _shrink(params: dict[str, Any]) -> dict[str, Any]:
    """What the cost model needs from the last event's requests: the item, the message and the body's size."""
    kept: dict[str, Any] = {key: params[key] for key in ("Item", "Message", "MessageAttributes") if key in params}
    if "Body" in params:
        payload = params["Body"]  # botocore may have wrapped the bytes in a BytesIO by now
        kept["BodyBytes"] = len(payload.getbuffer()) if hasattr(payload, "getbuffer") else len(payload)
    return kept


def calls(spec: dict[str, Any]) -> dict[str, Any]:
    """Operations per scenario, in order; against moto (real conditional writes and topics)."""
    sys.path[:0] = [spec["function"], spec["layer"]]
    sys.path.append(spec["runtime"])
    import app
    from webhook_hub.aws import clients

    context = Context()
    probe = _Probe()
    for client in _hub_clients():
        probe.attach(client)
    sns = clients.sns()
    results: dict[str, Any] = {}
    for scenario in spec["scenarios"]:
        if scenario.get("delete_topic"):
            sns.delete_topic(TopicArn=scenario["delete_topic"])
        if scenario.get("create_topic"):
            sns.create_topic(Name=scenario["create_topic"])
        probe.reset()
        answer = app.lambda_handler(scenario["event"], context)
        results[scenario["name"]] = {
            "status": answer["statusCode"],
            "answer": json.loads(answer["body"]).get("status") or json.loads(answer["body"]).get("error"),
            "calls": list(probe.calls),
        }
    return results


MODES = {"baseline": baseline, "floor": floor, "cold": cold, "warm": warm, "calls": calls}


def main(argv: list[str]) -> int:
    mode, spec_path = argv[1], argv[2]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    result = MODES[mode](spec)
    with open(spec["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
