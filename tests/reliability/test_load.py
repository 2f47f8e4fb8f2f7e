"""4. Load: the local hub takes thousands of mixed events from concurrent senders over HTTP on 127.0.0.1.

Mix (of all POSTs): 20 % redeliveries of an event already sent (often while it is still in flight), and of the new
events 5 % large bodies (> 200 KB, offloaded to S3) and 5 % unknown event types, the rest the common types.
Eight sender threads post as Evolution does and retry a 503 after a short pause (the real sender waits 5 s).

Invariant: stored unique == sent unique == published (each unique event exactly once on the hub's stdout).
Figures (throughput, p50/p99 latency of a POST) go to docs/reliability.md with ``WEBHOOK_HUB_FULL=1`` (20,000
POSTs) or ``WEBHOOK_HUB_RECORD=1`` (the CI size, 5,000).

Size: the hub is bound by its one process (moto and the gateway share a GIL) at about 35-40 POSTs/s on this
machine (2 cores), whatever the number of senders or containers. 5,000 POSTs take about 140 s alone; this test
starts first under ``-n 2`` (tests/reliability/conftest.py) so the rest of ``make test`` runs beside it.
"""

from __future__ import annotations

import base64
import json
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from typing import Any

from .harness import CONNECTION_FAILED, NON_RETRYABLE, HubAnswer, LocalHub, post_until_accepted, record_figures, sample
from .harness import scaled as sized

SENDERS = 8
INSTANCES = 4


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Mix:
    """New events of every kind, each made unique the way its dedup key needs (message id, call id, data)."""

    def __init__(self, run: str, rng: random.Random) -> None:
        self.run = run
        self.rng = rng
        self.upsert = sample("reference/messages-upsert-text.json")
        self.update = sample("reference/messages-update-read.json")
        self.send = sample("reference/send-message.json")
        self.connection = sample("reference/connection-update-open.json")
        self.presence = sample("reference/presence-update.json")
        self.call = sample("reference/call.json")
        self.unknown = sample("reference/unknown-future-event.json")
        self.image = sample("reference/messages-upsert-image-base64.json")
        self.media = base64.b64encode(rng.randbytes(180_000)).decode()  # 240 KB of base64

    def new(self, index: int) -> tuple[str, dict[str, Any]]:
        kind = self.rng.choices(
            ["upsert", "update", "send", "connection", "presence", "call", "unknown", "large"],
            weights=[45, 20, 5, 5, 5, 5, 5, 5],
        )[0]
        unique = f"{self.run}{index:06d}".upper()
        body: dict[str, Any]
        if kind in ("upsert", "send", "large"):
            body = json.loads(json.dumps({"upsert": self.upsert, "send": self.send, "large": self.image}[kind]))
            body["data"]["key"]["id"] = unique
            if kind == "large":
                body["data"]["message"]["base64"] = self.media
        elif kind == "update":
            body = json.loads(json.dumps(self.update))
            body["data"]["keyId"] = unique
        elif kind == "call":
            body = json.loads(json.dumps(self.call))
            body["data"]["id"] = unique
        else:
            body = json.loads(
                json.dumps({"connection": self.connection, "presence": self.presence}.get(kind, self.unknown))
            )
            body["data"]["n"] = unique  # content-keyed events: the data tells them apart
        body["instance"] = f"load-{self.run}-{index % INSTANCES}"
        return kind, body


def test_hub_takes_mixed_load_stores_and_publishes_every_unique_event_once(hub: LocalHub) -> None:
    total = sized(5_000, 20_000)
    rng = random.Random(5_000)
    mix = Mix(uuid.uuid4().hex[:6], rng)
    plan: list[tuple[str, bytes]] = []
    unique: list[bytes] = []
    kinds: Counter[str] = Counter()
    for index in range(total):
        if unique and rng.random() < 0.20:
            plan.append(("redelivery", rng.choice(unique[-50:] if rng.random() < 0.5 else unique)))
        else:
            kind, body = mix.new(index)
            raw = json.dumps(body).encode()
            unique.append(raw)
            plan.append((kind, raw))
        kinds[plan[-1][0]] += 1
    large = [raw for kind, raw in plan if kind == "large"]
    assert large
    assert all(len(raw) > 200_000 for raw in large)

    results: list[list[HubAnswer]] = [[] for _ in plan]
    cursor = iter(range(len(plan)))
    lock = threading.Lock()

    def sender() -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            results[index] = post_until_accepted(hub, plan[index][1])

    started = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    attempts = [a for answers in results for a in answers]
    assert not [a for a in attempts if a.status == CONNECTION_FAILED or a.status in NON_RETRYABLE]
    assert all(answers[-1].status == 200 for answers in results)
    event_ids = {answers[-1].body["event_id"] for answers in results}
    assert len(event_ids) == len(unique), "two different events got one id, or one event two"
    prefix = f"load-{mix.run}-"
    published = hub.wait_for_notifications(
        lambda n: str(n["notification"]["instance"]).startswith(prefix), len(unique), timeout=300
    )
    stored = [item["pk"]["S"] for k in range(INSTANCES) for item in hub.items_of_instance(f"{prefix}{k}")]
    assert sorted(stored) == sorted(event_ids), "stored events differ from the sent ones"
    published_ids = Counter(n["notification"]["event_id"] for n in published)
    assert published_ids == Counter(event_ids), "an event was published twice or not at all"
    offloaded = [n for n in published if n["notification"]["payload_ref"] is not None]
    assert len(offloaded) == kinds["large"]
    assert sum(1 for n in published if n["topic"] == "Unclassified") == kinds["unknown"]

    first_try = [answers[0].seconds for answers in results]
    outcomes = Counter(answers[-1].body["status"] for answers in results)
    record_figures(
        "load",
        {
            "posts": total,
            "unique_events": len(unique),
            "mix": dict(sorted(kinds.items())),
            "senders": SENDERS,
            "containers": 4,
            "seconds": round(elapsed, 1),
            "posts_per_second": round(total / elapsed, 1),
            "latency_ms": {
                "p50": round(1000 * statistics.median(first_try), 1),
                "p99": round(1000 * _percentile(first_try, 0.99), 1),
                "max": round(1000 * max(first_try), 1),
            },
            "large_body_latency_ms_p50": round(
                1000 * statistics.median(r[0].seconds for r, (k, _) in zip(results, plan, strict=True) if k == "large"),
                1,
            ),
            "outcomes": dict(sorted(outcomes.items())),
            "retried_503": sum(1 for a in attempts if a.status == 503),
            "stored": len(stored),
            "published": len(published),
        },
    )
