"""The local hub as a user runs it: `webhook-hub run --json` in a subprocess, samples sent with `send`."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from webhook_hub.core.catalog import UNCLASSIFIED_TOPIC_KEY, lookup
from webhook_hub_cli.send_cmd import SAMPLES_DIR, post

CLI = str(Path(sys.executable).with_name("webhook-hub"))
APIKEY_IN_SAMPLES = "FAKE-INSTANCE-TOKEN"
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LocalHub:
    process: subprocess.Popen[str]
    url: str
    environment: dict[str, str]
    lines: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args], capture_output=True, text=True, timeout=120, env=self.environment, check=False
        )

    def notifications(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """Exactly the next ``count`` notification lines (fails on a timeout)."""
        deadline = time.monotonic() + timeout
        received: list[dict[str, Any]] = []
        while len(received) < count:
            received.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
        return received

    def no_more_notifications(self, settle: float = 1.5) -> bool:
        time.sleep(settle)
        return self.lines.empty()


def _read_stdout(process: subprocess.Popen[str], lines: queue.Queue[dict[str, Any]]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(json.loads(line))  # anything but one JSON object per line fails here


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    environment = {**os.environ, "WEBHOOK_HUB_STATE": str(tmp_path_factory.mktemp("hub") / "state.json")}
    process = subprocess.Popen(
        [CLI, "run", "--json", "--port", str(free_port()), "--containers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stderr is not None
        url = ""
        deadline = time.monotonic() + START_TIMEOUT
        while not url and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            if line.startswith("Webhook URL: "):
                url = line.removeprefix("Webhook URL: ").strip()
        assert url, "the hub did not print its Webhook URL"
        threading.Thread(target=lambda: [None for _ in process.stderr or []], daemon=True).start()  # drain logs
        started = LocalHub(process, url, environment)
        threading.Thread(target=_read_stdout, args=(process, started.lines), daemon=True).start()
        yield started
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(completed: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    """``send``'s output, a line per file: ``<file>: <HTTP status> <JSON answer>``."""
    answers = {}
    for line in completed.stdout.splitlines():
        path, _, rest = line.partition(": ")
        http_status, _, body = rest.partition(" ")
        answers[path] = {"http": int(http_status), **json.loads(body)}
    return answers


def test_every_sample_is_published_once_in_its_topic_without_the_apikey(hub: LocalHub) -> None:
    sent = hub.cli("send", "--samples")
    answers = _answers(sent)

    assert sent.returncode == 0, sent.stderr
    assert len(answers) == len(list(SAMPLES_DIR.rglob("*.json")))
    assert {answer["http"] for answer in answers.values()} == {200}
    outcomes = {answer["status"] for answer in answers.values()}
    assert outcomes <= {"accepted", "unclassified", "duplicate"}
    assert {"accepted", "unclassified"} <= outcomes
    published_ids = [a["event_id"] for a in answers.values() if a["status"] != "duplicate"]
    assert len(published_ids) == len(set(published_ids))
    notifications = hub.notifications(len(published_ids))
    assert hub.no_more_notifications()
    assert sorted(line["notification"]["event_id"] for line in notifications) == sorted(published_ids)
    for line in notifications:
        notification = line["notification"]
        known = lookup(notification["event_type"])
        expected_topic = known.topic_key if known and notification["valid"] else UNCLASSIFIED_TOPIC_KEY
        assert line["topic"] == expected_topic, notification["event_type"]
        assert line["attributes"]["event_type"] == notification["event_type"]
        assert APIKEY_IN_SAMPLES not in json.dumps(line)
        assert hub.url.rsplit("/", 1)[1] not in json.dumps(line)


def test_design_table_over_http(hub: LocalHub) -> None:
    body = json.loads((SAMPLES_DIR / "reference" / "call.json").read_text(encoding="utf-8"))
    body["data"]["id"] = uuid.uuid4().hex  # a call nobody has sent yet
    raw = json.dumps(body).encode()
    token_less = hub.url.rsplit("/", 1)[0]

    first = post(hub.url, raw)
    again = post(hub.url, raw)
    (published,) = hub.notifications(1)
    not_json = post(hub.url, b"{not json")
    no_token = post(token_less, raw)
    unknown = post(hub.url, json.dumps({**body, "event": "future.event"}).encode())
    (unclassified,) = hub.notifications(1)

    assert (first[0], json.loads(first[1])["status"]) == (200, "accepted")
    assert (again[0], json.loads(again[1])["status"]) == (200, "duplicate")
    assert published["topic"] == "Call"
    assert published["notification"]["event_id"] == json.loads(first[1])["event_id"]
    assert (not_json[0], json.loads(not_json[1])["error"]) == (400, "not_json")
    assert (no_token[0], json.loads(no_token[1])["error"]) == (401, "unauthorized")
    assert (unknown[0], json.loads(unknown[1])["status"]) == (200, "unclassified")
    assert unclassified["topic"] == UNCLASSIFIED_TOPIC_KEY
    assert hub.no_more_notifications()


def test_events_lists_exactly_what_was_stored(hub: LocalHub) -> None:
    instance = f"shop-{uuid.uuid4().hex[:8]}"
    bodies = []
    for name in ("messages-upsert.json", "messages-update.json", "connection-update.json"):
        body = json.loads((SAMPLES_DIR / name).read_text(encoding="utf-8"))
        bodies.append({**body, "instance": instance})
    stored = [json.loads(post(hub.url, json.dumps(body).encode())[1])["event_id"] for body in bodies]
    hub.notifications(len(stored))

    listed = hub.cli("events", "--instance", instance, "--json")
    by_type = hub.cli("events", "--type", "CONNECTION_UPDATE", "--json")

    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["event_id"] for row in rows] == stored
    assert {row["instance"] for row in rows} == {instance}
    assert stored[2] in {json.loads(line)["event_id"] for line in by_type.stdout.splitlines()}


class _Horse(BaseHTTPRequestHandler):
    """The original guide's Horse route, ``POST /resposta``: records what it gets, answers 200."""

    received: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.received.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_the_local_hub_forwards_to_a_localhost_destination_signed(hub: LocalHub) -> None:
    instance = f"horse-{uuid.uuid4().hex[:8]}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Horse)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        url = f"http://localhost:{server.server_address[1]}/resposta"
        added = hub.cli("destinations", "add", "horse", url, "--instance", instance)
        assert added.returncode == 0, added.stderr
        secret = added.stdout.rsplit(" ", 1)[1].strip()
        body = {**json.loads((SAMPLES_DIR / "messages-upsert.json").read_text(encoding="utf-8")), "instance": instance}
        status, answer = post(hub.url, json.dumps(body).encode())
        path, headers, forwarded = _Horse.received.get(timeout=60)
    finally:
        server.shutdown()
        server.server_close()

    assert status == 200
    assert path == "/resposta"
    assert headers["webhook-id"] == json.loads(answer)["event_id"]
    assert Webhook(secret).verify(forwarded, headers)["data"] == body["data"]
    assert APIKEY_IN_SAMPLES not in forwarded.decode()


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = subprocess.run(
            [CLI, "run", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "WEBHOOK_HUB_STATE": str(tmp_path / "state.json")},
            check=False,
        )

    assert completed.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert completed.stdout == ""
