"""The inspector page of the local hub (``GET /``): every request as it arrives, over server-sent events.

Opening it takes the token, as the webhook URL does: ``/?token=<token>`` sets an HttpOnly, SameSite=Strict
cookie derived from the token (not the token itself) and redirects to ``/``, so the token leaves the address
bar. The page gets rows (see activity.py: redacted payloads, scrubbed summaries, answers), never the token: the
webhook URL is shown masked, and its copy button asks for it at the moment of copying.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

from webhook_hub.core.redact import redact

COOKIE = "webhook_hub_inspector"
ROWS_KEPT = 1000
KEEP_ALIVE_SECONDS = 15.0
PUBLISHING_OUTCOMES = ("accepted", "unclassified", "republished")
"""Answers after which the event's notification was published."""
_PAGE = "inspector.html"
_LANDING = b"Webhook Hub local: active. Open the inspector link that `webhook-hub run` printed.\n"


class Feed:
    """The rows shown on the page, newest kept, each with a version so a stream sends only what changed."""

    def __init__(self, limit: int = ROWS_KEPT) -> None:
        self._limit = limit
        self._rows: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._unmatched: OrderedDict[str, dict[str, Any]] = OrderedDict()
        """Notifications seen before their row (the hub publishes before it answers)."""
        self._condition = threading.Condition()
        self._next_id = 1
        self._version = 0

    def _bump(self, row: dict[str, Any]) -> None:
        self._version += 1
        row["version"] = self._version
        self._rows.move_to_end(row["id"])
        self._condition.notify_all()

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        with self._condition:
            row = {**row, "id": self._next_id, "notification": None}
            self._next_id += 1
            publishes = (row.get("answer") or {}).get("status") in PUBLISHING_OUTCOMES
            if publishes and row.get("event_id") in self._unmatched:
                row["notification"] = self._unmatched.pop(row["event_id"])
            self._rows[row["id"]] = row
            self._bump(row)
            while len(self._rows) > self._limit:
                self._rows.popitem(last=False)
            return row

    def notified(self, event_id: str, notification: dict[str, Any]) -> None:
        """Attach a published notification to the row of the answer that published it."""
        with self._condition:
            for row in reversed(self._rows.values()):
                publishes = (row.get("answer") or {}).get("status") in PUBLISHING_OUTCOMES
                if publishes and row.get("event_id") == event_id and row["notification"] is None:
                    row["notification"] = notification
                    self._bump(row)
                    return
            self._unmatched[event_id] = notification
            while len(self._unmatched) > self._limit:
                self._unmatched.popitem(last=False)

    def get(self, row_id: int) -> dict[str, Any] | None:
        with self._condition:
            row = self._rows.get(row_id)
            return None if row is None else dict(row)

    def changed_since(self, version: int, timeout: float) -> tuple[list[dict[str, Any]], int]:
        """Rows changed after ``version`` (waiting up to ``timeout`` for one), oldest change first."""
        with self._condition:
            self._condition.wait_for(lambda: self._version > version, timeout=timeout)
            changed = [dict(row) for row in self._rows.values() if row["version"] > version]
            return changed, self._version


def session_value(token: str) -> str:
    """The cookie: proof of the token, useless as a webhook credential, the same across restarts."""
    return hmac.new(token.encode(), b"webhook-hub inspector", hashlib.sha256).hexdigest()


def masked(webhook_url: str) -> str:
    base, _, _ = webhook_url.rpartition("/")
    return f"{base}/\u2022\u2022\u2022\u2022\u2022\u2022"


def _shown(destination: dict[str, Any]) -> dict[str, Any]:
    """What the page shows of a destination: its state, and its URL cut as the hub cuts ``destination`` (scheme and
    host: a path or query may hold the receiver's own secret, as an n8n webhook id does)."""
    return {
        "id": destination["id"],
        "url": redact({"destination": destination["url"]})["destination"],
        "enabled": destination["enabled"],
        "disabled_reason": destination.get("disabled_reason"),
        "parked": destination["parked"],
    }


class Inspector:
    def __init__(
        self,
        token: str,
        webhook_url: str,
        feed: Feed,
        send_again: Callable[[dict[str, Any]], dict[str, Any]],
        stop: threading.Event,
        *,
        destinations: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        """``destinations`` gives each HTTP destination's delivery state (``destinations_cmd.delivery_states``)."""
        self._token = token
        self._session = session_value(token)
        self._webhook_url = webhook_url
        self._feed = feed
        self._send_again = send_again
        self._stop = stop
        self._destinations = destinations
        self._run_id = secrets.token_hex(8)
        self._page = files("webhook_hub_cli").joinpath(_PAGE).read_text(encoding="utf-8")

    def serves(self, method: str, path: str) -> bool:
        route = urlsplit(path).path
        return (method, route) in (("GET", "/"), ("POST", "/inspector/send-again")) or (
            method == "GET" and route.startswith("/inspector/")
        )

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        if parts.path == "/" and request.command == "GET":
            self._root(request, parse_qs(parts.query).get("token", [""])[0])
        elif not self._signed_in(request):
            self._send(request, HTTPStatus.UNAUTHORIZED, b'{"error":"open the inspector link first"}')
        elif parts.path == "/inspector/stream":
            self._stream(request)
        elif parts.path == "/inspector/info":
            info = {"webhook_url_masked": masked(self._webhook_url)}
            self._send(request, HTTPStatus.OK, json.dumps(info).encode())
        elif parts.path == "/inspector/destinations":
            states = [_shown(destination) for destination in self._destinations()]
            self._send(request, HTTPStatus.OK, json.dumps({"destinations": states}).encode())
        elif parts.path == "/inspector/webhook-url":
            self._send(request, HTTPStatus.OK, json.dumps({"webhook_url": self._webhook_url}).encode())
        elif parts.path == "/inspector/send-again" and request.command == "POST":
            self._send_again_request(request)
        else:
            self._send(request, HTTPStatus.NOT_FOUND, b'{"error":"not_found"}')

    def _signed_in(self, request: BaseHTTPRequestHandler) -> bool:
        try:
            cookie = SimpleCookie(request.headers.get("cookie") or "")
        except CookieError:
            return False
        morsel = cookie.get(COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value, self._session)

    def _root(self, request: BaseHTTPRequestHandler, token: str) -> None:
        if token and hmac.compare_digest(token.encode(), self._token.encode()):
            request.send_response(HTTPStatus.SEE_OTHER)
            request.send_header("location", "/")
            request.send_header("set-cookie", f"{COOKIE}={self._session}; HttpOnly; SameSite=Strict; Path=/")
            self._common_headers(request)
            request.send_header("content-length", "0")
            request.end_headers()
        elif self._signed_in(request):
            nonce = secrets.token_urlsafe(16)
            page = self._page.replace("{{nonce}}", nonce).encode()
            csp = f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'"
            self._send(request, HTTPStatus.OK, page, "text/html; charset=utf-8", {"content-security-policy": csp})
        else:
            self._send(request, HTTPStatus.OK, _LANDING, "text/plain; charset=utf-8")

    def _stream(self, request: BaseHTTPRequestHandler) -> None:
        request.send_response(HTTPStatus.OK)
        request.send_header("content-type", "text/event-stream")
        self._common_headers(request)
        request.end_headers()
        version = 0
        try:
            request.wfile.write(f"retry: 2000\nevent: hello\ndata: {json.dumps(self._run_id)}\n\n".encode())
            request.wfile.flush()
            while not self._stop.is_set():
                rows, version = self._feed.changed_since(version, KEEP_ALIVE_SECONDS)
                chunk = "".join(f"event: row\ndata: {json.dumps(row, ensure_ascii=False)}\n\n" for row in rows)
                request.wfile.write((chunk or ": keep-alive\n\n").encode())
                request.wfile.flush()
        except OSError:  # the page was closed
            return

    def _send_again_request(self, request: BaseHTTPRequestHandler) -> None:
        # A form cannot send JSON across sites without CORS, and the cookie is SameSite=Strict.
        if not (request.headers.get("content-type") or "").startswith("application/json"):
            self._send(request, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b'{"error":"send JSON"}')
            return
        length = int(request.headers.get("content-length") or 0)
        try:
            row_id = int(json.loads(request.rfile.read(min(length, 1000)))["id"])
        except (ValueError, KeyError, TypeError):
            self._send(request, HTTPStatus.BAD_REQUEST, b'{"error":"give {\\"id\\": <row>}"}')
            return
        row = self._feed.get(row_id)
        if row is None or not row.get("event_id"):
            self._send(request, HTTPStatus.CONFLICT, b'{"error":"this row stored no event to send again"}')
            return
        answer = self._send_again(row)
        self._send(request, HTTPStatus.OK, json.dumps({"answer": answer}).encode())

    @staticmethod
    def _common_headers(request: BaseHTTPRequestHandler) -> None:
        request.send_header("cache-control", "no-store")
        request.send_header("referrer-policy", "no-referrer")
        request.send_header("x-content-type-options", "nosniff")
        request.send_header("x-frame-options", "DENY")

    def _send(
        self,
        request: BaseHTTPRequestHandler,
        status: HTTPStatus,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        request.send_header("content-type", content_type)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        self._common_headers(request)
        request.send_header("content-length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
