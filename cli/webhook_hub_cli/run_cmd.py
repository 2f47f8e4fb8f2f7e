"""``webhook-hub run``: the whole hub on this machine, exactly as it runs on AWS.

moto plays AWS (real wire protocol on 127.0.0.1), the stack is created from template.yaml, and a
local HTTP server turns each request into an API Gateway HTTP API event for the real
``lambda_handler``. Each worker process is one Lambda container: one invocation at a time, so
concurrent requests race on DynamoDB exactly as concurrent Lambda containers do.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import platformdirs

from webhook_hub.aws.event_store import RECOVERY_CURSOR_PK
from webhook_hub_cli import activity, destinations_cmd, local_aws, local_event_sources, persistence, send_cmd
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import (
    API_GATEWAY_PAYLOAD_LIMIT,
    NOT_FOUND,
    REQUEST_TOO_LARGE,
    LambdaContext,
    exceeds_invoke_limit,
    http_api_event,
)
from webhook_hub_cli.inspector import Feed, Inspector
from webhook_hub_cli.local_state import LocalHubState

DEFAULT_PORT = 8000
DEFAULT_HOST = "127.0.0.1"
DEFAULT_CONTAINERS = 4
LOG_NAME = "hub.log"
HISTORY_ROWS = 200
"""Stored events the inspector shows again after a restart."""
REPLAY_HEADER = "x-webhook-hub-sent-again"


def default_data_dir() -> Path:
    """The user's data directory: ~/.local/share, %LOCALAPPDATA%, ~/Library/Application Support."""
    return Path(platformdirs.user_data_dir("webhook-hub", appauthor=False))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the hub locally with an embedded AWS emulator")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this machine only)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per published notification on stdout")
    parser.add_argument("--data-dir", type=Path, help=f"where the state is kept (default {default_data_dir()})")
    parser.add_argument(
        "--fresh", action="store_true", help="start empty, with a new token (the old state is set aside)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help=f"the function's JSON logs and metrics here, not in {LOG_NAME}"
    )
    parser.add_argument("--stack", metavar="NAME", help="serve in front of a deployed stack's real resources")
    parser.add_argument(
        "--containers", type=int, default=DEFAULT_CONTAINERS, help="concurrent Lambda containers (processes)"
    )
    parser.set_defaults(func=run)


# --- the Lambda side: runs in each worker process ---------------------------------------------------


def _start_container(environment: dict[str, str], log_path: str | None) -> None:
    os.environ.update(environment)
    sys.path[:0] = [str(stack_template.function_dir()), str(stack_template.function_dir("RecoverFunction"))]
    # The function's logs and metrics: to the log file, or (--verbose) to stderr; stdout is for notifications.
    sys.stdout = sys.stderr = open(log_path, "a", encoding="utf-8", buffering=1) if log_path else sys.stderr  # noqa: SIM115
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the containers
    import app  # noqa: F401, PLC0415 - the cold start happens here, once per container


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    import app  # noqa: PLC0415

    response: dict[str, Any] = app.lambda_handler(event, LambdaContext())
    return response


def _sweep() -> dict[str, int]:
    import recover  # noqa: PLC0415

    context = LambdaContext("webhook-hub-recover", timeout_seconds=stack_template.function_timeout("RecoverFunction"))
    report: dict[str, int] = recover.lambda_handler({}, context)
    return report


# --- the API Gateway side: runs in the parent ---------------------------------------------------------


class _Hub:
    """What the gateway's threads share: the containers, the state on disk, the rows and the terminal."""

    def __init__(
        self,
        containers: ProcessPoolExecutor,
        snapshots: persistence.Snapshots,
        dynamodb: Any,
        table_name: str,
        out: TextIO | None,
    ) -> None:
        self.containers = containers
        self.snapshots = snapshots
        self.dynamodb = dynamodb
        self.table_name = table_name
        self.feed = Feed()
        self._out = out
        self._print_lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """The function's answer, returned once what a webhook stored is on disk (a GET stores nothing)."""
        with self.snapshots.changing():
            response = self.containers.submit(_invoke, event).result()
        if event["requestContext"]["http"]["method"] != "GET":
            self.snapshots.commit()
        return response

    def stored(self, event_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table_name, Key={"pk": {"S": event_id}}, ConsistentRead=True
        ).get("Item")
        return item

    def record(self, status: int, body: str, replay_of: int | None) -> None:
        """The row and the terminal line of one request; never in the way of its answer."""
        try:
            self._record(status, body, replay_of)
        except Exception as error:  # the stored item unreadable: the sender must still get its answer
            print(f"webhook-hub: cannot show a request ({type(error).__name__})", file=sys.stderr, flush=True)

    def _record(self, status: int, body: str, replay_of: int | None) -> None:
        answer = activity.answer_of(status, body)
        row: dict[str, Any] = {"time": activity.clock(datetime.now()), "answer": answer, "replay_of": replay_of}
        item = self.stored(answer["event_id"]) if answer.get("event_id") else None
        if item is not None:
            row.update(activity.event_fields(item))
        row = self.feed.add(row)
        if self._out is not None:
            with self._print_lock:
                self._out.write(activity.describe(row) + "\n")
                self._out.flush()


def _gateway_handler(hub: _Hub, inspector: Inspector | None) -> type[BaseHTTPRequestHandler]:
    class Gateway(BaseHTTPRequestHandler):
        server_version = "webhook-hub-local"
        sys_version = ""

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            if inspector is not None and inspector.serves(self.command, self.path):
                inspector.handle(self)
                return
            length = int(self.headers.get("content-length") or 0)
            if length > API_GATEWAY_PAYLOAD_LIMIT:
                self.close_connection = True
                hub.record(413, '{"error":"body_too_large"}', None)
                self._answer(413, REQUEST_TOO_LARGE, {"content-type": "application/json"})
                return
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            event = http_api_event(self.command, path, self.headers.items(), body, query=query)
            if event is None:
                hub.record(404, NOT_FOUND.decode(), None)
                self._answer(404, NOT_FOUND, {"content-type": "application/json"})
                return
            if exceeds_invoke_limit(event):  # as on AWS: Lambda refuses the invoke, the function never runs
                hub.record(413, '{"error":"body_too_large"}', None)
                self._answer(413, REQUEST_TOO_LARGE, {"content-type": "application/json"})
                return
            try:
                response = hub.invoke(event)
            except persistence.NotSaved as error:  # our fault, not the sender's: it retries, and finds the event
                reason = json.dumps({"error": "state_not_saved", "reason": str(error)})
                headers = {"content-type": "application/json", "retry-after": "5"}
                response = {"statusCode": 503, "body": reason, "headers": headers}
            payload = response.get("body") or ""
            if event["routeKey"] != "GET /health":  # the line before the answer: lines keep the senders' order
                replay_of = self.headers.get(REPLAY_HEADER, "")
                hub.record(response["statusCode"], payload, int(replay_of) if replay_of.isdigit() else None)
            self._answer(response["statusCode"], payload.encode(), response.get("headers") or {})

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines would print the token-bearing path."""

    return Gateway


def _tap(stack: local_aws.LocalStack, hub: _Hub, out: TextIO, as_json: bool, stop: threading.Event) -> None:
    """Every notification as a subscriber of every topic receives it: to the rows, and with --json to stdout."""
    assert stack.tap_queue_url is not None
    sqs = local_aws.client("sqs", stack.endpoint_url)
    topic_by_arn = {arn: key for key, arn in stack.topic_arns.items()}
    while not stop.is_set():
        with hub.snapshots.changing():  # short polls: a snapshot waits for this call to end
            batch = sqs.receive_message(QueueUrl=stack.tap_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if batch:  # one call, not one per message: a tap that lags makes every SQS call of moto slower
                sqs.delete_message_batch(
                    QueueUrl=stack.tap_queue_url,
                    Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
                )
        if not batch:
            stop.wait(0.2)
            continue
        hub.snapshots.changed()
        for message in batch:
            envelope = json.loads(message["Body"])
            notification = json.loads(envelope["Message"])
            hub.feed.notified(notification["event_id"], notification)
            if as_json:
                attributes = {name: value["Value"] for name, value in (envelope.get("MessageAttributes") or {}).items()}
                line = {
                    "topic": topic_by_arn.get(envelope["TopicArn"], envelope["TopicArn"]),
                    "attributes": attributes,
                    "notification": notification,
                }
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()


def _schedule_sweeps(hub: _Hub, stop: threading.Event) -> None:
    """The recovery function's schedule (EventBridge on AWS)."""
    interval = stack_template.sweep_interval_seconds()
    while not stop.wait(interval):
        with hub.snapshots.changing():
            hub.containers.submit(_sweep).result()
        hub.snapshots.changed()


def _show_history(hub: _Hub) -> None:
    """The newest stored events, so that the page shows what a previous run received."""
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"TableName": hub.table_name}
    while True:
        page = hub.dynamodb.scan(**arguments)
        items += [item for item in page["Items"] if item["pk"]["S"] != RECOVERY_CURSOR_PK]  # events only
        if "LastEvaluatedKey" not in page:
            break
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    items.sort(key=lambda item: (item.get("received_at", {}).get("S", ""), item["pk"]["S"]))
    for item in items[-HISTORY_ROWS:]:
        fields = activity.event_fields(item)
        received = datetime.fromisoformat(fields["received_at"]) if fields.get("received_at") else None
        shown = activity.clock(received.astimezone()) if received is not None else ""
        hub.feed.add({**fields, "time": shown, "answer": None})


def _sender_again(hub: _Hub, webhook_url: str, s3: Any) -> Any:
    """What "send again" does: post the event's stored (redacted) body to the webhook URL, as a redelivery."""

    def send_again(row: dict[str, Any]) -> dict[str, Any]:
        item = hub.stored(row["event_id"])
        if item is None:
            return {"http": 0, "error": "gone", "reason": "the event is no longer stored"}
        fields = activity.event_fields(item)
        if fields["payload"] is not None:
            body = json.dumps(fields["payload"], ensure_ascii=False).encode()
        else:
            reference = fields["payload_ref"]
            body = s3.get_object(Bucket=reference["bucket"], Key=reference["key"])["Body"].read()
        status, text = send_cmd.post(webhook_url, body, {REPLAY_HEADER: str(row["id"])})
        return activity.answer_of(status, text)

    return send_again


def _destination_states(stack_name: str | None, backend: _Backend) -> Callable[[], list[dict[str, Any]]]:
    """What the inspector shows of the destinations: the deployed stack's, or the embedded emulator's."""

    @functools.cache
    def destinations() -> destinations_cmd.Hub:  # made on the page's first look, then kept
        if stack_name:
            return destinations_cmd.deployed_hub(stack_name)
        assert backend.stack is not None
        return destinations_cmd.local_hub(backend.endpoint_url, backend.stack.stack_name)

    return lambda: destinations_cmd.delivery_states(destinations())


def _deployed_environment(stack_name: str) -> tuple[dict[str, str], str]:
    """The deployed ingest function's own environment, and the current token (your AWS credentials)."""
    import boto3  # noqa: PLC0415

    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for output in boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]["Outputs"]
    }
    configuration = boto3.client("lambda").get_function_configuration(FunctionName=outputs["IngestFunctionName"])
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=outputs["TokenSecretArn"])
    return dict(configuration["Environment"]["Variables"]), str(json.loads(secret["SecretString"])["current"])


class _GatewayServer(ThreadingHTTPServer):
    request_queue_size = 128
    """Evolution posts every event at once; the default backlog of 5 reset connections in a burst."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller that hung up before its answer is no error of ours; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@dataclass
class _Backend:
    """Where the function's AWS calls go: the embedded emulator, or a deployed stack (--stack)."""

    environment: dict[str, str]
    token: str
    table_name: str
    endpoint_url: str
    snapshots: persistence.Snapshots
    dynamodb: Any
    s3: Any
    emulator: Any = None
    stack: local_aws.LocalStack | None = None


def _deployed(stack_name: str) -> _Backend:
    import boto3  # noqa: PLC0415

    environment, token = _deployed_environment(stack_name)
    return _Backend(
        environment,
        token,
        environment["TABLE_NAME"],
        "",
        persistence.Snapshots(None),  # the stack keeps its own state
        boto3.client("dynamodb"),
        boto3.client("s3"),
    )


def _embedded(args: argparse.Namespace, data_dir: Path) -> _Backend | None:
    """moto restored from the data folder (or set aside with --fresh); ``None`` when the snapshot is unreadable."""
    path = data_dir / persistence.SNAPSHOT_NAME
    if args.fresh and path.exists():
        os.replace(path, path.with_name(path.name + ".previous"))
    try:
        persistence.restore(path)
    except persistence.SnapshotError as error:
        print(f"webhook-hub: {error}; `webhook-hub run --fresh` starts empty (and keeps it aside)", file=sys.stderr)
        return None
    emulator, endpoint_url = local_aws.start_emulator()
    stack = local_aws.provision(endpoint_url)
    environment = {
        **stack.environment,
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": local_aws.REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    return _Backend(
        environment,
        stack.token,
        stack.table_name,
        endpoint_url,
        persistence.Snapshots(path),
        local_aws.client("dynamodb", endpoint_url),
        local_aws.client("s3", endpoint_url),
        emulator,
        stack,
    )


def _print_startup(out: TextIO, base_url: str, token: str, data_dir: Path | None, log_path: Path | None) -> None:
    print(f"Webhook URL: {base_url}/webhook/{token}", file=out, flush=True)
    print(f"Inspector:   {base_url}/?token={token}", file=out)
    print(f"Health:      {base_url}/health", file=out)
    if data_dir is not None:
        print(f"Data:        {data_dir}  (kept across restarts; --fresh starts empty)", file=out)
    if log_path is not None:
        print(f"Logs:        {log_path}  (the function's JSON logs and metrics; --verbose shows them here)", file=out)
    print(f"Ctrl-C stops ({datetime.now():%H:%M:%S})", file=out, flush=True)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    for stream in (sys.stdout, sys.stderr):  # a console that cannot show an emoji must not stop a line
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout = sys.stderr  # keep stdout for notifications (and, without --json, the startup and event lines)
    try:
        gateway_server = _GatewayServer((args.host, args.port), BaseHTTPRequestHandler)
    except OSError as error:
        print(
            f"webhook-hub: cannot listen on {args.host}:{args.port}: {error.strerror}; choose another --port",
            file=sys.stderr,
        )
        return 2
    data_dir: Path = args.data_dir or default_data_dir()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = None if args.verbose else data_dir / LOG_NAME
    backend: _Backend | None = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    containers: ProcessPoolExecutor | None = None
    try:
        backend = _deployed(args.stack) if args.stack else _embedded(args, data_dir)
        if backend is None:
            return 2
        containers = ProcessPoolExecutor(
            max_workers=args.containers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_container,
            initargs=(backend.environment, None if log_path is None else str(log_path)),
        )
        hub = _Hub(containers, backend.snapshots, backend.dynamodb, backend.table_name, None if args.json else out)
        if backend.stack is not None:  # a deployed stack runs its own sweep, and has no tap
            _show_history(hub)
            threads.append(threading.Thread(target=_tap, args=(backend.stack, hub, out, args.json, stop), daemon=True))
            threads.append(threading.Thread(target=_schedule_sweeps, args=(hub, stop), daemon=True))
            # ... and its own forwarding to destinations (the dispatch and forward functions' event sources)
            threads += local_event_sources.destination_threads(
                backend.endpoint_url, backend.stack.stack_name, containers, stop
            )
        # Last, so that it is joined last at a stop: its final snapshot has the other threads' changes.
        threads.append(threading.Thread(target=backend.snapshots.run, args=(stop,), daemon=True))
        port = gateway_server.server_address[1]
        base_url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::', '') else args.host}:{port}"  # noqa: S104
        webhook_url = f"{base_url}/webhook/{backend.token}"
        inspector = Inspector(
            backend.token,
            webhook_url,
            hub.feed,
            _sender_again(hub, webhook_url, backend.s3),
            stop,
            destinations=_destination_states(args.stack, backend),
        )
        gateway_server.RequestHandlerClass = _gateway_handler(hub, inspector)
        for thread in threads:
            thread.start()
        backend.snapshots.commit()  # the token is on disk before anyone is told the URL
        LocalHubState(
            webhook_url, backend.endpoint_url, backend.table_name, os.getpid(), backend.environment["TOPIC_ARN_PREFIX"]
        ).save()
        kept = data_dir if backend.snapshots.path is not None else None
        _print_startup(sys.stderr if args.json else out, base_url, backend.token, kept, log_path)
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background job starts with it ignored
            signal.signal(stop_signal, _stop_on_signal)
        gateway_server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        gateway_server.server_close()
        for thread in threads:
            thread.join(timeout=10)
        if containers is not None:
            containers.shutdown(wait=True, cancel_futures=True)
        if backend is not None and backend.emulator is not None:
            backend.emulator.stop()
        LocalHubState.clear()
    return 0
