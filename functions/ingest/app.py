"""Ingest Lambda: API Gateway HTTP API routes in, HTTP answers out; the work is in ``webhook_hub.ingest``.

API Gateway does the routing (template.yaml's webhook routes and ``GET /health``) and answers 404 to every other
request itself, so the function only tells the health check from a webhook: by hand, not with Powertools' event
handler, whose import alone adds about 100 ms to every cold start. The handler comes first, then what it calls.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from webhook_hub.aws import clients, secrets
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.payload_store import PayloadStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.budget import Budget
from webhook_hub.errors import BadBody, HubError, TokenMisconfigured, error_body
from webhook_hub.ingest import Ingest, Outcome, WebhookRequest
from webhook_hub.settings import Settings

logger = Logger()
metrics = Metrics()
by_topic = EphemeralMetrics()
"""``EventsByTopic`` has dimensions the other metrics must not get, so it is its own EMF document, written as
``single_metric`` writes it, from one object instead of a new one per event."""

HEALTH_ROUTE = "GET /health"


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.set_correlation_id(_correlation_id(event))
    try:
        return route(event, context)
    except Exception as error:
        # Never log the exception text: it may quote the body. The type and place are enough to find it.
        frame = error.__traceback__
        while frame is not None and frame.tb_next is not None:
            frame = frame.tb_next
        where = f"{frame.tb_frame.f_code.co_filename}:{frame.tb_lineno}" if frame else "unknown"
        logger.error("unhandled error", extra={"error_type": type(error).__name__, "where": where})
        metrics.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
        return _response(500, {"error": "internal", "reason": "unexpected error; the sender will retry"})


def _correlation_id(event: Any) -> Any:
    """API Gateway's request id: what ``correlation_paths.API_GATEWAY_HTTP`` selects, without a JMESPath search."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    return context.get("requestId") if isinstance(context, dict) else None


def route(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Anything but the health check is a webhook: API Gateway invokes the function for its routes only."""
    if event.get("routeKey") == HEALTH_ROUTE:
        return _response(200, {"status": "ok"})
    try:
        return _accepted(_ingest().handle(_request(event), Budget(context.get_remaining_time_in_millis)))
    except HubError as error:
        return _rejected(error)


def _request(event: dict[str, Any]) -> WebhookRequest:
    context = event.get("requestContext") or {}
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadBody("not_json", "body is marked base64 but is not valid base64") from error
    else:
        body = raw.encode()
    proxy = (event.get("pathParameters") or {}).get("proxy") or ""
    epoch_ms = context.get("timeEpoch")
    received_at = datetime.fromtimestamp(epoch_ms / 1000, UTC) if isinstance(epoch_ms, int) else datetime.now(UTC)
    return WebhookRequest(
        body=body,
        path_segments=tuple(segment for segment in proxy.split("/") if segment),
        headers={name.lower(): value for name, value in (event.get("headers") or {}).items()},
        request_id=str(context.get("requestId") or "unknown"),
        received_at=received_at,
    )


def _accepted(outcome: Outcome) -> dict[str, Any]:
    metrics.add_metric(name=outcome.outcome.capitalize(), unit=MetricUnit.Count, value=1)
    if outcome.offloaded:
        metrics.add_metric(name="Offloaded", unit=MetricUnit.Count, value=1)
    if not outcome.publish_marked:
        metrics.add_metric(name="MarkPublishedFailed", unit=MetricUnit.Count, value=1)
    try:
        by_topic.add_metric(name="EventsByTopic", unit=MetricUnit.Count, value=1)
        by_topic.add_dimension(name="topic", value=outcome.topic_key)
        by_topic.add_dimension(name="outcome", value=outcome.outcome)
        by_topic.flush_metrics()  # prints it and clears the object
    except BaseException:
        by_topic.clear_metrics()  # nothing half-built may reach the next event's document
        raise
    logger.info(
        "webhook handled",
        extra={"event_id": outcome.event_id, "event_type": outcome.event_type, "outcome": outcome.outcome},
    )
    return _response(200, outcome.body())


def _rejected(error: HubError) -> dict[str, Any]:
    metrics.add_metric(name=type(error).__name__, unit=MetricUnit.Count, value=1)
    log = logger.error if isinstance(error, TokenMisconfigured) else logger.warning
    log("webhook rejected", extra={"status": error.status, "error": error.code, "reason": error.reason})
    headers = {"retry-after": str(error.retry_after)} if error.retry_after else None
    return _response(error.status, error_body(error), headers)


def _response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body),
    }


@cache
def _ingest() -> Ingest:
    settings = Settings.from_env()
    return Ingest(
        settings,
        EventStore(settings.table_name, clients.dynamodb()),
        Publisher(settings.topic_arn_prefix, clients.sns()),
        PayloadStore(settings.bucket_name, clients.s3),  # the S3 client is made on the first large body
        lambda: secrets.live_tokens(settings.token_secret_id),
    )
