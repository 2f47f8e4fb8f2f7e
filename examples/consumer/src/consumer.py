"""Example subscriber: each notification of the queue is parsed with the hub's own model and handled once.

Lambda's SQS event source hands over up to 10 messages; Powertools' batch processor reports the ones that failed
(partial batch failures), so only those come back, and after 5 receives they go to the dead-letter queue. The hub
publishes each event once barring rare duplicates, and a replay sends an event again with the same ``event_id``:
Powertools' idempotency utility remembers handled ids for a week, so ``handle`` runs once per event.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from webhook_hub.core.notification import Notification

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
once = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=7 * 86_400)
handled = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])


def handle(notification: Notification) -> None:
    """Your code: what to do with one event. Raise to have the record retried (then dead-lettered)."""
    summary = notification.summary
    if notification.event_type == "messages.upsert" and summary.get("direction") == "inbound":
        logger.info(
            "message received",
            extra={
                "event_id": notification.event_id,
                "instance": notification.instance,
                "chat": summary.get("chat_jid"),
                "text": summary.get("text"),
            },
        )
    else:
        logger.info("event", extra={"event_id": notification.event_id, "event_type": notification.event_type})
    # notification.payload is the redacted body; when it was too large for SNS it is in S3 at notification.payload_ref
    # (the consumer then needs s3:GetObject on the hub's PayloadBucket).


@idempotent_function(  # type: ignore[untyped-decorator]  # Powertools does not type its decorator
    data_keyword_argument="document", config=once, persistence_store=handled
)
def handle_once(*, document: dict[str, Any], notification: Notification) -> None:
    handle(notification)


def record_handler(record: SQSRecord) -> None:
    notification = Notification.model_validate_json(record.body)  # anything else fails the record
    handle_once(document=record.json_body, notification=notification)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    once.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
