"""The recovery sweep: publish events that were stored but never published.

The ingest path publishes right after the write and a redelivery publishes what an earlier delivery
could not, but a sender that gives up (v1 and Evolution <= 2.2.0 never retry; 2.3 stops after about 20
minutes) would leave such an event unpublished. The sweep runs on a schedule and closes that gap, using
the same publish lease as the ingest path so an event is still published once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.publisher import Publisher
from webhook_hub.core.values import iso_utc
from webhook_hub.delivery import AwsError, deliver, delivery_of
from webhook_hub.errors import PublishFailed
from webhook_hub.record import STATE_STORED

MAX_PER_SWEEP = 1_000
"""Bounds one run; events that keep failing do not hide newer ones, which come after them in the index."""


@dataclass
class SweepReport:
    published: list[str] = field(default_factory=list)
    busy: int = 0
    """Held by an in-flight delivery's lease; the next sweep looks again."""
    failed: int = 0


def sweep(
    store: EventStore, publisher: Publisher, *, now: datetime, min_age_seconds: int, lease_seconds: int
) -> SweepReport:
    """Publish every event pending for longer than ``min_age_seconds``, oldest first, at most ``MAX_PER_SWEEP``."""
    report = SweepReport()
    epoch = int(now.timestamp())
    pending = store.pending_before(iso_utc(now - timedelta(seconds=min_age_seconds)))
    for event_id in islice(pending, MAX_PER_SWEEP):
        item = store.get(event_id)
        if item is None or item.get("state", {}).get("S") != STATE_STORED:
            continue  # published meanwhile (the index is eventually consistent)
        if not store.claim_publish(event_id, epoch, epoch + lease_seconds):
            report.busy += 1
            continue
        try:
            deliver(store, publisher, delivery_of(item))
        except (PublishFailed, *AwsError):
            report.failed += 1
            continue
        report.published.append(event_id)
    return report
