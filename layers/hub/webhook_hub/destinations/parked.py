"""Parked forwarding tasks: the ones that outlived the retry window, met 410 Gone or were refused by the URL guard.

They wait in the parked queue with their reason (for 14 days, SQS's longest retention) until they are queued
again: ``webhook-hub destinations parked`` lists them, ``destinations redrive`` (and ``replay --state parked``)
sends them again, each with a new retry window.
"""

from __future__ import annotations

from typing import Any

from webhook_hub.aws.task_queue import Parked, Task, TaskQueue
from webhook_hub.core.destinations import deduplication_id


def parked_summary(parked: Parked) -> dict[str, Any]:
    return {
        "destination_id": parked.task.destination_id,
        "event_id": parked.task.event_id,
        "reason": parked.reason,
        "attempts": parked.attempts,
        "parked_at": parked.parked_at,
    }


def list_parked(queue: TaskQueue, destination_id: str | None = None) -> list[Parked]:
    """Every parked task (or one destination's); they stay parked and visible to the next reader."""
    found = queue.read_parked()
    queue.show_parked(found)
    return [p for p in found if destination_id is None or p.task.destination_id == destination_id]


def redrive(queue: TaskQueue, *, now: float, destination_id: str | None = None) -> list[Parked]:
    """Queue parked tasks again (all, or one destination's) with a new retry window; returns the ones queued.

    The deduplication id names the redrive, so a task redriven twice is sent twice (the receiver dedupes on
    ``webhook-id``); a parked task that could not be queued stays parked.
    """
    found = queue.read_parked()
    chosen = [p for p in found if destination_id is None or p.task.destination_id == destination_id]
    pairs = [
        (
            Task(p.task.destination_id, p.task.event_id, p.task.group, now),
            deduplication_id(p.task.event_id, p.task.destination_id, f"redrive {now}"),
        )
        for p in chosen
    ]
    refused = {(t.destination_id, t.event_id) for t in queue.send(pairs)} if pairs else set()
    queued = [p for p in chosen if (p.task.destination_id, p.task.event_id) not in refused]
    if queued:
        queue.unpark(queued)
    left = [p for p in found if p not in queued]
    if left:
        queue.show_parked(left)
    return queued
