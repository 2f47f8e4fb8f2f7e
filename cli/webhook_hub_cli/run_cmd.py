"""``webhook-hub run``: the whole hub on this machine, exactly as it runs on AWS.

moto plays AWS (real wire protocol on 127.0.0.1), the stack is created from template.yaml, and a
local HTTP server turns each request into an API Gateway HTTP API event for the real
``lambda_handler``. Each worker process is one Lambda container: one invocation at a time, so
concurrent requests race on DynamoDB exactly as concurrent Lambda containers do.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from webhook_hub_cli import local_aws, local_event_sources
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import API_GATEWAY_PAYLOAD_LIMIT, LambdaContext, http_api_event
from webhook_hub_cli.local_state import LocalHubState

DEFAULT_PORT = 8000
DEFAULT_CONTAINERS = 4


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the hub locally with an embedded AWS emulator")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"HTTP port on 127.0.0.1 (default {DEFAULT_PORT})"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per published notification on stdout")
    parser.add_argument("--stack", metavar="NAME", help="serve in front of a deployed stack's real resources")
    parser.add_argument(
        "--containers", type=int, default=DEFAULT_CONTAINERS, help="concurrent Lambda containers (processes)"
    )
    parser.set_defaults(func=run)


# --- the Lambda side: runs in each worker process ---------------------------------------------------


def _start_container(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    sys.path[:0] = [str(stack_template.function_dir()), str(stack_template.function_dir("RecoverFunction"))]
    sys.stdout = sys.stderr  # the function's logs and metrics go to stderr; stdout is for notifications
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the containers
    import app  # noqa: F401, PLC0415 - the cold start happens here, once per container


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    import app  # noqa: PLC0415

    response: dict[str, Any] = app.lambda_handler(event, LambdaContext())
    return response


def _sweep() -> dict[str, int]:
    import recover  # noqa: PLC0415

    report: dict[str, int] = recover.lambda_handler({}, LambdaContext(function_name="webhook-hub-recover"))
    return report


# --- the API Gateway side: runs in the parent ---------------------------------------------------------


def _gateway_handler(containers: ProcessPoolExecutor) -> type[BaseHTTPRequestHandler]:
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
            length = int(self.headers.get("content-length") or 0)
            if length > API_GATEWAY_PAYLOAD_LIMIT:
                self.close_connection = True
                self._answer(413, b'{"message":"Request Entity Too Large"}', {"content-type": "application/json"})
                return
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            event = http_api_event(self.command, path, self.headers.items(), body, query=query)
            if event is None:
                self._answer(404, b'{"message":"Not Found"}', {"content-type": "application/json"})
                return
            response = containers.submit(_invoke, event).result()
            payload = response.get("body") or ""
            self._answer(response["statusCode"], payload.encode(), response.get("headers") or {})

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines would print the token-bearing path."""

    return Gateway


def describe(notification: dict[str, Any]) -> str:
    """One readable line: time, type, instance, direction, who, and text or status."""
    summary = notification.get("summary") or {}
    who = summary.get("phone_jid") or summary.get("lid") or summary.get("chat_jid") or ""
    what = summary.get("text") or summary.get("status") or summary.get("state") or summary.get("message_kind") or ""
    received = str(notification.get("received_at", ""))[11:19]
    fields = [received, notification.get("event_type", "?"), notification.get("instance") or "-"]
    fields += [str(value) for value in (summary.get("direction"), who) if value]
    if what:
        fields.append(json.dumps(what, ensure_ascii=False) if summary.get("text") else str(what))
    if not notification.get("valid", True):
        fields.append("(unclassified: " + "; ".join(notification.get("reasons") or []) + ")")
    return "  ".join(str(field) for field in fields)


def _tap(stack: local_aws.LocalStack, out: TextIO, as_json: bool, stop: threading.Event) -> None:
    """Print every notification as a subscriber of every topic receives it."""
    assert stack.tap_queue_url is not None
    sqs = local_aws.client("sqs", stack.endpoint_url)
    topic_by_arn = {arn: key for key, arn in stack.topic_arns.items()}
    while not stop.is_set():
        messages = sqs.receive_message(QueueUrl=stack.tap_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        batch = messages.get("Messages", [])
        for message in batch:
            envelope = json.loads(message["Body"])
            notification = json.loads(envelope["Message"])
            attributes = {name: value["Value"] for name, value in (envelope.get("MessageAttributes") or {}).items()}
            if as_json:
                line = json.dumps(
                    {
                        "topic": topic_by_arn.get(envelope["TopicArn"], envelope["TopicArn"]),
                        "attributes": attributes,
                        "notification": notification,
                    },
                    ensure_ascii=False,
                )
            else:
                line = describe(notification)
            out.write(line + "\n")
            out.flush()
        if batch:  # one call, not one per message: a tap that lags makes every SQS call of moto slower
            sqs.delete_message_batch(
                QueueUrl=stack.tap_queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
            )


def _schedule_sweeps(containers: ProcessPoolExecutor, stop: threading.Event) -> None:
    """The recovery function's schedule (EventBridge on AWS)."""
    interval = stack_template.sweep_interval_seconds()
    while not stop.wait(interval):
        containers.submit(_sweep)


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


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # keep stdout for notifications (and, without --json, the Webhook URL line)
    try:
        gateway_server = _GatewayServer(("127.0.0.1", args.port), BaseHTTPRequestHandler)
    except OSError as error:
        print(
            f"webhook-hub: cannot listen on 127.0.0.1:{args.port}: {error.strerror}; choose another --port",
            file=sys.stderr,
        )
        return 2
    emulator = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    containers: ProcessPoolExecutor | None = None
    try:
        if args.stack:
            environment, token = _deployed_environment(args.stack)
            endpoint_url, table_name = "", environment["TABLE_NAME"]
        else:
            emulator, endpoint_url = local_aws.start_emulator()
            stack = local_aws.provision(endpoint_url)
            environment = {
                **stack.environment,
                "AWS_ENDPOINT_URL": endpoint_url,
                "AWS_DEFAULT_REGION": local_aws.REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
            }
            token, table_name = stack.token, stack.table_name
            threads.append(threading.Thread(target=_tap, args=(stack, out, args.json, stop), daemon=True))
        containers = ProcessPoolExecutor(
            max_workers=args.containers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_container,
            initargs=(environment,),
        )
        gateway_server.RequestHandlerClass = _gateway_handler(containers)
        if not args.stack:  # a deployed stack runs its own sweep
            threads.append(threading.Thread(target=_schedule_sweeps, args=(containers, stop), daemon=True))
            # ... and its own forwarding to destinations (the dispatch and forward functions' event sources)
            threads += local_event_sources.destination_threads(endpoint_url, stack.stack_name, containers, stop)
        port = gateway_server.server_address[1]
        webhook_url = f"http://127.0.0.1:{port}/webhook/{token}"
        LocalHubState(webhook_url, endpoint_url, table_name, os.getpid()).save()
        print(f"Webhook URL: {webhook_url}", file=sys.stderr if args.json else out, flush=True)
        if not args.json:
            print(
                f"Health: http://127.0.0.1:{port}/health   (Ctrl-C stops; {datetime.now():%H:%M:%S})",
                file=out,
                flush=True,
            )
        for thread in threads:
            thread.start()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a background job starts with it ignored
            signal.signal(stop_signal, _stop_on_signal)
        gateway_server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        gateway_server.server_close()
        for thread in threads:
            thread.join(timeout=3)
        if containers is not None:
            containers.shutdown(wait=True, cancel_futures=True)
        if emulator is not None:
            emulator.stop()
        LocalHubState.clear()
    return 0
