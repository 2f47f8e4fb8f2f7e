"""The local hub as a user runs it: `webhook-hub run --json` in a subprocess, samples sent with `send`."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from webhook_hub.core.catalog import UNCLASSIFIED_TOPIC_KEY, lookup
from webhook_hub_cli.apigw import LAMBDA_INVOKE_LIMIT, REQUEST_TOO_LARGE
from webhook_hub_cli.send_cmd import SAMPLES_DIR, post

from .local_hub import CLI, START_TIMEOUT, RunningHub, free_port, start_hub

__all__ = ["CLI", "START_TIMEOUT", "free_port"]  # test_deployed_stack takes them from here
APIKEY_IN_SAMPLES = "FAKE-INSTANCE-TOKEN"


class LocalHub:
    """`webhook-hub run --json`: every stdout line must be one JSON object (a notification)."""

    def __init__(self, running: RunningHub) -> None:
        self.running = running
        self.url = running.url

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.running.cli(*args)

    def notifications(self, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """Exactly the next ``count`` notification lines (fails on a timeout)."""
        return [json.loads(line) for line in self.running.next_lines(count, timeout=timeout)]

    def no_more_notifications(self, settle: float = 1.5) -> bool:
        time.sleep(settle)
        return self.running.stdout.empty()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    running = start_hub(tmp_path_factory.mktemp("hub") / "data", "--json")
    try:
        yield LocalHub(running)
    finally:
        running.stop()


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


def test_a_body_too_large_for_lambda_gets_api_gateways_413_and_is_not_stored(hub: LocalHub) -> None:
    """Under Lambda's 6 MB as a body, over it as an event: on AWS Lambda refuses the invoke, the function never runs."""
    body = json.loads((SAMPLES_DIR / "reference" / "messages-upsert-image-base64.json").read_text(encoding="utf-8"))
    instance = f"big-{uuid.uuid4().hex[:8]}"
    body["instance"] = instance
    body["data"]["message"]["base64"] = ""
    room = LAMBDA_INVOKE_LIMIT - 200 - len(json.dumps(body).encode())
    body["data"]["message"]["base64"] = "A" * room  # a ~4.7 MB video in base64, as "Webhook base64" sends it
    raw = json.dumps(body).encode()
    assert len(raw) < LAMBDA_INVOKE_LIMIT, "the body alone fits; the event around it does not"

    status, answer = post(hub.url, raw)

    assert (status, json.loads(answer)) == (413, json.loads(REQUEST_TOO_LARGE))
    listed = hub.cli("events", "--instance", instance, "--json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "", "nothing stored, nothing quarantined: the function never ran"
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


def test_an_event_shown_followed_and_replayed_through_the_cli(hub: LocalHub, tmp_path: Path) -> None:
    instance, message_id = f"shop-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex.upper()
    body = json.loads((SAMPLES_DIR / "messages-upsert.json").read_text(encoding="utf-8"))
    body = {**body, "instance": instance, "data": {**body["data"], "key": {**body["data"]["key"], "id": message_id}}}
    event_id = json.loads(post(hub.url, json.dumps(body).encode())[1])["event_id"]
    (first,) = hub.notifications(1)

    shown = hub.cli("show", event_id, "--json")
    timeline = hub.cli("message", message_id, "--json")
    seen = hub.cli("instances", "--json")
    replayed = hub.cli("replay", "--event-id", event_id, "--checkpoint", str(tmp_path / "replay.json"), "--json")
    (again,) = hub.notifications(1)

    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert (document["event_id"], document["state"], document["instance"]) == (event_id, "published", instance)
    assert document["published"]["topic_arn"].endswith("-event-MessagesUpsert")
    assert APIKEY_IN_SAMPLES not in shown.stdout
    assert timeline.returncode == 0, timeline.stderr
    assert json.loads(timeline.stdout.splitlines()[0])["event_id"] == event_id
    assert instance in {json.loads(line)["instance"] for line in seen.stdout.splitlines()}
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout.splitlines()[-1])["replayed"] == 1
    assert again["notification"] == first["notification"]
    assert again["attributes"] == {**first["attributes"], "replay": "true"}
    assert again["topic"] == "MessagesUpsert"
    assert hub.no_more_notifications()


def test_a_replay_stopped_with_ctrl_c_resumes_without_duplicates(hub: LocalHub, tmp_path: Path) -> None:
    instance = f"shop-{uuid.uuid4().hex[:8]}"
    body = json.loads((SAMPLES_DIR / "messages-upsert.json").read_text(encoding="utf-8"))
    stored = []
    for _ in range(6):
        data = {**body["data"], "key": {**body["data"]["key"], "id": uuid.uuid4().hex.upper()}}
        stored.append(json.loads(post(hub.url, json.dumps({**body, "instance": instance, "data": data}).encode())[1]))
    hub.notifications(len(stored))
    command = [CLI, "replay", "--instance", instance, "--rate", "2", "--checkpoint", str(tmp_path / "r.json"), "--json"]

    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=hub.running.environment
    )
    assert first.stdout is not None
    assert json.loads(first.stdout.readline())["outcome"] == "replayed"
    first.send_signal(signal.SIGINT)
    rest_of_first, _ = first.communicate(timeout=60)
    *more_events, stopped = [json.loads(line) for line in rest_of_first.splitlines()]
    sent_first = 1 + len(more_events)
    resumed = hub.cli(*command[1:], "--resume")
    replays = hub.notifications(len(stored))

    assert first.returncode == 130
    assert stopped["record"] == "summary"
    assert (stopped["interrupted"], stopped["replayed"]) == (True, sent_first)
    assert sent_first < len(stored)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[-1])["replayed"] == len(stored) - sent_first
    assert sorted(line["notification"]["event_id"] for line in replays) == sorted(a["event_id"] for a in stored)
    assert {line["attributes"]["replay"] for line in replays} == {"true"}
    assert hub.no_more_notifications()


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
            [CLI, "run", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "WEBHOOK_HUB_STATE": str(tmp_path / "state.json")},
            check=False,
        )

    assert completed.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr
    assert completed.stdout == ""
