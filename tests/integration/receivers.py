"""Users' servers for the destination tests: HTTP servers on 127.0.0.1 that record what they get.

Bounded: each stops by itself after ``lifetime`` seconds or ``max_requests`` requests, whichever comes first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Answer = Callable[[Received], "int | tuple[int, dict[str, str], bytes]"]
"""A status, or a status with headers and body."""


class Receiver:
    def __init__(self, answer: Answer = lambda _request: 200) -> None:
        self.answer = answer
        self.requests: list[Received] = []
        self.statuses: list[int] = []
        self.url = ""

    def accepted(self) -> list[Received]:
        """The requests answered 2xx, in the order they came."""
        return [request for request, status in zip(self.requests, self.statuses, strict=True) if status < 300]

    def bodies(self) -> list[Any]:
        return [request.json() for request in self.requests]


@contextmanager
def receiver(
    answer: Answer = lambda _request: 200,
    *,
    path: str = "/resposta",
    lifetime: float = 120.0,
    max_requests: int = 5_000,
) -> Iterator[Receiver]:
    """A server at ``http://127.0.0.1:<port><path>`` answering each POST with ``answer(request)``."""
    state = Receiver(answer)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with lock:
                state.requests.append(request)
                answered = state.answer(request)
                status, headers, payload = answered if isinstance(answered, tuple) else (answered, {}, b"{}")
                state.statuses.append(status)
                if len(state.requests) >= max_requests:
                    threading.Thread(target=server.shutdown, daemon=True).start()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    deadline = threading.Timer(lifetime, server.shutdown)
    deadline.daemon = True
    deadline.start()
    try:
        yield state
    finally:
        deadline.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
