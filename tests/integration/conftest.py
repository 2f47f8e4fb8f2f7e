"""One moto server per test session (real AWS wire protocol on 127.0.0.1) and a fresh stack per test."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from webhook_hub.aws.event_store import RECOVERY_CURSOR_PK
from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import LambdaContext, http_api_event

BODIES = Path(__file__).resolve().parents[2] / "events" / "bodies"


@pytest.fixture(scope="session")
def endpoint_url() -> Iterator[str]:
    server, url = local_aws.start_emulator()
    previous = {name: os.environ.get(name) for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")}
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_DEFAULT_REGION=local_aws.REGION,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        POWERTOOLS_METRICS_NAMESPACE="WebhookHub",
    )
    yield url
    server.stop()
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


_stack_counter = iter(range(1, 1_000_000))


@pytest.fixture
def stack(endpoint_url: str) -> Iterator[local_aws.LocalStack]:
    """A new stack on the session's emulator, with the handler pointed at it."""
    import app

    created = local_aws.provision(endpoint_url, f"hub{next(_stack_counter)}-{os.getpid()}", tap=False)
    saved = {name: os.environ.get(name) for name in created.environment}
    os.environ.update(created.environment)
    app._ingest.cache_clear()
    yield created
    app._ingest.cache_clear()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def invoke(
    stack: local_aws.LocalStack,
    body: bytes | str | dict[str, Any],
    *,
    path: str | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
    at: float | None = None,
    context: LambdaContext | None = None,
) -> Answer:
    """Call the real ``lambda_handler`` as API Gateway would for one request; ``at`` (epoch seconds) is API
    Gateway's request time, the clock the function decides by."""
    import app

    raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    request_headers = {"content-type": "application/json", "user-agent": "axios/1.7.9", **(headers or {})}
    event = http_api_event(method, path or f"/webhook/{stack.token}", request_headers.items(), raw)
    assert event is not None, "no route matched"
    if at is not None:
        event["requestContext"]["timeEpoch"] = int(at * 1000)
    response = app.lambda_handler(event, context or LambdaContext())
    return Answer(response["statusCode"], json.loads(response["body"]), response["headers"])


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((BODIES / name).read_text(encoding="utf-8"))
    return loaded


def receive_all(stack: local_aws.LocalStack, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue (deleted as read)."""
    return local_aws.drain_queue(stack.endpoint_url, queue_url)


def scan_items(stack: local_aws.LocalStack) -> list[dict[str, Any]]:
    """The event items (not the recovery sweep's cursor)."""
    dynamodb = local_aws.client("dynamodb", stack.endpoint_url)
    items: list[dict[str, Any]] = dynamodb.scan(TableName=stack.table_name, ConsistentRead=True)["Items"]
    return [item for item in items if item["pk"]["S"] != RECOVERY_CURSOR_PK]


class _Gateway(BaseHTTPRequestHandler):
    """What ``LocalHubState.load`` asks a running hub: ``GET /`` answers 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


@pytest.fixture
def gateway_url() -> Iterator[str]:
    """A webhook URL on 127.0.0.1 whose server answers as a running local hub's gateway does, for the CLI
    commands that find the local hub through its state file."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook/x"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
