"""From published notifications to forwarding tasks: one per (event, matching enabled destination).

The intake queue is subscribed, with raw delivery, to every event topic, so each record's body is a
notification. Tasks go to the FIFO queue grouped by destination and chat (``core.destinations.message_group``)
and deduplicated on (event, destination), so a record dispatched twice queues its tasks once within SQS's
five-minute window; after that the receiver's check of ``webhook-id`` is what dedupes, as for SNS subscribers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webhook_hub.aws.destination_store import DestinationStore
from webhook_hub.aws.task_queue import Task, TaskQueue
from webhook_hub.core.destinations import Destination, deduplication_id, message_group
from webhook_hub.delivery import AwsError


@dataclass
class DispatchReport:
    tasks: int = 0
    failed_records: list[str] = field(default_factory=list)
    """Message ids of intake records to receive again (their tasks could not all be queued)."""
    unreadable: int = 0
    """Records that are not notifications: nothing can ever be made of them, they are dropped."""


def enabled_destinations(store: DestinationStore) -> list[Destination]:
    """Read once per batch, not cached: a destination added (or changed) gets the very next event. The table
    holds a handful of items, so this is one consistent scan page per batch of up to ten events."""
    return [destination for destination in store.all() if destination.enabled]


def dispatch(
    records: Sequence[Mapping[str, Any]],
    destinations: Sequence[Destination],
    queue: TaskQueue,
    *,
    now: float,
) -> DispatchReport:
    report = DispatchReport()
    for record in records:
        try:
            notification = json.loads(record["body"])
            event_id = str(notification["event_id"])
        except (ValueError, KeyError, TypeError):
            report.unreadable += 1
            continue
        tasks = [
            (
                Task(d.destination_id, event_id, message_group(d.destination_id, notification), now),
                deduplication_id(event_id, d.destination_id),
            )
            for d in destinations
            if d.filter.matches(notification)
        ]
        try:
            refused = queue.send(tasks) if tasks else []
        except AwsError:
            refused = [task for task, _dedup in tasks]
        if refused:
            report.failed_records.append(str(record["messageId"]))
            continue
        report.tasks += len(tasks)
    return report
