"""A canned AWS endpoint on 127.0.0.1 for the warm benchmark: small, constant answers to the four calls the hub makes.

Why not moto for the warm numbers: moto's server does real work per call (expression parsing, indexes, message
fan-out) and its time varies by milliseconds, which would drown the microseconds measured here. This stub answers
each call with a fixed, well-formed response in a few tens of microseconds, so the time the handler waits on "AWS"
is small and constant, and the handler's own time stands out. The counts of calls (bench/calls.py) and the cold start
(bench/cold.py) are measured against moto, where the semantics matter.

What it speaks (the wire protocols botocore uses for these operations):

- DynamoDB (JSON 1.0, ``X-Amz-Target: DynamoDB_20120810.*``): ``PutItem`` honours ``attribute_not_exists(pk)``
  when ``dedup`` is on (the default), answering ``ConditionalCheckFailedException`` with the stored item, as
  ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` asks; ``UpdateItem`` that sets ``:published`` marks the stored
  item published; any other ``UpdateItem`` succeeds.
- SNS (query protocol): ``Publish`` answers a fresh ``MessageId``.
- Secrets Manager (JSON 1.1): ``GetSecretValue`` answers the secret given on the command line.
- S3 (REST): ``PutObject`` answers an ``ETag``.

``POST /__control`` with ``{"dedup": false}`` makes every ``PutItem`` a new item (the warm loops replay one body
many times and each replay must take the new-event path); ``{"dedup": true, "reset": true}`` restores real
deduplication on an empty table. Standard library only: it runs under the Lambda runtime's Python with ``-I -S``.
Stops by itself after ``--lifetime`` seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

_DYNAMODB_ERROR = "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"


class _State:
    def __init__(self, secret_string: str) -> None:
        self.secret_string = secret_string
        self.dedup = True
        self.items: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle plus a delayed ACK would add ~40 ms
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: one line per call would cost more than the call."""

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _answer(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-amzn-requestid", "stub")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, document: dict[str, Any], version: str = "1.0") -> None:
        self._answer(status, json.dumps(document).encode(), f"application/x-amz-json-{version}")

    def do_PUT(self) -> None:
        body = self._body()  # S3 PutObject (path-style: /bucket/key)
        self._answer(200, b"", "application/xml", {"etag": f'"{hashlib.md5(body).hexdigest()}"'})  # noqa: S324

    def do_POST(self) -> None:
        body = self._body()
        state = self.server.state
        if self.path.startswith("/__control"):
            control = json.loads(body or b"{}")
            with state.lock:
                state.dedup = bool(control.get("dedup", state.dedup))
                if control.get("reset"):
                    state.items.clear()
            self._json(200, {"dedup": state.dedup, "items": len(state.items)})
            return
        target = self.headers.get("x-amz-target", "")
        if target.startswith("DynamoDB_20120810."):
            self._dynamodb(target.rpartition(".")[2], json.loads(body))
        elif target == "secretsmanager.GetSecretValue":
            request = json.loads(body)
            answer = {
                "ARN": request["SecretId"],
                "Name": "stub",
                "VersionId": "v1",
                "SecretString": state.secret_string,
            }
            self._json(200, answer, "1.1")
        elif parse_qs(body.decode()).get("Action") == ["Publish"]:
            message_id = uuid.uuid4()
            xml = (
                '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult>'
                f"<MessageId>{message_id}</MessageId></PublishResult><ResponseMetadata><RequestId>stub</RequestId>"
                "</ResponseMetadata></PublishResponse>"
            )
            self._answer(200, xml.encode(), "text/xml")
        else:
            self._json(400, {"__type": "UnknownOperationException", "message": f"stub: {target or self.path}"})

    def _dynamodb(self, operation: str, request: dict[str, Any]) -> None:
        state = self.server.state
        if operation == "PutItem":
            item = request["Item"]
            pk = item["pk"]["S"]
            with state.lock:
                existing = state.items.get(pk) if state.dedup else None
                if existing is None:
                    if state.dedup:
                        state.items[pk] = dict(item)
                    self._json(200, {})
                    return
            failure = {"__type": _DYNAMODB_ERROR, "message": "The conditional request failed", "Item": existing}
            self._json(400, failure)
        elif operation == "UpdateItem":
            values = request.get("ExpressionAttributeValues") or {}
            with state.lock:
                stored = state.items.get(request["Key"]["pk"]["S"])
                if stored is not None and ":published" in values:
                    stored["state"] = values[":published"]
                    stored.pop("pending", None)
            self._json(200, {})
        else:
            self._json(400, {"__type": "UnknownOperationException", "message": f"stub: DynamoDB {operation}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secret-string", required=True, help="the GetSecretValue answer's SecretString")
    parser.add_argument("--lifetime", type=float, default=600.0, help="seconds before it stops by itself")
    args = parser.parse_args(argv[1:])
    server = _Server(_State(args.secret_string))
    timer = threading.Timer(args.lifetime, server.shutdown)
    timer.daemon = True
    timer.start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
