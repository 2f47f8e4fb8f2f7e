"""3. Concurrency and order, through the local hub (``webhook-hub run``) over HTTP on 127.0.0.1.

The hub runs each request in one of its 4 containers (processes), so parallel deliveries of one event race on
DynamoDB's conditional write across processes, as concurrent Lambda containers do. Publications are counted from
the hub's own stdout (``--json``: one line per notification a subscriber of every topic receives).

The hub stores events; it does not merge them into a message's state. A receipt that arrives before its message
is stored and published like any other event, and the ``ByMessage`` index returns everything about one message in
the order the hub received it: a subscriber that needs the latest state folds them itself.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from typing import Any

from .harness import CONNECTION_FAILED, HubAnswer, LocalHub, post_until_accepted, query_index, record_figures, sample


def _notifications_of(hub: LocalHub, instance: str, expected: int) -> list[dict[str, Any]]:
    return hub.wait_for_notifications(lambda n: n["notification"]["instance"] == instance, expected)


def _in_parallel(hub: LocalHub, bodies: list[bytes]) -> list[list[HubAnswer]]:
    """POST every body at once (one thread each, released together), each retried until accepted."""
    results: list[list[HubAnswer]] = [[] for _ in bodies]
    barrier = threading.Barrier(len(bodies))

    def send(index: int) -> None:
        barrier.wait()
        results[index] = post_until_accepted(hub, bodies[index])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_fifty_identical_deliveries_in_parallel_give_one_item_and_one_publication(hub: LocalHub) -> None:
    instance = f"race-{uuid.uuid4().hex[:8]}"
    body = sample("reference/messages-upsert-text.json")
    body["instance"] = instance
    raw = json.dumps(body).encode()

    results = _in_parallel(hub, [raw] * 50)

    finals = Counter(answers[-1].body.get("status") for answers in results)
    assert not [a for answers in results for a in answers if a.status == CONNECTION_FAILED]  # regression: backlog
    assert all(answers[-1].status == 200 for answers in results), results
    # One copy wins the write and publishes (``republished`` when its publish timed out on a loaded machine and
    # its own retry finished it); copies meeting the publication in flight are ``pending``, later ones
    # ``duplicate``. Regression: ``pending`` copies got 503 ``in_progress``, firing the 5xx alarm.
    assert finals["accepted"] + finals["republished"] == 1, finals
    assert finals["accepted"] + finals["republished"] + finals["pending"] + finals["duplicate"] == 50, finals
    retried = [a for answers in results for a in answers[:-1]]
    assert not [a for a in retried if a.body.get("error") == "in_progress"], retried
    assert {answers[-1].body["event_id"] for answers in results} == {results[0][-1].body["event_id"]}
    assert len(hub.items_of_instance(instance)) == 1
    (notification,) = _notifications_of(hub, instance, 1)
    assert notification["notification"]["event_id"] == results[0][-1].body["event_id"]
    record_figures("concurrency.identical", {"deliveries": 50, "containers": 4, "pending_answers": finals["pending"]})


def test_status_update_before_its_message_both_stored_and_published_in_received_order(hub: LocalHub) -> None:
    instance = f"order-{uuid.uuid4().hex[:8]}"
    message_id = uuid.uuid4().hex.upper()
    upsert = sample("reference/messages-upsert-text.json")
    upsert["instance"] = instance
    upsert["data"]["key"]["id"] = message_id
    update = sample("reference/messages-update-read.json")
    update["instance"] = instance
    update["data"]["keyId"] = message_id
    update["data"]["remoteJid"] = upsert["data"]["key"]["remoteJid"]

    first = hub.post(json.dumps(update).encode())
    second = hub.post(json.dumps(upsert).encode())

    assert (first.status, first.body["status"], first.body["event_type"]) == (200, "accepted", "messages.update")
    assert (second.status, second.body["status"], second.body["event_type"]) == (200, "accepted", "messages.upsert")
    by_message = query_index(hub.endpoint_url, hub.table_name, "ByMessage", "message_pk", f"{instance}#{message_id}")
    assert [item["event_type"]["S"] for item in by_message] == ["messages.update", "messages.upsert"]
    assert [item["pk"]["S"] for item in by_message] == [first.body["event_id"], second.body["event_id"]]
    published = _notifications_of(hub, instance, 2)
    assert sorted(n["notification"]["event_type"] for n in published) == ["messages.update", "messages.upsert"]
    assert {n["topic"] for n in published} == {"MessagesUpdate", "MessagesUpsert"}


def _global_copy(body: dict[str, Any]) -> dict[str, Any]:
    """The same event as a v1.x global webhook sends it: other destination, the global key, and the same
    ``date_time`` (built once per event, contract §5.1; in 2.x the two copies are one object)."""
    return {
        **body,
        "destination": "https://hooks.example.test/global-receiver",
        "apikey": "GLOBAL-API-KEY-0000-0000-000000000000",
    }


def test_message_through_local_and_global_webhooks_gives_one_item_and_one_publication(hub: LocalHub) -> None:
    instance = f"both-{uuid.uuid4().hex[:8]}"
    message = sample("reference/messages-upsert-text.json")
    message["instance"] = instance
    connection = sample("reference/connection-update-open.json")
    connection["instance"] = instance
    connection["date_time"] = "2026-01-01T10:15:05.000Z"
    reconnected = {**connection, "date_time": "2026-01-01T10:15:05.250Z"}  # a real second change, same second
    bodies = [message, _global_copy(message), connection, _global_copy(connection), reconnected]

    results = _in_parallel(hub, [json.dumps(body).encode() for body in bodies])

    finals = [answers[-1] for answers in results]
    assert all(answer.status == 200 for answer in finals), finals
    assert finals[0].body["event_id"] == finals[1].body["event_id"]
    assert finals[2].body["event_id"] == finals[3].body["event_id"]
    for first, second in (finals[0:2], finals[2:4]):
        # One copy wins the write; under a loaded machine its publish may time out and the other copy (or the
        # winner's own retry) publishes it as "republished". Either way: one item, one publication, below.
        statuses = sorted((first.body["status"], second.body["status"]))
        assert statuses in (
            ["accepted", "duplicate"],
            ["duplicate", "republished"],
            ["accepted", "pending"],
            ["pending", "republished"],
        ), statuses
    assert finals[4].body["event_id"] not in (finals[2].body["event_id"], finals[0].body["event_id"])
    assert len(hub.items_of_instance(instance)) == 3
    published = _notifications_of(hub, instance, 3)
    assert sorted(n["notification"]["event_type"] for n in published) == [
        "connection.update",
        "connection.update",
        "messages.upsert",
    ]
