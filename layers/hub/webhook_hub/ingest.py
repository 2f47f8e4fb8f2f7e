"""The request path: authenticate, classify, redact, store once, publish once, answer.

Every accepted event is stored before it is acknowledged; a redelivery finds the stored item in the
same conditional write and publishes only if no earlier delivery did. The answer's status is chosen
for the sender's retry rules (see errors.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from webhook_hub.auth import Credentials, authenticate
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.payload_store import PayloadStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.budget import Budget
from webhook_hub.core.classify import Classification, RejectedBody, classify
from webhook_hub.core.redact import redact, redact_raw
from webhook_hub.core.values import compact_json
from webhook_hub.delivery import AwsError, Delivery, build_delivery, deliver, delivery_of
from webhook_hub.errors import (
    BadBody,
    BodyTooLarge,
    ForbiddenInstance,
    StoreUnavailable,
    TokenMisconfigured,
    Unavailable,
)
from webhook_hub.record import STATE_PUBLISHED, Item, build_item, item_size, key_part
from webhook_hub.settings import DYNAMODB_ITEM_LIMIT, SNS_MESSAGE_LIMIT, Settings

ERRORS_WEBHOOK = "error"
OUTCOME_ACCEPTED = "accepted"
OUTCOME_UNCLASSIFIED = "unclassified"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_REPUBLISHED = "republished"
OUTCOME_PENDING = "pending"
"""Stored, and another copy is publishing it right now (the sweep backs that copy up)."""
_SECRET_MISCONFIGURED = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "ResourceNotFoundException",
        "DecryptionFailure",
        "InvalidRequestException",
    }
)
"""Secrets Manager's answers that no retry by itself fixes: a policy, a deleted secret, a key."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    body: bytes
    path_segments: tuple[str, ...]
    headers: Mapping[str, str]
    request_id: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str
    event_id: str
    event_type: str
    topic_key: str
    offloaded: bool = False
    publish_marked: bool = True
    """False when SNS took the message but recording that failed (the event stays in ``Pending``)."""

    def body(self) -> dict[str, str]:
        return {"status": self.outcome, "event_id": self.event_id, "event_type": self.event_type}


class Ingest:
    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        publisher: Publisher,
        payloads: PayloadStore,
        tokens: Callable[[], Sequence[str]],
    ) -> None:
        self._settings = settings
        self._store = store
        self._publisher = publisher
        self._payloads = payloads
        self._tokens = tokens

    def handle(self, request: WebhookRequest, budget: Budget | None = None) -> Outcome:
        """Answer one webhook call; raise a ``HubError`` for anything but 2xx."""
        budget = budget or Budget()
        if len(request.body) > self._settings.max_body_bytes:
            raise BodyTooLarge(f"body is {len(request.body)} bytes; the limit is {self._settings.max_body_bytes}")
        tokens = self._live_tokens()
        now = int(request.received_at.timestamp())
        auth = authenticate(
            Credentials(request.path_segments, request.headers),
            tokens,
            self._settings.auth_header,
            now=request.received_at.timestamp(),
            jwt_accept_seconds=self._settings.jwt_accept_seconds,
        )
        try:
            classification = classify(request.body, auth.suffix, request.request_id)
        except RejectedBody as rejected:
            self._quarantine(request, tokens)
            raise BadBody(rejected.reason, rejected.detail) from rejected
        allowed = self._settings.allowed_instances
        # The errors webhook is the server's, not an instance's: it carries no instance to check.
        server_wide = classification.instance is None and classification.event_type == ERRORS_WEBHOOK
        if allowed and classification.instance not in allowed and not server_wide:
            raise ForbiddenInstance("instance is not on this hub's allow-list")
        prepared = self._prepare(classification, request, tokens, now)
        if not budget.allows():
            raise Unavailable("not enough time left to store the event")
        try:
            written = self._store.put_new(prepared.item)
        except AwsError as error:
            raise StoreUnavailable("cannot store the event") from error
        existing = written.existing or {}
        if written.created or existing.get("request_id") == prepared.item["request_id"]:
            # The second case: botocore retried our own PutItem after its answer was lost; the lease is ours.
            return self._publish(
                classification,
                prepared.delivery,
                OUTCOME_ACCEPTED,
                now=now,
                budget=budget,
                offloaded=prepared.offloaded,
            )
        if existing.get("state", {}).get("S") == STATE_PUBLISHED:
            return Outcome(
                OUTCOME_DUPLICATE, classification.event_id, classification.event_type, classification.topic_key
            )
        if not budget.allows():
            raise Unavailable("not enough time left to publish the stored event")
        try:
            claimed = self._store.claim_publish(classification.event_id, now, *self._lease_and_sweep(now))
        except AwsError as error:
            raise StoreUnavailable("cannot claim the event for publishing") from error
        if claimed is None:
            # Another copy holds the publish lease. The event is durable and the sweep publishes it if that copy
            # fails, so this copy is done: a 5xx would only fill the sender's log and fire our alarm.
            return Outcome(
                OUTCOME_PENDING, classification.event_id, classification.event_type, classification.topic_key
            )
        return self._publish(classification, delivery_of(claimed), OUTCOME_REPUBLISHED, now=now, budget=budget)

    def _live_tokens(self) -> Sequence[str]:
        """The secret's tokens; a secret we cannot read or use is our misconfiguration: 503, never a drop code."""
        try:
            tokens = self._tokens()
        except ClientError as error:
            answer: Any = error.response
            denied = answer.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403
            if denied or answer.get("Error", {}).get("Code") in _SECRET_MISCONFIGURED:
                raise TokenMisconfigured("the webhook token secret cannot be read by the function") from error
            raise Unavailable("cannot read the webhook token") from error
        except BotoCoreError as error:
            raise Unavailable("cannot read the webhook token") from error
        except ValueError as error:
            raise TokenMisconfigured("the webhook token secret is not JSON") from error
        if not any(tokens):
            raise TokenMisconfigured('the webhook token secret holds no "current" or "previous" token')
        return tokens

    def _quarantine(self, request: WebhookRequest, tokens: Sequence[str]) -> None:
        """Keep a rejected body (redacted) for inspection; answer 503 if it cannot be kept."""
        key = f"quarantine/{request.received_at:%Y/%m/%d}/{request.request_id}.txt"
        try:
            text = redact_raw(request.body.decode("utf-8", "replace"), tokens)
            self._payloads.put(key, text.encode(), "text/plain; charset=utf-8")
        except AwsError as error:
            raise StoreUnavailable("cannot quarantine the rejected body") from error

    def _publish(
        self,
        classification: Classification,
        delivery: Delivery,
        outcome: str,
        *,
        now: int,
        budget: Budget,
        offloaded: bool = False,
    ) -> Outcome:
        if not budget.allows():
            raise Unavailable("not enough time left to publish the stored event")
        marked = deliver(self._store, self._publisher, delivery, budget, self._lease_and_sweep(now)[1])
        return Outcome(
            outcome if classification.valid or outcome != OUTCOME_ACCEPTED else OUTCOME_UNCLASSIFIED,
            classification.event_id,
            classification.event_type,
            classification.topic_key,
            offloaded,
            marked,
        )

    def _lease_and_sweep(self, now: int) -> tuple[int, int]:
        """The publish lease's end, and when the recovery sweep may try the event if this attempt fails."""
        lease_until = now + self._settings.publish_lease_seconds
        return lease_until, lease_until + self._settings.recovery_delay_seconds

    def _prepare(
        self, classification: Classification, request: WebhookRequest, tokens: Sequence[str], now: int
    ) -> _Prepared:
        """Item and notification with the redacted payload inline, or in S3 when either would be too large."""
        # The summary quotes the body (a message's text, a push name): the live tokens are scrubbed from it too.
        classification = replace(classification, summary=redact(classification.summary, tokens))
        payload = redact(classification.payload, tokens)
        payload_json = compact_json(payload)  # what is stored, inline or in S3: its size decides which
        lease_until, sweep_at = self._lease_and_sweep(now)
        received_at = request.received_at
        common: dict[str, Any] = {
            "received_at": received_at,
            "request_id": request.request_id,
            "lease_until": lease_until,
            "sweep_at": sweep_at,
            "retention_days": self._settings.retention_days,
        }
        encoded = payload_json.encode()
        if len(encoded) <= self._settings.inline_limit_bytes:
            delivery = build_delivery(classification, received_at=received_at, payload=payload)
            item = build_item(classification, payload_json=payload_json, payload_ref=None, **common)
            if _fits_sns(delivery) and item_size(item) < DYNAMODB_ITEM_LIMIT:
                return _Prepared(item, delivery, False)
        ref = self._offload(classification.event_id, encoded)
        delivery = build_delivery(classification, received_at=received_at, payload=None, payload_ref=ref)
        item = build_item(classification, payload_json=None, payload_ref=ref, **common)
        if not _fits_sns(delivery) or item_size(item) >= DYNAMODB_ITEM_LIMIT:
            # Summaries are bounded, so this needs a pathological body; the payload in S3 keeps everything. The
            # instance name is the sender's and unbounded: the notification names it as the item does (key_part).
            trimmed = replace(classification, summary={"truncated": True}, reasons=classification.reasons[:1])
            bounded = replace(trimmed, instance=None if trimmed.instance is None else key_part(trimmed.instance))
            delivery = build_delivery(bounded, received_at=received_at, payload=None, payload_ref=ref)
            item = build_item(trimmed, payload_json=None, payload_ref=ref, **common)
        return _Prepared(item, delivery, True)

    def _offload(self, event_id: str, payload: bytes) -> dict[str, Any]:
        """The key names the content: copies of one event through two webhooks differ (``date_time``), and
        an item must never point at the other copy's bytes; a retry rewrites the identical object."""
        digest = hashlib.sha256(payload).hexdigest()
        key = f"payloads/{event_id}/{digest}.json"
        try:
            self._payloads.put(key, payload, "application/json")
        except AwsError as error:
            raise StoreUnavailable("cannot store the large body") from error
        return {"bucket": self._payloads.bucket, "key": key, "size": len(payload), "sha256": digest}


@dataclass(frozen=True, slots=True)
class _Prepared:
    item: Item
    delivery: Delivery
    offloaded: bool


def sns_size(delivery: Delivery) -> int:
    """Bytes SNS counts against its limit: the whole per-protocol message (the notification escaped inside it,
    plus the e-mail text) and every attribute's name, type and value; the subject too, to be safe."""
    return (
        len(delivery.message.encode())
        + len(delivery.subject)
        + sum(len(name) + len("String") + len(value.encode()) for name, value in delivery.attributes.items())
    )


def _fits_sns(delivery: Delivery) -> bool:
    return sns_size(delivery) < SNS_MESSAGE_LIMIT
