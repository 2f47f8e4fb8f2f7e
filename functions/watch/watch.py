"""Silence watch Lambda, on a schedule: alerts when a connected instance is silent for longer than is normal for it
(``webhook_hub.silence_watch``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from webhook_hub.aws import clients
from webhook_hub.aws.alerts import Alerts
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.watch_store import WatchStore
from webhook_hub.silence_watch import watch_instances

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = watch_instances(
        EventStore(os.environ["TABLE_NAME"], clients.dynamodb()),
        WatchStore(os.environ["WATCH_TABLE_NAME"], clients.dynamodb()),
        Alerts(os.environ["ALERTS_TOPIC_ARN"], clients.sns()),
        now=datetime.now(UTC),
        floor_seconds=60 * float(os.environ.get("SILENCE_FLOOR_MINUTES", "120")),
    )
    metrics.add_metric(name="SilentInstances", unit=MetricUnit.Count, value=len(report.silent))
    metrics.add_metric(name="WatchedInstances", unit=MetricUnit.Count, value=report.watched)
    logger.info(
        "silence watch",
        extra={
            "silent": report.silent,
            "alerted": report.alerted,
            "cleared": report.cleared,
            "caught_up": report.caught_up,
        },
    )
    return {
        "watched": report.watched,
        "silent": report.silent,
        "alerted": report.alerted,
        "cleared": report.cleared,
        "caught_up": report.caught_up,
    }
