"""The local hub as a desktop tool: a quiet terminal, and state that survives a restart (and a crash)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

from webhook_hub_cli.inspector import COOKIE, session_value
from webhook_hub_cli.send_cmd import SAMPLES_DIR, post

from .local_hub import RunningHub, free_port, start_hub, text_message

CANARY_APIKEY = "CANARY-APIKEY-5f1e0c"
STARTUP_LINES = 6
"""Webhook URL, Inspector, Health, Data, Logs, Ctrl-C."""


def _message(text: str) -> bytes:
    return text_message(text, CANARY_APIKEY)


def _status(answer: tuple[int, str]) -> tuple[int, str]:
    parsed: dict[str, Any] = json.loads(answer[1])
    return answer[0], str(parsed.get("status") or parsed.get("error"))


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_the_terminal_shows_one_line_per_request_with_the_answer_and_no_json(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "data")
    try:
        startup = [f"Webhook URL: {hub.url}", *hub.next_lines(STARTUP_LINES - 1)]  # start_hub read the first
        message = _message("Tem pão de queijo?")
        answers = [
            post(hub.url, message),
            post(hub.url, message),
            post(hub.url, json.dumps({"event": "future.event", "instance": "loja-centro", "data": {}}).encode()),
            post(hub.base_url + "/webhook/wrong-token", message),
            post(hub.url, b'{"apikey": "' + CANARY_APIKEY.encode() + b'", "event": '),
        ]
        sent = hub.cli("send", "--samples")
        lines = hub.next_lines(len(answers) + len(list(SAMPLES_DIR.rglob("*.json"))))
    finally:
        hub.stop()
    everything = startup + lines + hub.printed() + hub.printed("stderr")

    assert [_status(answer) for answer in answers] == [
        (200, "accepted"),
        (200, "duplicate"),
        (200, "unclassified"),
        (401, "unauthorized"),
        (400, "not_json"),
    ]
    assert sent.returncode == 0, sent.stderr
    first, again, unknown, stranger, broken = lines[:5]
    assert "messages.upsert  loja-centro  inbound" in first
    assert first.endswith('"Tem pão de queijo?"  accepted')
    assert again.endswith("  duplicate")
    assert "future.event" in unknown
    assert "unclassified (unknown event 'future.event')" in unknown
    assert "  rejected  401 unauthorized" in stranger
    assert "  rejected  400 not_json: not valid JSON" in broken
    assert not [line for line in everything if _is_json_object(line)], "a JSON log line reached the terminal"
    assert not [line for line in everything if line.lstrip().startswith("{")]
    assert CANARY_APIKEY not in "\n".join(everything)
    assert hub.token not in "\n".join(lines), "an event line quoted the token-bearing path"
    assert "wrong-token" not in "\n".join(lines)
    log_lines = (tmp_path / "data" / "hub.log").read_text(encoding="utf-8").splitlines()
    logged = [json.loads(line) for line in log_lines if _is_json_object(line)]
    assert any(entry.get("message") == "webhook handled" for entry in logged), "the function's logs went elsewhere"
    assert any("_aws" in entry for entry in logged), "the metrics went elsewhere"
    assert f"Logs:        {tmp_path / 'data' / 'hub.log'}" in "\n".join(startup)


def _listed(hub: RunningHub) -> list[str]:
    listed = hub.cli("events", "--json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line)["event_id"] for line in listed.stdout.splitlines()]


def test_a_restart_keeps_the_url_and_the_events_and_fresh_starts_empty(tmp_path: Path) -> None:
    data = tmp_path / "data"
    message = _message("Primeira mensagem")
    port = free_port()  # the URL a user pasted into the instance names the port: `make run` always uses 8000
    first = start_hub(data, port=port)
    try:
        accepted = json.loads(post(first.url, message)[1])
        payload = json.dumps({"event": "future.event", "instance": "x", "data": {}}).encode()
        unclassified = json.loads(post(first.url, payload)[1])
    finally:
        assert first.stop() == 0

    second = start_hub(data, port=port)
    try:
        listed_again = _listed(second)
        shown_again = _first_rows(second, 2)
        redelivered = _status(post(second.url, message))
    finally:
        second.stop()
    fresh = start_hub(data, "--fresh")
    try:
        listed_fresh = _listed(fresh)
    finally:
        fresh.stop()

    assert second.url == first.url
    assert sorted(listed_again) == sorted([accepted["event_id"], unclassified["event_id"]])
    assert {row["event_id"] for row in shown_again} == {accepted["event_id"], unclassified["event_id"]}
    assert {row["answer"] for row in shown_again} == {None}, "the inspector shows them as stored earlier"
    assert redelivered == (200, "duplicate"), "the dedup record did not survive the restart"
    assert fresh.url != first.url
    assert listed_fresh == []
    assert (data / "emulator.snapshot.previous").exists(), "--fresh threw the old state away"


def _first_rows(hub: RunningHub, count: int) -> list[dict[str, Any]]:
    """The first rows the inspector's event stream sends a page that opens now."""
    request = urllib.request.Request(  # noqa: S310 - the local hub
        f"{hub.base_url}/inspector/stream", headers={"cookie": f"{COOKIE}={session_value(hub.token)}"}
    )
    rows: list[dict[str, Any]] = []
    with urllib.request.urlopen(request, timeout=10) as stream:  # noqa: S310
        event = ""
        while len(rows) < count:
            line = stream.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "row":
                rows.append(json.loads(line.removeprefix("data: ")))
    return rows


def _children(pid: int) -> list[int]:
    """The process ids this process started (the Lambda containers), from /proc (Linux, where CI runs)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_an_acknowledged_event_survives_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hub = start_hub(data)
    accepted = json.loads(post(hub.url, _message("Antes da queda"))[1])
    containers = _children(hub.process.pid)  # started by the first request
    hub.process.kill()  # no clean stop: no last snapshot
    hub.process.wait()
    for pid in containers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    again = start_hub(data, port=int(hub.base_url.rsplit(":", 1)[1]))
    try:
        listed = _listed(again)
    finally:
        again.stop()

    assert accepted["status"] == "accepted"
    assert again.url == hub.url
    assert listed == [accepted["event_id"]]


def test_verbose_shows_the_functions_logs_on_stderr(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "data", "--verbose")
    try:
        accepted = _status(post(hub.url, _message("Com logs")))
        hub.next_lines(STARTUP_LINES - 2 + 1)  # no Logs: line; then the event's line
    finally:
        hub.stop()
    logged = [line for line in hub.printed("stderr") if _is_json_object(line)]

    assert accepted == (200, "accepted")
    assert any(json.loads(line).get("message") == "webhook handled" for line in logged)
    assert not (tmp_path / "data" / "hub.log").exists()
