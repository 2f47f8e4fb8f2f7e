"""Publishing a stored event and recording that it was: shared by the ingest path and the recovery sweep.

A stored item holds everything its notification needs, so an event is published the same way whether
the first delivery, a redelivery or the sweep gets to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.budget import Budget
from webhook_hub.core.classify import Classification
from webhook_hub.core.mail import mail_subject, mail_text
from webhook_hub.core.notification import build_notification, message_attributes, sns_message
from webhook_hub.core.values import compact_json, from_iso, iso_utc
from webhook_hub.errors import PublishFailed
from webhook_hub.record import Item, classification_of, stored_payload

AwsError = (BotoCoreError, ClientError)


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    topic_key: str
    notification: str
    """The notification document (``compact_json``), what queues and Lambdas receive."""
    message: str
    """What is published (``MessageStructure=json``): the notification, and the short text for e-mail endpoints."""
    subject: str
    """The e-mail's subject (SNS shows it to e-mail endpoints and in the envelope of non-raw deliveries)."""
    attributes: dict[str, str]


def build_delivery(
    classification: Classification,
    *,
    received_at: datetime,
    payload: Any | None,
    payload_ref: Mapping[str, Any] | None = None,
) -> Delivery:
    """The one builder of a published message, for the first delivery and every rebuild, so both are the same bytes.

    Arguments as ``build_notification``'s.
    """
    document = build_notification(classification, received_at=received_at, payload=payload, payload_ref=payload_ref)
    notification = compact_json(document)
    return Delivery(
        classification.event_id,
        classification.topic_key,
        notification,
        sns_message(notification, mail_text(classification, received_at=received_at)),
        mail_subject(classification),
        message_attributes(classification),
    )


def delivery_of(item: Item) -> Delivery:
    """The delivery of a stored event, rebuilt from its item.

    The item holds the payload and summary as the ``compact_json`` text of what the first delivery published, and
    parsing that text and serializing it again gives the same text back, so the rebuild is the same bytes.
    """
    payload, payload_ref = stored_payload(item)
    received_at = from_iso(item["received_at"]["S"])
    assert received_at is not None, "items always carry received_at"
    return build_delivery(classification_of(item), received_at=received_at, payload=payload, payload_ref=payload_ref)


def deliver(store: EventStore, publisher: Publisher, delivery: Delivery, budget: Budget, sweep_at: int) -> bool:
    """Publish, then mark published; ``False`` when SNS took it but the mark failed or no time was left for it
    (it stays ``stored``, and the sweep publishes it again: the documented at-least-once edge).

    Raises ``PublishFailed`` (a 503 for the sender) after giving the publish lease back and putting the event in
    ``Pending``, due at ``sweep_at`` unless it is there already.
    """
    try:
        message_id = publisher.publish(delivery.topic_key, delivery.message, delivery.subject, delivery.attributes)
    except AwsError as error:
        if budget.allows():
            with suppress(*AwsError):  # otherwise the lease runs out by itself
                store.release_lease(delivery.event_id, sweep_at)
        raise PublishFailed("cannot publish the event; it is stored and will be published on retry") from error
    if not budget.allows():
        return False
    try:
        store.mark_published(delivery.event_id, iso_utc(datetime.now(UTC)), message_id)
    except AwsError:
        return False
    return True
