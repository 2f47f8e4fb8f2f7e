"""Recovery Lambda, on a schedule: publishes events stored but never published (``webhook_hub.recovery``)."""

from __future__ import annotations

import os
import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from webhook_hub.aws import clients
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.budget import Budget
from webhook_hub.recovery import SweepPolicy, sweep

logger = Logger()
metrics = Metrics()


def _policy() -> SweepPolicy:
    defaults = SweepPolicy()
    return SweepPolicy(
        lease_seconds=int(os.environ.get("PUBLISH_LEASE_SECONDS", str(defaults.lease_seconds))),
        max_attempts=int(os.environ.get("RECOVERY_MAX_ATTEMPTS", str(defaults.max_attempts))),
    )


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    report = sweep(
        EventStore(os.environ["TABLE_NAME"], clients.dynamodb()),
        Publisher(os.environ["TOPIC_ARN_PREFIX"], clients.sns()),
        clock=time.time,
        budget=Budget(context.get_remaining_time_in_millis),
        policy=_policy(),
    )
    metrics.add_metric(name="Recovered", unit=MetricUnit.Count, value=len(report.published))
    metrics.add_metric(name="RecoveryFailed", unit=MetricUnit.Count, value=report.failed_attempts)
    metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=len(report.gave_up))
    metrics.add_metric(name="PendingEvents", unit=MetricUnit.Count, value=report.pending)
    metrics.add_metric(name="OldestPendingAgeSeconds", unit=MetricUnit.Seconds, value=report.oldest_pending_seconds)
    summary = {
        "published": len(report.published),
        "busy": report.busy,
        "failed_attempts": report.failed_attempts,
        "gave_up": len(report.gave_up),
        "pending": report.pending,
        "oldest_pending_seconds": report.oldest_pending_seconds,
        "stopped_early": int(report.stopped_early),
        "found_unfinished": len(report.found_unfinished),
    }
    if report.gave_up:
        logger.error("events moved to failed", extra={"event_ids": report.gave_up})
    logger.info("recovery sweep", extra={**summary, "event_ids": report.published})
    return summary
