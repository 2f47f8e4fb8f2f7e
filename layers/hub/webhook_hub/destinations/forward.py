"""Sending forwarding tasks: build the body, sign it, POST it, then do what ``core.destinations.next_step`` says.

A batch from the FIFO queue may hold several groups (destination and chat). Within a group the tasks go in order
and the first that fails stops its group: it is delayed by the backoff, the ones after it are released and come
back behind it. Other groups in the batch go on, so one dead destination or chat holds up nobody else.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from webhook_hub.aws.destination_store import DestinationSecrets, DestinationStore
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.payload_store import PayloadStore
from webhook_hub.aws.task_queue import Parked, Task, TaskQueue
from webhook_hub.core.destinations import (
    FORMAT_NOTIFICATION,
    STEP_DISABLE,
    STEP_PARK,
    STEP_RETRY,
    AttemptResult,
    Destination,
    RetryPolicy,
    Step,
    next_step,
    signature_headers,
)
from webhook_hub.delivery import AwsError, delivery_of
from webhook_hub.destinations import http_post
from webhook_hub.record import Item, payload_json_of

STEP_SKIPPED = "skipped"
"""Behind a failed task of its group in this batch: not tried, released to come back in order."""
STEP_DROPPED = "dropped"
"""Its destination was removed (or the task is unreadable): nothing to send it to."""

MIN_SCRUBBED_LENGTH = 6
"""Header values this long or longer are scrubbed from answers; shorter ones (``1``, ``yes``) are not secrets."""
RESERVED_HEADERS = frozenset({"host", "content-length", "content-type", "transfer-encoding", "connection"})
USER_AGENT = "webhook-hub"

Poster = Callable[..., AttemptResult]


def is_reserved_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in RESERVED_HEADERS or lowered.startswith("webhook-")


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What happened to one record of the batch."""

    message_id: str
    destination_id: str
    event_id: str
    step: Step
    attempt: int
    result: AttemptResult | None = None

    @property
    def failed(self) -> bool:
        """Reported to SQS as not processed: it stays in the queue."""
        return self.step.action in (STEP_RETRY, STEP_SKIPPED)


class Forwarder:
    def __init__(
        self,
        *,
        destinations: DestinationStore,
        secrets: DestinationSecrets,
        events: EventStore,
        payloads: PayloadStore,
        queue: TaskQueue,
        alert: Callable[[str, str], None],
        policy: RetryPolicy,
        private_network: bool,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        poster: Poster = http_post.post,
    ) -> None:
        """``private_network``: every destination may reach private addresses (the local hub); on AWS only those
        marked internal may. ``alert(subject, text)`` tells the operator (the alerts topic)."""
        self._destinations = destinations
        self._secrets = secrets
        self._events = events
        self._payloads = payloads
        self._queue = queue
        self._alert = alert
        self._policy = policy
        self._private_network = private_network
        self._clock = clock
        self._jitter = jitter
        self._poster = poster

    def handle(self, records: Sequence[Mapping[str, Any]]) -> list[Forwarded]:
        outcomes: list[Forwarded] = []
        stopped: set[str] = set()
        known: dict[str, Destination | None] = {}
        release: list[str] = []
        for record in records:
            attempt = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
            try:
                task = Task.parse(record["body"])
            except (ValueError, KeyError, TypeError):
                outcomes.append(
                    Forwarded(record["messageId"], "", "", Step(STEP_DROPPED, reason="unreadable"), attempt)
                )
                continue
            if task.group in stopped:
                release.append(record["receiptHandle"])
                outcomes.append(
                    Forwarded(record["messageId"], task.destination_id, task.event_id, Step(STEP_SKIPPED), attempt)
                )
                continue
            if task.destination_id not in known:
                try:
                    known[task.destination_id] = self._destinations.get(task.destination_id)
                except AwsError:  # the table is unreachable: this task waits its backoff, the batch goes on
                    delay = Step(STEP_RETRY, self._policy.backoff(attempt, self._jitter), "cannot read the destination")
                    step = self._carry_out(record, task, delay, attempt)
                    outcomes.append(Forwarded(record["messageId"], task.destination_id, task.event_id, step, attempt))
                    stopped.add(task.group)
                    continue
            outcome = self._one(record, task, known[task.destination_id], attempt)
            current = known[task.destination_id]
            if outcome.step.action == STEP_DISABLE and current is not None:
                known[task.destination_id] = replace(current, enabled=False)  # its later tasks here are parked
            if outcome.failed:
                stopped.add(task.group)
            outcomes.append(outcome)
        if release:  # if this fails they come back after the queue's visibility timeout instead, still in order
            with suppress(*AwsError):
                self._queue.release(release)
        return outcomes

    def _one(self, record: Mapping[str, Any], task: Task, destination: Destination | None, attempt: int) -> Forwarded:
        def outcome(step: Step, result: AttemptResult | None = None) -> Forwarded:
            return Forwarded(record["messageId"], task.destination_id, task.event_id, step, attempt, result)

        if destination is None:
            return outcome(Step(STEP_DROPPED, reason="destination removed"))
        if not destination.enabled:
            step = Step(STEP_PARK, reason=f"destination disabled ({destination.disabled_reason or 'by its owner'})")
            return outcome(self._carry_out(record, task, step, attempt))
        try:
            result = self._attempt(task, destination)
        except AwsError as error:  # the hub could not read the event or the secret: our fault, retried
            result = AttemptResult(None, f"hub could not prepare the request ({type(error).__name__})")
        except _EventGone:
            return outcome(self._carry_out(record, task, Step(STEP_PARK, reason="event no longer stored"), attempt))
        step = next_step(
            result,
            attempt=attempt,
            first_attempt_at=task.first_attempt_at,
            now=self._clock(),
            policy=self._policy,
            random=self._jitter,
        )
        if step.action == STEP_DISABLE:
            try:
                self._destinations.set_enabled(destination.destination_id, False, step.reason)
                self._alert(
                    f"Webhook Hub destination {destination.destination_id} disabled",
                    f"{destination.url} answered 410 Gone; it gets no more events until `webhook-hub destinations "
                    f"enable {destination.destination_id}`. Its undelivered events are parked.",
                )
            except AwsError:
                step = Step(STEP_RETRY, self._policy.backoff(attempt, self._jitter), step.reason)
        return outcome(self._carry_out(record, task, step, attempt), result)

    def _carry_out(self, record: Mapping[str, Any], task: Task, step: Step, attempt: int) -> Step:
        """Delay or park the task as decided; a failure to do so leaves it in the queue (it comes back anyway)."""
        try:
            if step.action == STEP_RETRY:
                self._queue.delay(record["receiptHandle"], step.delay_seconds)
            elif step.action in (STEP_PARK, STEP_DISABLE):
                self._queue.park(Parked(task, step.reason, attempt, self._clock()))
        except AwsError:
            return Step(STEP_RETRY, 0, f"{step.reason} (could not {step.action}; retried)")
        return step

    def _attempt(self, task: Task, destination: Destination) -> AttemptResult:
        item = self._events.get(task.event_id)
        if item is None:
            raise _EventGone
        body = self._body(item, destination.body_format)
        secret = self._secrets.get(destination.secret_id)
        headers = {name: value for name, value in secret.headers.items() if not is_reserved_header(name)}
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        headers |= signature_headers(secret.signing_secret, task.event_id, int(self._clock()), body)
        # The answer's first characters go to the parked reason and the log: a server that echoes its request
        # must not put the static headers' values (credentials) or the signing secret there.
        echoed = [v for v in (secret.signing_secret, *secret.headers.values()) if len(v) >= MIN_SCRUBBED_LENGTH]
        return self._poster(
            destination.url,
            body,
            headers,
            allow_private=self._private_network or destination.internal,
            scrub=echoed,
        )

    def _body(self, item: Item, body_format: str) -> bytes:
        if body_format == FORMAT_NOTIFICATION:
            return delivery_of(item).notification.encode()
        payload_json = payload_json_of(item)
        if payload_json is not None:
            return payload_json.encode()
        return self._payloads.get(item["payload_ref"]["M"]["key"]["S"])


class _EventGone(Exception):
    """The event's item expired (retention) before it could be sent."""


def batch_response(outcomes: Sequence[Forwarded]) -> dict[str, list[dict[str, str]]]:
    """The SQS event source's partial-batch answer: the records to keep in the queue."""
    return {"batchItemFailures": [{"itemIdentifier": o.message_id} for o in outcomes if o.failed]}
