"""The forwarding policy on simulated time: filters, backoff, the next step, signatures, the URL guard."""

from __future__ import annotations

import random
from typing import Any

import pytest
from standardwebhooks import Webhook

from webhook_hub.core.destinations import (
    DAY,
    SQS_MAX_DELAY_SECONDS,
    STEP_DISABLE,
    STEP_DONE,
    STEP_PARK,
    STEP_RETRY,
    AttemptResult,
    DestinationFilter,
    RetryPolicy,
    deduplication_id,
    message_group,
    new_secret,
    next_step,
    signature_headers,
)
from webhook_hub.core.url_safety import UnsafeUrl, check_addresses, parse_target


def notification(
    event_type: str = "messages.upsert", instance: str = "loja", chat: str = "5511@s.whatsapp.net", **summary: str
) -> dict[str, Any]:
    return {
        "event_id": "e1",
        "event_type": event_type,
        "topic_key": "MessagesUpsert" if event_type == "messages.upsert" else "ConnectionUpdate",
        "instance": instance,
        "summary": {"chat_jid": chat, "direction": "inbound", "chat_type": "direct", "message_kind": "text", **summary},
    }


def test_an_empty_filter_takes_everything_and_each_field_narrows_it() -> None:
    event = notification()

    assert DestinationFilter().matches(event)
    assert DestinationFilter(event_types=frozenset({"messages.upsert"})).matches(event)
    assert DestinationFilter(event_types=frozenset({"MessagesUpsert"})).matches(event)
    assert not DestinationFilter(event_types=frozenset({"connection.update"})).matches(event)
    assert not DestinationFilter(instances=frozenset({"other"})).matches(event)
    assert not DestinationFilter(directions=frozenset({"outbound"})).matches(event)
    assert not DestinationFilter(chat_types=frozenset({"group"})).matches(event)
    assert DestinationFilter(message_kinds=frozenset({"text", "image"})).matches(event)
    assert not DestinationFilter(message_kinds=frozenset({"image"})).matches(event)
    assert not DestinationFilter(directions=frozenset({"inbound"})).matches({"event_type": "x", "summary": {}})


def test_filters_round_trip_through_their_lists() -> None:
    chosen = DestinationFilter(event_types=frozenset({"b", "a"}), directions=frozenset({"inbound"}))

    assert chosen.as_lists() == {"event_types": ["a", "b"], "directions": ["inbound"]}
    assert DestinationFilter.from_lists(chosen.as_lists()) == chosen


def test_groups_are_per_destination_and_chat_and_fit_sqs() -> None:
    first = message_group("horse", notification(chat="a@s.whatsapp.net"))

    assert first == message_group("horse", notification(chat="a@s.whatsapp.net"))
    assert first != message_group("horse", notification(chat="b@s.whatsapp.net"))
    assert first != message_group("n8n", notification(chat="a@s.whatsapp.net"))
    assert first != message_group("horse", notification(instance="other", chat="a@s.whatsapp.net"))
    assert len(message_group("x" * 64, notification())) <= 128
    assert deduplication_id("e1", "horse") != deduplication_id("e1", "n8n")
    assert deduplication_id("e1", "horse") != deduplication_id("e1", "horse", "redrive 1")


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=30, cap_seconds=3_600)

    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 3)] == [15, 30, 60]
    assert policy.backoff(50, lambda: 1.0) == 3_600
    assert policy.backoff(10_000, lambda: 0.5) <= 3_600


def step(result: AttemptResult, attempt: int = 1, elapsed: float = 0.0, **policy: int) -> Any:
    return next_step(
        result,
        attempt=attempt,
        first_attempt_at=1_000.0,
        now=1_000.0 + elapsed,
        policy=RetryPolicy(**policy),
        random=lambda: 1.0,
    )


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_done(status: int) -> None:
    assert step(AttemptResult(status)).action == STEP_DONE


@pytest.mark.parametrize(
    "result", [AttemptResult(404), AttemptResult(500), AttemptResult(301), AttemptResult(None, "timeout")]
)
def test_anything_else_is_retried_even_404(result: AttemptResult) -> None:
    decided = step(result, attempt=3)

    assert decided.action == STEP_RETRY
    assert decided.delay_seconds == 120


def test_410_disables_and_a_refused_url_parks_at_once() -> None:
    assert step(AttemptResult(410)).action == STEP_DISABLE
    refused = step(AttemptResult(None, "169.254.169.254 is a link-local or metadata address", refused=True))
    assert refused.action == STEP_PARK
    assert "metadata" in refused.reason


def test_the_last_retry_falls_on_the_end_of_the_window_then_it_parks() -> None:
    window = 4 * DAY
    near_end = step(AttemptResult(500), attempt=200, elapsed=window - 100)
    after = step(AttemptResult(500, snippet="boom"), attempt=201, elapsed=window)

    assert near_end.action == STEP_RETRY
    assert near_end.delay_seconds == 100
    assert after.action == STEP_PARK
    assert "HTTP 500: boom" in after.reason
    assert "201 attempts" in after.reason


def simulate(answer: Any, *, days: float, policy: RetryPolicy) -> tuple[str, float, int]:
    """One task against a server answering ``answer(now)``, on simulated time: (final step, when, attempts)."""
    jitter = random.Random(7).random
    now, attempt = 0.0, 0
    while now < days * DAY:
        attempt += 1
        decided = next_step(answer(now), attempt=attempt, first_attempt_at=0.0, now=now, policy=policy, random=jitter)
        if decided.action != STEP_RETRY:
            return decided.action, now, attempt
        assert 1 <= decided.delay_seconds <= min(policy.cap_seconds, SQS_MAX_DELAY_SECONDS)
        now += decided.delay_seconds
    raise AssertionError("still retrying after the simulated time")


def test_a_destination_down_for_a_simulated_day_gets_the_event_within_the_cap_of_coming_back() -> None:
    policy = RetryPolicy()
    back_at = 1 * DAY

    action, when, attempts = simulate(lambda now: AttemptResult(200 if now >= back_at else 503), days=5, policy=policy)

    assert action == STEP_DONE
    assert back_at <= when <= back_at + policy.cap_seconds
    assert 24 < attempts < 60  # ~7 doubling steps, then one every 30 to 60 minutes (the jittered cap)


def test_500_forever_is_parked_at_the_end_of_the_window() -> None:
    policy = RetryPolicy(window_seconds=4 * DAY)

    action, when, _attempts = simulate(lambda now: AttemptResult(500), days=10, policy=policy)

    assert action == STEP_PARK
    assert when == 4 * DAY


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    secret = new_secret(bytes(range(32)))
    body = b'{"event":"messages.upsert","data":{"n":1}}'
    import time

    timestamp = int(time.time())
    headers = signature_headers(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", timestamp, body)

    assert Webhook(secret).verify(body, headers) == {"event": "messages.upsert", "data": {"n": 1}}
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret(bytes(32))).verify(body, headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(body + b" ", headers)


def test_the_spec_test_vector() -> None:
    """The Standard Webhooks specification's example (README of standard-webhooks)."""
    headers = signature_headers(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )

    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://x", "http://user:pw@example.com/", "http:///nohost", "x"],
)
def test_only_plain_http_and_https_urls(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        parse_target(url)


def test_targets_keep_port_path_and_query() -> None:
    target = parse_target("http://localhost:9000/resposta?x=1")

    assert (target.scheme, target.host, target.port, target.path) == ("http", "localhost", 9000, "/resposta?x=1")
    assert parse_target("https://example.com").port == 443


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "fe80::1", "::ffff:169.254.169.254", "0.0.0.0"]
)
def test_metadata_and_link_local_addresses_are_refused_even_for_internal_destinations(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="link-local or metadata"):
        check_addresses([address], allow_private=True)


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.10", "172.16.0.1", "127.0.0.1", "::1", "100.64.0.1"])
def test_private_addresses_need_an_internal_destination(address: str) -> None:
    with pytest.raises(UnsafeUrl, match="private"):
        check_addresses([address], allow_private=False)
    check_addresses([address], allow_private=True)


def test_every_address_of_a_host_is_checked() -> None:
    check_addresses(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"], allow_private=False)
    with pytest.raises(UnsafeUrl):
        check_addresses(["93.184.215.14", "169.254.169.254"], allow_private=False)
    with pytest.raises(UnsafeUrl, match="no address"):
        check_addresses([], allow_private=True)
