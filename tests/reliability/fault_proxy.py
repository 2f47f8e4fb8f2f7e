"""A fault-injecting HTTP proxy between the function and the AWS emulator, on 127.0.0.1.

The function's boto clients reach AWS through ``AWS_ENDPOINT_URL``; pointing it here puts this proxy on the
wire. Each request is named by its AWS operation (``dynamodb:PutItem`` from ``X-Amz-Target``, ``sns:Publish``
from the form's ``Action``, ``s3:PutObject`` from method and path; the service from the SigV4 credential
scope) and either passes through to the emulator or meets a fault:

- ``throttle``: the service's own throttling error (DynamoDB ``ProvisionedThroughputExceededException``,
  SNS ``Throttling``, S3 ``SlowDown``), in its protocol (JSON 1.0, query XML, REST XML);
- ``unavailable``: 503 ``ServiceUnavailable``; ``internal``: 500 ``InternalFailure``;
- ``drop``: the connection is closed before the request reaches the emulator (an outage, or a reset);
- ``drop_after``: the request reaches the emulator, which performs it, and the answer is lost;
- ``hook``: a callback runs (e.g. to kill the calling container), then the connection is dropped.

Every request is recorded (operation and what was done to it), so tests can count what botocore's own retries
(standard mode, 3 attempts) sent.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Action = Literal["pass", "throttle", "unavailable", "internal", "drop", "drop_after", "hook"]
FAULTS: tuple[Action, ...] = ("throttle", "unavailable", "internal", "drop", "drop_after", "hook")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "expect"}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class Rule:
    """Apply ``action`` to requests whose operation matches ``operation`` (``service:Name`` or ``service:*``)."""

    operation: str
    action: Action
    times: int | None = None
    """How many matching requests get the fault; ``None`` is every one until the rule is removed."""
    probability: float = 1.0
    hook: Callable[[str], None] | None = None
    seed: int = 0
    matched: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        self._random.seed(self.seed)

    def matches(self, operation: str) -> bool:
        service, _, name = self.operation.partition(":")
        op_service, _, op_name = operation.partition(":")
        return service == op_service and name in ("*", op_name)

    def take(self) -> bool:
        """Whether this request gets the fault (consumes one of ``times``)."""
        if self.times is not None and self.matched >= self.times:
            return False
        if self.probability < 1.0 and self._random.random() >= self.probability:
            return False
        self.matched += 1
        return True


@dataclass(frozen=True)
class Seen:
    operation: str
    action: Action


def operation_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """``service:Operation`` of one AWS request, as far as the tests need to tell them apart."""
    scope = _SCOPE.search(headers.get("authorization", ""))
    service = scope.group(1) if scope else "unknown"
    target = headers.get("x-amz-target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"
    if service == "s3":
        parts = [part for part in urlsplit(path).path.split("/") if part]
        names = {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}
        if len(parts) >= 2:
            return f"s3:{names.get(method, method)}"
        return f"s3:{method}Bucket"
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return f"{service}:{action}"
    return f"{service}:{method}"


def error_response(service: str, action: Action) -> tuple[int, dict[str, str], bytes]:
    """The error ``action`` stands for, as ``service`` would send it."""
    request_id = str(uuid.uuid4())
    status, code, message = {
        "throttle": (400, "Throttling", "Rate exceeded"),
        "unavailable": (503, "ServiceUnavailable", "Service is unavailable"),
        "internal": (500, "InternalFailure", "Internal failure"),
    }[action]
    if service in ("dynamodb", "secretsmanager", "sqs"):
        if service == "dynamodb":
            code = {
                "Throttling": "ProvisionedThroughputExceededException",
                "InternalFailure": "InternalServerError",
            }.get(code, code)
        prefix = "com.amazonaws.dynamodb.v20120810#" if service == "dynamodb" else ""
        body = json.dumps({"__type": prefix + code, "message": message}).encode()
        return status, {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": request_id}, body
    if service == "s3":
        if action == "throttle":
            status, code, message = 503, "SlowDown", "Please reduce your request rate."
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        return status, {"content-type": "application/xml", "x-amz-request-id": request_id}, body
    body = (
        f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, {"content-type": "text/xml", "x-amzn-requestid": request_id}, body


class FaultProxy:
    """The proxy server; ``url`` goes into the function's ``AWS_ENDPOINT_URL``. Stop it with ``stop()``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self.seen: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def count(self, operation: str, action: Action | None = None) -> int:
        """Requests seen for ``operation`` (optionally: that met ``action``)."""
        with self._lock:
            return sum(1 for s in self.seen if s.operation == operation and (action is None or s.action == action))

    def reset_log(self) -> None:
        with self._lock:
            self.seen.clear()

    def _decide(self, operation: str) -> tuple[Action, Rule | None]:
        with self._lock:
            for rule in self._rules:
                if rule.matches(operation) and rule.take():
                    self.seen.append(Seen(operation, rule.action))
                    return rule.action, rule
            self.seen.append(Seen(operation, "pass"))
            return "pass", None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream: http.client.HTTPConnection | None = None

            def _read_body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    raw = bytearray()
                    while True:
                        size_line = self.rfile.readline()
                        raw += size_line
                        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                        if size == 0:
                            while True:  # trailers, then the empty line
                                line = self.rfile.readline()
                                raw += line
                                if line in (b"\r\n", b"\n", b""):
                                    return bytes(raw)
                        raw += self.rfile.read(size + 2)
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                headers = {name: value for name, value in self.headers.items() if name.lower() != "expect"}
                for attempt in range(2):  # a kept-alive upstream connection may have been closed meanwhile
                    if self.upstream is None:
                        self.upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                    try:
                        self.upstream.request(self.command, self.path, body=body, headers=headers)
                        response = self.upstream.getresponse()
                        return response.status, response.getheaders(), response.read()
                    except (http.client.HTTPException, OSError):
                        self.upstream.close()
                        self.upstream = None
                        if attempt:
                            raise
                raise AssertionError("unreachable")

            def _send(self, status: int, headers: list[tuple[str, str]] | dict[str, str], body: bytes) -> None:
                self.send_response_only(status)
                items = headers.items() if isinstance(headers, dict) else headers
                for name, value in items:
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def _handle(self) -> None:
                body = self._read_body()
                lowered = {name.lower(): value for name, value in self.headers.items()}
                operation = operation_of(self.command, self.path, lowered, body)
                action, rule = proxy._decide(operation)
                if action in ("drop", "hook"):
                    if action == "hook" and rule is not None and rule.hook is not None:
                        rule.hook(operation)
                    self.close_connection = True
                    return
                if action in ("throttle", "unavailable", "internal"):
                    self._send(*error_response(operation.partition(":")[0], action))
                    return
                status, headers, answer = self._forward(body)
                if action == "drop_after":
                    self.close_connection = True
                    return
                self._send(status, headers, answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def finish(self) -> None:
                if self.upstream is not None:
                    self.upstream.close()
                super().finish()

            def log_message(self, format: str, *args: Any) -> None:
                """Silent."""

        return Handler
