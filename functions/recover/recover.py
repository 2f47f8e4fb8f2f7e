"""Recovery Lambda, on a schedule: publishes events stored but never published (``webhook_hub.recovery``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from webhook_hub.aws import clients
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.recovery import sweep

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    report = sweep(
        EventStore(os.environ["TABLE_NAME"], clients.dynamodb()),
        Publisher(os.environ["TOPIC_ARN_PREFIX"], clients.sns()),
        now=datetime.now(UTC),
        min_age_seconds=int(os.environ.get("RECOVERY_MIN_AGE_SECONDS", "120")),
        lease_seconds=int(os.environ.get("PUBLISH_LEASE_SECONDS", "30")),
    )
    metrics.add_metric(name="Recovered", unit=MetricUnit.Count, value=len(report.published))
    metrics.add_metric(name="RecoveryFailed", unit=MetricUnit.Count, value=report.failed)
    logger.info("recovery sweep", extra={"published": report.published, "busy": report.busy, "failed": report.failed})
    return {"published": len(report.published), "busy": report.busy, "failed": report.failed}
