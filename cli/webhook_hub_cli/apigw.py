"""Faithful API Gateway HTTP API (payload v2.0) events and a Lambda-like context, for local calls.

The local runner and the tests hand these to the real ``lambda_handler``, so the function sees on
this machine exactly the shape it sees on AWS.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from webhook_hub_cli import template as stack_template

API_GATEWAY_PAYLOAD_LIMIT = 10_485_760
"""API Gateway refuses larger requests before the function runs."""
LAMBDA_INVOKE_LIMIT = 6_291_456
"""Lambda refuses a synchronous invoke whose payload, the whole event as JSON, is larger; API Gateway then
answers 413 and the function never runs (docs/architecture.md, bodies too large for Lambda)."""
REQUEST_TOO_LARGE = b'{"message":"Request Entity Too Large"}'
"""API Gateway's answer to both (an HTTP API's 413 cannot be customised)."""
NOT_FOUND = b'{"message":"Not Found"}'
"""API Gateway's answer to a request no route matches (any other path, or another method on a route's path)."""
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form")


def routes(template: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(method, path)`` of every HttpApi route the template gives the ingest function."""
    document = template or stack_template.load()
    events = document["Resources"]["IngestFunction"]["Properties"]["Events"]
    return [(event["Properties"]["Method"].upper(), event["Properties"]["Path"]) for event in events.values()]


def match_route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The route key and path parameters API Gateway would pick, or ``None`` (it answers 404)."""
    for route_method, route_path in routes():
        if route_method != method.upper():
            continue
        if route_path == path:
            return f"{route_method} {route_path}", {}
        stem = route_path.removesuffix("/{proxy+}") + "/"
        if route_path.endswith("/{proxy+}") and path.startswith(stem) and len(path) > len(stem):
            return f"{route_method} {route_path}", {"proxy": path[len(stem) :]}
    return None


def _is_text(content_type: str, body: bytes) -> bool:
    if not content_type.lower().startswith(_TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def http_api_event(
    method: str,
    path: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    query: str = "",
    source_ip: str = "127.0.0.1",
    api_id: str = "local",
) -> dict[str, Any] | None:
    """The event for one request, or ``None`` when no route matches (API Gateway's own 404)."""
    matched = match_route(method, path)
    if matched is None:
        return None
    route_key, path_parameters = matched
    merged: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        merged[lowered] = f"{merged[lowered]},{value}" if lowered in merged else value
    now = datetime.now(UTC)
    is_text = _is_text(merged.get("content-type", ""), body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": merged,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": merged.get("host", f"{api_id}.execute-api.local"),
            "domainPrefix": api_id,
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": base64.b32encode(uuid.uuid4().bytes).decode()[:16],
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": bool(body) and not is_text,
    }
    if body:
        event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def exceeds_invoke_limit(event: dict[str, Any]) -> bool:
    """Whether Lambda would refuse this event: headers, request context and body (base64 or escaped) all count."""
    return len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()) > LAMBDA_INVOKE_LIMIT


@dataclass
class LambdaContext:
    """The attributes Powertools and the handler read from Lambda's context object."""

    function_name: str = "webhook-hub-ingest"
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 20
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/webhook-hub-ingest"
    log_stream_name: str = "local"
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))
