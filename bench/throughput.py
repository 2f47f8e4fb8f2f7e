"""Sustained events/s of the local hub (``webhook-hub run``), against its emulator alone doing the same AWS calls.

Both run at once as processes of their own, and are measured in alternating windows so drift in the machine's
load falls on both alike. Eight senders post new text messages (each with its own message id, so each is
stored, published and marked) for the window; the rate counts the ones answered 200 ``accepted``.

- **hub**: ``webhook-hub run`` as a user starts it: its gateway, four container processes, moto, the tap that
  reads every notification back.
- **baseline**: moto alone, provisioned the same way (topics fanned out to a queue), and eight threads making the
  three calls of a new event (conditional put of a 1.4 KB item, publish of a 2 KB message, update), with none of
  the hub's code: what the emulator allows, the ceiling for the hub.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import cases
from webhook_hub_cli import local_aws

SENDERS = 8
WARMUP_SECONDS = 10.0
"""Posting from every sender first, until all four containers have started (spawned on demand, each a cold start)."""


def _rate(send: Callable[[int], bool], seconds: float) -> float:
    """Events per second that ``send`` completes from SENDERS threads in ``seconds``."""
    done = [0] * SENDERS
    deadline = time.monotonic() + seconds

    def sender(slot: int) -> None:
        count = 0
        while time.monotonic() < deadline:
            count += send(slot * 10_000_000 + count)
            done[slot] = count

    threads = [threading.Thread(target=sender, args=(slot,)) for slot in range(SENDERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


class _Hub:
    def __init__(self, work: Path) -> None:
        state = work / "hub-state.json"
        self.log = (work / "hub.stderr").open("wb")
        env = {**os.environ, "WEBHOOK_HUB_STATE": str(state), "PYTHONUNBUFFERED": "1"}
        command = [str(Path(sys.executable).with_name("webhook-hub")), "run", "--json", "--port", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        deadline = time.monotonic() + 60
        while not (match := re.search(r"Webhook URL: http://([^/]+)(/\S+)", (work / "hub.stderr").read_text())):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the local hub printed no Webhook URL")
            time.sleep(0.1)
        self.host, self.path = match.groups()

    def send(self, number: int) -> bool:
        document = cases.text_message(cases.unique_id(f"hub{number}"))
        connection = http.client.HTTPConnection(self.host, timeout=60)
        try:
            connection.request("POST", self.path, json.dumps(document).encode(), cases.HEADERS)
            answer = connection.getresponse()
            return answer.status == 200 and json.loads(answer.read()).get("status") == "accepted"
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


class _Emulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.throughput"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        url = self.process.stdout.readline().strip()
        stack = local_aws.provision(url, "bench-baseline", tap=True)
        self.table, self.topic = stack.table_name, stack.topic_arns[cases.TEXT_TOPIC]
        self.item = "x" * 1400
        self.message = "x" * 2000
        self.clients = [(local_aws.client("dynamodb", url), local_aws.client("sns", url)) for _ in range(SENDERS)]

    def send(self, number: int) -> bool:
        dynamodb, sns = self.clients[number // 10_000_000]
        key = {"pk": {"S": f"baseline-{time.time_ns()}-{number}"}}
        dynamodb.put_item(
            TableName=self.table,
            Item={**key, "payload": {"S": self.item}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        sns.publish(TopicArn=self.topic, Message=self.message)
        dynamodb.update_item(
            TableName=self.table,
            Key=key,
            UpdateExpression="SET #state = :published",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":published": {"S": "published"}},
        )
        return True

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def measure(seconds: float, rounds: int = 2) -> dict[str, Any]:
    """``rounds`` windows of ``seconds`` each for the hub and the baseline, alternating."""
    rates: dict[str, list[float]] = {"hub": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as work:
        hub, emulator = _Hub(Path(work)), _Emulator()
        try:
            _rate(hub.send, WARMUP_SECONDS)
            for _ in range(rounds):
                rates["hub"].append(round(_rate(hub.send, seconds), 1))
                rates["baseline"].append(round(_rate(emulator.send, seconds), 1))
        finally:
            hub.stop()
            emulator.stop()
    return {"seconds": seconds, "senders": SENDERS, "rates": rates}


def _serve_emulator() -> None:
    """The baseline's moto, in a process of its own as the hub's is: prints its URL, stops when stdin closes."""
    server, url = local_aws.start_emulator()
    print(url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    _serve_emulator()
