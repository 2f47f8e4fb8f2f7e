"""Sustained events/s of the local hub (``webhook-hub run``) beside its emulator alone doing the same AWS calls.

Both run at once, each in processes of its own, measured in alternating windows so drift in the machine's load
falls on both alike. Eight senders send new events (new message ids: each is stored, published and marked) for
the window; the rate counts those done (for the hub, answered 200 ``accepted``).

- **hub**: ``webhook-hub run`` as a user starts it: its gateway, four container processes, moto, and the tap that
  reads every notification back.
- **baseline**: moto alone, provisioned the same way (topics fanned out to a queue), and eight threads making the
  three calls of a new event (a conditional put of a 1.4 KB item, a 2 KB publish, the update) with none of the
  hub's code: the ceiling the emulator sets.
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
"""Every sender posting before the hub is timed, until its four containers (spawned on demand) have started."""


def _rate(send: Callable[[int], bool], seconds: float) -> float:
    """Events per second that ``send`` completes from SENDERS threads for ``seconds``."""
    done = [0] * SENDERS
    deadline = time.monotonic() + seconds

    def sender(slot: int) -> None:
        while time.monotonic() < deadline:
            done[slot] += send(slot)

    threads = [threading.Thread(target=sender, args=(slot,)) for slot in range(SENDERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(done) / (time.monotonic() - started), 1)


def _start_hub(work: Path) -> tuple[subprocess.Popen[bytes], Callable[[int], bool]]:
    log = work / "hub.stderr"
    with log.open("wb") as stderr:
        hub = subprocess.Popen(
            [str(Path(sys.executable).with_name("webhook-hub")), "run", "--json", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "WEBHOOK_HUB_STATE": str(work / "state.json")},
        )
    deadline = time.monotonic() + 60
    while not (found := re.search(r"Webhook URL: http://([^/]+)(/\S+)", log.read_text(errors="replace"))):
        if time.monotonic() > deadline or hub.poll() is not None:
            raise RuntimeError(f"the local hub printed no Webhook URL: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    host, path = found.groups()

    def send(slot: int) -> bool:
        connection = http.client.HTTPConnection(host, timeout=60)
        try:
            document = cases.text_message(cases.unique_id(f"hub{slot}"))
            connection.request("POST", path, json.dumps(document).encode(), cases.HEADERS)
            answer = connection.getresponse()
            return answer.status == 200 and json.loads(answer.read()).get("status") == "accepted"
        finally:
            connection.close()

    return hub, send


def _start_emulator() -> tuple[subprocess.Popen[str], Callable[[int], bool]]:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "bench.throughput"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert emulator.stdout is not None
    url = emulator.stdout.readline().strip()
    try:
        stack = local_aws.provision(url, "bench-baseline", tap=True)
    except BaseException:
        emulator.kill()
        raise
    table, topic = stack.table_name, stack.topic_arns[cases.TEXT_TOPIC]
    clients = [(local_aws.client("dynamodb", url), local_aws.client("sns", url)) for _ in range(SENDERS)]

    def send(slot: int) -> bool:
        dynamodb, sns = clients[slot]
        key = {"pk": {"S": cases.unique_id(f"baseline{slot}")}}
        condition = "attribute_not_exists(pk)"
        dynamodb.put_item(TableName=table, Item={**key, "payload": {"S": "x" * 1400}}, ConditionExpression=condition)
        sns.publish(TopicArn=topic, Message="x" * 2000)
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #state = :published",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":published": {"S": "published"}},
        )
        return True

    return emulator, send


def measure(seconds: float, rounds: int = 2) -> dict[str, Any]:
    """``rounds`` windows of ``seconds`` for the hub and for the baseline, alternating."""
    rates: dict[str, list[float]] = {"hub": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as work:
        hub, send_to_hub = _start_hub(Path(work))
        try:
            emulator, send_to_emulator = _start_emulator()
            try:
                _rate(send_to_hub, WARMUP_SECONDS)
                for _ in range(rounds):
                    rates["hub"].append(_rate(send_to_hub, seconds))
                    rates["baseline"].append(_rate(send_to_emulator, seconds))
            finally:
                assert emulator.stdin is not None
                emulator.stdin.close()  # it stops when its stdin closes
                emulator.wait(timeout=30)
        finally:
            hub.terminate()
            hub.wait(timeout=30)
    return {"seconds": seconds, "senders": SENDERS, "rates": rates}


if __name__ == "__main__":  # the baseline's moto, in a process of its own as the hub's is
    server, url = local_aws.start_emulator()
    print(url, flush=True)
    sys.stdin.read()
    server.stop()
