"""Dispatch Lambda, on the intake queue (every event topic, raw): one forwarding task per matching destination
(``webhook_hub.destinations.dispatch``)."""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from webhook_hub.aws import clients
from webhook_hub.aws.destination_store import DestinationStore
from webhook_hub.aws.task_queue import TaskQueue
from webhook_hub.destinations.dispatch import dispatch, enabled_destinations

logger = Logger()
metrics = Metrics()


@cache
def _store() -> DestinationStore:
    return DestinationStore(os.environ["DESTINATIONS_TABLE"], clients.dynamodb())


@cache
def _queue() -> TaskQueue:
    return TaskQueue(clients.sqs(), os.environ["DELIVERY_QUEUE_URL"], os.environ.get("PARKED_QUEUE_URL", ""))


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    report = dispatch(records, enabled_destinations(_store()) if records else [], _queue(), now=time.time())
    metrics.add_metric(name="ForwardTasksQueued", unit=MetricUnit.Count, value=report.tasks)
    if report.unreadable:
        logger.warning("intake records that are not notifications were dropped", extra={"count": report.unreadable})
    if report.failed_records:
        metrics.add_metric(name="DispatchFailed", unit=MetricUnit.Count, value=len(report.failed_records))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in report.failed_records]}
