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


class Receiver:
    def __init__(self, answer: Callable[[Received], int] = lambda _request: 200) -> None:
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
    answer: Callable[[Received], int] = lambda _request: 200,
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
                status = state.answer(request)
                state.statuses.append(status)
                if len(state.requests) >= max_requests:
                    threading.Thread(target=server.shutdown, daemon=True).start()
            payload = b'{"ok":false}' if status >= 300 else b'{"ok":true}'
            self.send_response(status)
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
