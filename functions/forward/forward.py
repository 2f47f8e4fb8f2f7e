"""Forward Lambda, on the FIFO queue of forwarding tasks: signed POSTs to the users' own servers, retried with
backoff, parked after the retry window (``webhook_hub.destinations.forward``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from webhook_hub.aws import clients
from webhook_hub.aws.destination_store import DestinationSecrets, DestinationStore
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.payload_store import PayloadStore
from webhook_hub.aws.task_queue import TaskQueue
from webhook_hub.core.destinations import DAY, STEP_DISABLE, STEP_DONE, STEP_PARK, STEP_RETRY, RetryPolicy
from webhook_hub.destinations.forward import Forwarded, Forwarder, batch_response

logger = Logger()
metrics = Metrics()
per_destination = EphemeralMetrics()
"""The per-destination metrics have a dimension the others must not get: their own EMF document, as in app.py."""

PRIVATE_NETWORK_ALLOWED = "allowed"
"""``DESTINATIONS_PRIVATE_NETWORK`` on the local hub only: every destination may reach this machine and its LAN."""


def _alert(subject: str, text: str) -> None:
    clients.sns().publish(TopicArn=os.environ["ALERTS_TOPIC_ARN"], Subject=subject[:100], Message=text)


@cache
def forwarder() -> Forwarder:
    return Forwarder(
        destinations=DestinationStore(os.environ["DESTINATIONS_TABLE"], clients.dynamodb()),
        secrets=DestinationSecrets(clients.secretsmanager()),
        events=EventStore(os.environ["TABLE_NAME"], clients.dynamodb()),
        payloads=PayloadStore(os.environ["BUCKET_NAME"], clients.s3),
        queue=TaskQueue(clients.sqs(), os.environ["DELIVERY_QUEUE_URL"], os.environ["PARKED_QUEUE_URL"]),
        alert=_alert,
        policy=RetryPolicy(window_seconds=int(float(os.environ.get("RETRY_WINDOW_HOURS", "96")) * DAY / 24)),
        private_network=os.environ.get("DESTINATIONS_PRIVATE_NETWORK") == PRIVATE_NETWORK_ALLOWED,
    )


_METRIC_OF_STEP = {
    STEP_DONE: "ForwardDelivered",
    STEP_RETRY: "ForwardRetried",
    STEP_PARK: "ForwardParked",
    STEP_DISABLE: "ForwardParked",
}


def _record_metrics(outcomes: Sequence[Forwarded]) -> None:
    """Per destination: attempts, latency, delivered, retried, parked (EMF, one document per destination)."""
    metrics.add_metric(name="ForwardTasks", unit=MetricUnit.Count, value=len(outcomes))
    for outcome in outcomes:
        name = _METRIC_OF_STEP.get(outcome.step.action)
        if name is None:
            continue
        try:
            per_destination.add_dimension(name="destination", value=outcome.destination_id)
            per_destination.add_metric(name=name, unit=MetricUnit.Count, value=1)
            if outcome.result is not None:
                per_destination.add_metric(name="ForwardAttempts", unit=MetricUnit.Count, value=1)
                per_destination.add_metric(
                    name="ForwardLatency", unit=MetricUnit.Milliseconds, value=outcome.result.elapsed_ms
                )
            per_destination.flush_metrics()  # prints this destination's document and clears the object
        except BaseException:
            per_destination.clear_metrics()  # nothing half-built may reach the next document
            raise
        if outcome.step.action in (STEP_PARK, STEP_DISABLE):
            metrics.add_metric(name="ForwardParked", unit=MetricUnit.Count, value=1)
            logger.warning(
                "forwarding task parked",
                extra={
                    "destination": outcome.destination_id,
                    "event_id": outcome.event_id,
                    "reason": outcome.step.reason,
                },
            )


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    outcomes = forwarder().handle(event.get("Records", []))
    _record_metrics(outcomes)
    return batch_response(outcomes)
