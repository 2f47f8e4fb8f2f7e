"""1. Hostile input: generated requests through the real ``lambda_handler`` (in this process, against moto).

Four families, each a hypothesis strategy derived from the sample bodies (tests/reliability/strategies.py):
mutated bodies, encodings and framing, credentials/paths/headers, extremes. Each hypothesis example is a batch of
calls on the family's own stack; after every batch the table, the bucket and a queue subscribed to every topic
are compared with what the answers said. Invariants, for every call:

- the answer is the contract's (``Call.expect``) and never a 5xx (no fault is injected here);
- every non-2xx answer is JSON with ``error`` and ``reason``;
- nothing is stored unless acknowledged: new items == answers ``accepted``/``unclassified``;
- nothing is published unless stored: the publications are exactly the ``accepted``/``unclassified``/
  ``republished`` answers, once each, and every acknowledged event is in the table, published.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import LambdaContext, http_api_event

from .harness import api_event, aws, receive_all, record_figures, sample, scaled, scan_items, subscribe_all
from .strategies import Call, credential_calls, encoded_calls, extreme_calls, mutated_calls, render

OUTCOMES = {"accepted", "unclassified", "duplicate", "republished"}
CREATES = {"accepted", "unclassified"}
PUBLISHES = {"accepted", "unclassified", "republished"}


@dataclass
class Tally:
    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    rejected_bodies: int = 0
    acknowledged: set[str] = field(default_factory=set)


def _event(call: Call, token: str) -> dict[str, Any]:
    path, headers = render(call, token)
    event = http_api_event("POST", path, [("content-type", call.content_type), *headers], call.body)
    assert event is not None, path
    if call.base64_mode == "valid":
        event["isBase64Encoded"], event["body"] = True, base64.b64encode(call.body).decode()
    elif call.base64_mode == "invalid":
        event["isBase64Encoded"], event["body"] = True, "not base64: " + call.body[:20].hex() + "!"
    return event


def _s3_keys(stack: local_aws.LocalStack) -> set[str]:
    s3 = aws("s3", stack.endpoint_url)
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=stack.bucket_name):
        keys.update(entry["Key"] for entry in page.get("Contents", []))
    return keys


def _item_count(stack: local_aws.LocalStack) -> int:
    dynamodb = aws("dynamodb", stack.endpoint_url)
    return int(dynamodb.describe_table(TableName=stack.table_name)["Table"]["ItemCount"])


def _states(stack: local_aws.LocalStack, event_ids: set[str]) -> dict[str, str]:
    dynamodb = aws("dynamodb", stack.endpoint_url)
    found: dict[str, str] = {}
    ids = sorted(event_ids)
    for start in range(0, len(ids), 100):
        keys = [{"pk": {"S": event_id}} for event_id in ids[start : start + 100]]
        request: Any = {stack.table_name: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": "pk, #s"}}
        request[stack.table_name]["ExpressionAttributeNames"] = {"#s": "state"}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(stack.table_name, []):
                found[item["pk"]["S"]] = item["state"]["S"]
            request = answer.get("UnprocessedKeys") or {}
    return found


def run_batch(stack: local_aws.LocalStack, queue_url: str, calls: list[Call], tally: Tally) -> None:
    """Send ``calls`` through the handler, then hold the answers against the table, bucket and queue."""
    import app

    receive_all(stack.endpoint_url, queue_url)  # left over only by a failed batch (while hypothesis shrinks)
    items_before = _item_count(stack)
    answered: list[tuple[Call, int, dict[str, Any]]] = []
    started = time.perf_counter()
    for call in calls:
        response = app.lambda_handler(_event(call, stack.token), LambdaContext())
        status = int(response["statusCode"])
        assert response["headers"]["content-type"] == "application/json", call.label
        body = json.loads(response["body"])
        assert isinstance(body, dict), call.label
        assert status < 500, (call.label, status, body)
        if call.expect is not None:
            assert status == call.expect, (call.label, call.content_type, call.base64_mode, status, body)
        if status >= 300:
            assert isinstance(body.get("error"), str), (call.label, body)
            assert isinstance(body.get("reason"), str), (call.label, body)
            assert body["error"], (call.label, body)
            assert body["reason"], (call.label, body)
        else:
            assert body["status"] in OUTCOMES, (call.label, body)
            assert len(str(body["event_id"])) == 32, (call.label, body)
        answered.append((call, status, body))
    tally.seconds += time.perf_counter() - started
    tally.calls += len(calls)
    tally.statuses.update(status for _, status, _ in answered)
    tally.outcomes.update(body["status"] for _, status, body in answered if status < 300)

    acknowledged = [body for _, status, body in answered if status < 300]
    created = sum(1 for body in acknowledged if body["status"] in CREATES)
    assert _item_count(stack) - items_before == created, "an item was stored without an acknowledgement"
    expected_publications = Counter(body["event_id"] for body in acknowledged if body["status"] in PUBLISHES)
    published = Counter(
        json.loads(message["Body"])["event_id"] for message in receive_all(stack.endpoint_url, queue_url)
    )
    assert published == expected_publications, "publications differ from the acknowledged events"
    states = _states(stack, {body["event_id"] for body in acknowledged})
    assert states == dict.fromkeys(states, "published")
    assert set(states) == {body["event_id"] for body in acknowledged}, "an acknowledged event is not stored"
    tally.rejected_bodies += sum(1 for call, status, _ in answered if status == 400 and call.base64_mode != "invalid")
    tally.acknowledged.update(states)


def check_bucket(stack: local_aws.LocalStack, tally: Tally) -> None:
    """Quarantined bodies come from 400s only; every payload in S3 belongs to an acknowledged event."""
    keys = _s3_keys(stack)
    quarantined = [key for key in keys if key.startswith("quarantine/")]
    assert len(quarantined) <= tally.rejected_bodies, "a body was quarantined without a 400"
    for key in keys - set(quarantined):
        assert key.startswith("payloads/"), key
        assert key.split("/")[1] in tally.acknowledged, f"{key} belongs to no acknowledged event"


HOSTILE = settings(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def _run_family(
    stack: local_aws.LocalStack, strategy: st.SearchStrategy[Call], total: int, batch: int, name: str
) -> Tally:
    queue_url = subscribe_all(stack, "all")
    tally = Tally()

    @settings(HOSTILE, max_examples=-(-total // batch))
    @given(st.lists(strategy, min_size=batch, max_size=batch))
    def check(calls: list[Call]) -> None:
        run_batch(stack, queue_url, calls, tally)

    check()
    check_bucket(stack, tally)
    assert tally.calls >= total, f"only {tally.calls} of {total} calls were generated"
    record_figures(
        f"hostile.{name}",
        {
            "requests": tally.calls,
            "seconds_in_handler": round(tally.seconds, 1),
            "statuses": dict(sorted(tally.statuses.items())),
            "outcomes": dict(sorted(tally.outcomes.items())),
        },
    )
    return tally


FAMILIES: dict[str, tuple[Callable[[], st.SearchStrategy[Call]], int, int, int]] = {
    # name: (strategy, CI count, full count, calls per hypothesis example)
    "mutated-bodies": (mutated_calls, 3_600, 20_000, 50),
    "encodings": (encoded_calls, 2_400, 12_000, 50),
    "credentials": (credential_calls, 3_600, 15_000, 50),
    "extremes": (extreme_calls, 400, 2_000, 5),
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("family", list(FAMILIES))
def test_hostile_requests_keep_every_invariant(in_process: local_aws.LocalStack, family: str) -> None:
    strategy, ci, full, batch = FAMILIES[family]
    tally = _run_family(in_process, strategy(), scaled(ci, full), batch, family)
    assert sum(tally.statuses[code] for code in tally.statuses if code >= 500) == 0
    if family != "extremes":  # every family exercises both sides of the contract
        assert tally.statuses[200] > 0
        assert sum(tally.statuses[code] for code in (400, 401)) > 0


def test_ci_run_sends_at_least_ten_thousand_hostile_requests() -> None:
    assert sum(scaled(ci, full) for _, ci, full, _ in FAMILIES.values()) >= 10_000


def test_huge_instance_name_is_stored_and_published_at_once(in_process: local_aws.LocalStack) -> None:
    """Regression: a 500 KB instance name made every notification too large for SNS: 503 on every attempt."""
    import app

    queue_url = subscribe_all(in_process, "all")
    body = sample("reference/messages-upsert-text.json")
    body["instance"] = "ç" * 250_000

    response = app.lambda_handler(api_event(f"/webhook/{in_process.token}", json.dumps(body).encode()), LambdaContext())

    assert response["statusCode"] == 200, response["body"]
    ((item, message),) = zip(
        scan_items(in_process.endpoint_url, in_process.table_name),
        receive_all(in_process.endpoint_url, queue_url),
        strict=True,
    )
    notification = json.loads(message["Body"])
    assert notification["instance"] == item["instance"]["S"]
    assert len(notification["instance"].encode()) <= 1_024
    assert "payload_ref" in item
