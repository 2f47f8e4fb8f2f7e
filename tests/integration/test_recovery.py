"""The recovery sweep: publishes what was stored but never published, once; backs off from poison events and gives
up on them (``failed``) without holding healthy ones back; leaves leased events alone; stops in time."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from reliability.fault_proxy import FaultProxy, Rule

from webhook_hub.aws import clients
from webhook_hub.aws.clients import CALL_BUDGET_SECONDS
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.budget import Budget
from webhook_hub.core.classify import classify
from webhook_hub.core.values import compact_json
from webhook_hub.record import FAILED_PARTITION, build_item, pending_shard
from webhook_hub.recovery import CALLS_PER_EVENT, CHECK_LAG, SweepPolicy, sweep
from webhook_hub_cli import local_aws
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import LambdaContext

from .conftest import invoke, receive_all, sample, scan_items


class SimulatedClock:
    """Epoch seconds that move only when the test says (or by ``step`` on every read)."""

    def __init__(self, start: float, step: float = 0.0) -> None:
        self.now, self.step = start, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(autouse=True)
def _publish_attempts_due_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ingest path's failed publish leaves the event due for the sweep at once (deployed: after 150 s)."""
    monkeypatch.setenv("RECOVERY_DELAY_SECONDS", "0")
    monkeypatch.setenv("PUBLISH_LEASE_SECONDS", "0")


def _store_without_publishing(stack: local_aws.LocalStack, sample_name: str, topic_key: str) -> str:
    """A delivery whose publish failed (topic gone), then the topic back with a raw queue; the queue URL."""
    sns = local_aws.client("sns", stack.endpoint_url)
    topic = stack.topic_arns[topic_key]
    sns.delete_topic(TopicArn=topic)
    assert invoke(stack, sample(sample_name)).status == 503
    stack.topic_arns[topic_key] = sns.create_topic(Name=topic.rsplit(":", 1)[1])["TopicArn"]
    return local_aws.subscribe_queue(stack, f"{stack.stack_name}-{topic_key}", [topic_key], raw=True)


def _sweep_handler() -> dict[str, int]:
    import recover

    context = LambdaContext("webhook-hub-recover", timeout_seconds=stack_template.function_timeout("RecoverFunction"))
    result: dict[str, int] = recover.lambda_handler({}, context)
    return result


def _store(stack: local_aws.LocalStack) -> EventStore:
    return EventStore(stack.table_name, clients.dynamodb())


def _publisher(stack: local_aws.LocalStack) -> Publisher:
    return Publisher(stack.environment["TOPIC_ARN_PREFIX"], clients.sns())


def test_sweep_publishes_a_stored_unpublished_event_exactly_once(stack: local_aws.LocalStack) -> None:
    queue = _store_without_publishing(stack, "reference/messages-upsert-image-base64.json", "MessagesUpsert")
    time.sleep(1.01)  # sweep_at (whole seconds) has passed

    first = _sweep_handler()
    second = _sweep_handler()

    assert (first["published"], first["pending"], first["failed_attempts"]) == (1, 1, 0)
    assert (second["published"], second["pending"]) == (0, 0)
    (item,) = scan_items(stack)
    assert item["state"]["S"] == "published"
    assert "pending" not in item
    assert "sweep_at" not in item
    assert item["attempts"] == {"N": "2"}  # the ingest path's, then the sweep's
    (message,) = receive_all(stack, queue)
    notification = json.loads(message["Body"])
    assert notification["event_id"] == item["pk"]["S"]
    assert notification["received_at"] == item["received_at"]["S"]
    assert notification["summary"]["message_kind"] == "image"
    assert message["MessageAttributes"]["direction"]["StringValue"] == "inbound"
    assert "FAKE-INSTANCE-TOKEN" not in message["Body"]


def test_sweep_leaves_an_event_whose_lease_is_held(stack: local_aws.LocalStack) -> None:
    queue = _store_without_publishing(stack, "reference/messages-update-read.json", "MessagesUpdate")
    (item,) = scan_items(stack)
    now = int(time.time())
    assert _store(stack).claim_publish(item["pk"]["S"], now, now + 600, now)

    report = sweep(
        _store(stack), _publisher(stack), clock=SimulatedClock(now + 60), budget=Budget(), policy=SweepPolicy()
    )

    assert (report.published, report.busy, report.failed_attempts) == ([], 1, 0)
    assert receive_all(stack, queue) == []
    assert scan_items(stack)[0]["state"]["S"] == "stored"


def _write_as_first_written(stack: local_aws.LocalStack, body: dict[str, Any], received: datetime) -> str:
    """An item as the first delivery writes it (not in ``Pending``), its lease long run out."""
    c = classify(json.dumps(body))
    item = build_item(
        c,
        received_at=received,
        payload_json=compact_json(c.payload),
        payload_ref=None,
        lease_until=int(received.timestamp()) + 30,
        sweep_at=int(received.timestamp()) + 330,
        retention_days=1,
    )
    local_aws.client("dynamodb", stack.endpoint_url).put_item(TableName=stack.table_name, Item=item)
    return c.event_id


def test_the_check_of_recent_events_finds_each_event_no_delivery_finished_once(stack: local_aws.LocalStack) -> None:
    """A function that died between its write and its publication, with a sender that never retried, wrote nothing
    that puts the event in ``Pending``: the sweep's check of what was received since its last run finds it."""
    start = time.time()
    died = _write_as_first_written(stack, _call_event(1), datetime.fromtimestamp(start - 600, UTC))
    done = _write_as_first_written(stack, _call_event(2), datetime.fromtimestamp(start - 600, UTC))
    _store(stack).mark_published(done, "2026-01-01T00:00:00.000Z", "sns-1")
    late = _write_as_first_written(stack, _call_event(3), datetime.fromtimestamp(start - CHECK_LAG / 2, UTC))
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-call", ["Call"], raw=True)

    def run(at: float) -> Any:
        return sweep(_store(stack), _publisher(stack), clock=SimulatedClock(at), budget=Budget(), policy=SweepPolicy())

    first, second, third = run(start), run(start + CHECK_LAG), run(start + 2 * CHECK_LAG)

    assert (first.found_unfinished, first.published) == ([died], [died])
    assert (second.found_unfinished, second.published) == ([late], [late])  # received within CHECK_LAG of the first
    assert (third.found_unfinished, third.published) == ([], [])
    assert sorted(json.loads(m["Body"])["event_id"] for m in receive_all(stack, queue)) == sorted([died, late])
    assert _store(stack).recovery_cursor.read() == int(start + 2 * CHECK_LAG) - CHECK_LAG


def test_a_claimed_event_is_in_pending_so_a_claimer_that_dies_leaves_it_to_the_sweep(
    stack: local_aws.LocalStack,
) -> None:
    received = datetime.fromtimestamp(time.time() - 600, UTC)
    event_id = _write_as_first_written(stack, _call_event(4), received)
    now = int(time.time())

    claimed = _store(stack).claim_publish(event_id, now, now + 30, now + 300)

    assert claimed is not None
    assert (claimed["pending"], claimed["sweep_at"]) == ({"S": pending_shard(event_id)}, {"N": str(now + 300)})


# --- poison events: backoff, then failed; healthy ones are never held back ----------------------------------


def _call_event(number: int) -> dict[str, Any]:
    return {"event": "call", "instance": "loja", "data": {"id": f"CALL{number:06d}", "status": "offer"}}


def _write_stored(stack: local_aws.LocalStack, bodies: list[dict[str, Any]], received: datetime) -> list[str]:
    """Items as the ingest path writes them when its publish failed (lease released), in one batch per 25."""
    dynamodb = local_aws.client("dynamodb", stack.endpoint_url)
    event_ids, requests = [], []
    for body in bodies:
        c = classify(json.dumps(body))
        item = build_item(
            c,
            received_at=received,
            payload_json=compact_json(c.payload),
            payload_ref=None,
            lease_until=0,
            sweep_at=int(received.timestamp()),
            retention_days=1,
        ) | {"pending": {"S": pending_shard(c.event_id)}, "sweep_at": {"N": str(int(received.timestamp()))}}
        event_ids.append(c.event_id)
        requests.append({"PutRequest": {"Item": item}})
    for start in range(0, len(requests), 25):
        dynamodb.batch_write_item(RequestItems={stack.table_name: requests[start : start + 25]})
    return event_ids


def _poison(stack: local_aws.LocalStack) -> None:
    """A topic that refuses every publish: the Call topic is gone."""
    local_aws.client("sns", stack.endpoint_url).delete_topic(TopicArn=stack.topic_arns["Call"])


def test_a_thousand_poison_events_do_not_delay_a_healthy_one(stack: local_aws.LocalStack) -> None:
    """Regression: the sweep took the oldest 1,000 pending events, so a backlog of events that always fail (a
    broken topic) kept every healthy event behind it unpublished."""
    _poison(stack)
    start = time.time()
    poison_ids = _write_stored(stack, [_call_event(n) for n in range(1_000)], datetime.fromtimestamp(start - 60, UTC))
    (healthy,) = _write_stored(
        stack, [sample("reference/connection-update-open.json")], datetime.fromtimestamp(start, UTC)
    )
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-conn", ["ConnectionUpdate"], raw=True)
    clock = SimulatedClock(start + 1)

    first = sweep(_store(stack), _publisher(stack), clock=clock, budget=Budget(), policy=SweepPolicy())

    assert first.published == [healthy]
    assert first.failed_attempts == len(poison_ids)
    assert first.pending == len(poison_ids) + 1
    assert first.oldest_pending_seconds >= 60
    (message,) = receive_all(stack, queue)
    assert json.loads(message["Body"])["event_id"] == healthy

    clock.now += 60  # the next sweep: the poison events wait out their backoff
    second = sweep(_store(stack), _publisher(stack), clock=clock, budget=Budget(), policy=SweepPolicy())
    assert (second.published, second.failed_attempts, second.busy, second.pending) == ([], 0, 0, len(poison_ids))


def test_an_event_that_keeps_failing_backs_off_then_is_failed_and_listed(stack: local_aws.LocalStack) -> None:
    _poison(stack)
    start = time.time()
    (event_id,) = _write_stored(stack, [_call_event(1)], datetime.fromtimestamp(start, UTC))
    policy = SweepPolicy(max_attempts=5, backoff_seconds=300, max_backoff_seconds=1_200)
    store = _store(stack)
    clock = SimulatedClock(start)
    tried_at = []
    for _ in range(60):  # every 5 simulated minutes for 5 hours
        clock.now += 300
        report = sweep(store, _publisher(stack), clock=clock, budget=Budget(), policy=policy)
        if report.failed_attempts:
            tried_at.append(round(clock.now - start))
        if report.gave_up:
            break

    assert report.gave_up == [event_id]
    assert tried_at == [300, 900, 2_100, 3_300]  # after the ingest path's attempt: 600, 1,200, then 1,200 (capped)
    item = store.get(event_id)
    assert item is not None
    assert (item["state"], item["pending"], item["attempts"]) == ({"S": "failed"}, {"S": "failed"}, {"N": "5"})
    assert [entry.event_id for entry in store.pending_entries(FAILED_PARTITION)] == [event_id]
    clock.now += 86_400
    assert sweep(store, _publisher(stack), clock=clock, budget=Budget(), policy=policy).pending == 0


def test_a_failed_event_redelivered_by_the_sender_is_published(stack: local_aws.LocalStack) -> None:
    body = _call_event(7)
    start = time.time()
    (event_id,) = _write_stored(stack, [body], datetime.fromtimestamp(start, UTC))
    store = _store(stack)
    store.mark_failed(event_id, "2026-01-01T00:00:00.000Z", int(start))
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-call", ["Call"], raw=True)

    answer = invoke(stack, body)

    assert (answer.status, answer.body["status"]) == (200, "republished")
    assert [json.loads(m["Body"])["event_id"] for m in receive_all(stack, queue)] == [event_id]
    item = store.get(event_id)
    assert item is not None
    assert item["state"] == {"S": "published"}
    assert "pending" not in item


def test_the_sweep_stops_while_the_function_still_has_time(stack: local_aws.LocalStack) -> None:
    """Regression: the sweep ran until its batch was done, whatever the function's time left."""
    start = time.time()
    _write_stored(stack, [_call_event(n) for n in range(40)], datetime.fromtimestamp(start, UTC))
    clock = SimulatedClock(start, step=1)  # the sweep's start, then every claim, takes a simulated second
    deadline = start + 8 + CALLS_PER_EVENT * CALL_BUDGET_SECONDS + 1.5  # room for 8 events' worst case, no more

    report = sweep(
        _store(stack),
        _publisher(stack),
        clock=clock,
        budget=Budget(lambda: int((deadline - clock.now) * 1_000)),
        policy=SweepPolicy(),
    )

    assert report.stopped_early
    assert len(report.published) == 8
    assert report.pending == 40


def test_a_sweep_that_outlives_a_lease_does_not_double_publish(stack: local_aws.LocalStack) -> None:
    """Regression: every lease of a sweep was computed from its start, so an event claimed late in a long sweep
    got a lease that had already run out, and a sender's retry arriving meanwhile published it a second time."""
    start = time.time()
    (event_id,) = _write_stored(stack, [_call_event(9)], datetime.fromtimestamp(start, UTC))
    queue = local_aws.subscribe_queue(stack, f"{stack.stack_name}-call", ["Call"], raw=True)
    clock = SimulatedClock(start + 100, step=40)  # the sweep outlives a 30 s lease between its start and the claim
    retries: list[Any] = []
    proxy = FaultProxy(stack.endpoint_url).start()

    def sender_retries_while_the_sweep_publishes(_operation: str) -> None:
        retries.append(invoke(stack, _call_event(9), at=clock.now + 5))

    proxy.add(Rule("sns:Publish", "hook", times=1, hook=sender_retries_while_the_sweep_publishes))
    try:
        report = sweep(
            EventStore(stack.table_name, local_aws.client("dynamodb", proxy.url)),
            Publisher(stack.environment["TOPIC_ARN_PREFIX"], local_aws.client("sns", proxy.url)),
            clock=clock,
            budget=Budget(),
            policy=SweepPolicy(lease_seconds=30),
        )
    finally:
        proxy.stop()

    assert [(answer.status, answer.body["status"]) for answer in retries] == [(200, "pending")]
    assert report.published == [event_id]
    assert [json.loads(message["Body"])["event_id"] for message in receive_all(stack, queue)] == [event_id]
