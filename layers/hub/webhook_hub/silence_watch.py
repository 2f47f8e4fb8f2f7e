"""The silence watch, on a schedule: read the new ``messages.upsert`` and ``connection.update`` events, update each
instance's watch, alert and clear (decisions in ``core/silence.py``).

It costs the ingest path nothing: it reads the ``ByTypeDay`` index (each event once, after the fact) and writes
only its own table, one item per instance, and only when something changed. Instances are found in those events.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from webhook_hub.aws.alerts import Alerts
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.watch_store import WatchStore
from webhook_hub.core.silence import DAY, Change, Watch, alert_text, decide, observe
from webhook_hub.core.values import from_iso, iso_utc, utc_days
from webhook_hub.record import summary_of

ACTIVITY_TYPE = "messages.upsert"
CONNECTION_TYPE = "connection.update"
READ_LAG = 60
"""Seconds behind now the watch reads: the index is eventually consistent and ``received_at`` precedes the write."""
FIRST_READ = 7 * DAY
"""How far back the first run reads, so the watch starts with a week learned."""
MAX_READ = 2 * DAY
"""Time read per run: a first run or a long pause catches up over a few runs, deciding nothing meanwhile."""


@dataclass
class WatchReport:
    watched: int = 0
    silent: list[str] = field(default_factory=list)
    alerted: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)
    caught_up: bool = True


def watch_instances(
    events: EventStore, watches: WatchStore, alerts: Alerts, *, now: datetime, floor_seconds: float
) -> WatchReport:
    report = WatchReport()
    if floor_seconds <= 0:
        return report
    epoch = now.timestamp()
    after = watches.cursor.read()
    start_over = after is None or after < epoch - READ_LAG - FIRST_READ
    if start_over:  # first run, or the watch was off (or failing) for a week: what it knew has gaps, relearn
        after = epoch - READ_LAG - FIRST_READ
    assert after is not None
    until = min(math.floor((epoch - READ_LAG) * 1000) / 1000, after + MAX_READ)  # whole ms, as received_at
    activity, connections = _read(events, after, until)
    known = {watch.instance: watch for watch in watches.watches()}
    if start_over:  # relearn from what is read now, keeping only the last known connection state
        known = {name: Watch(name, since=after, connection=watch.connection) for name, watch in known.items()}
    for instance in (activity.keys() | connections.keys()) - known.keys():
        first = min(activity.get(instance, []) + [moment for moment, _ in connections.get(instance, [])])
        known[instance] = Watch(instance, since=first)
    report.caught_up = until >= epoch - READ_LAG - 1
    for instance, watch in sorted(known.items()):
        seen = observe(watch, activity.get(instance, []), connections.get(instance, []), until)
        if report.caught_up:
            verdict = decide(seen, epoch, floor_seconds)
            seen = verdict.watch
            if verdict.change is not None:
                alerts.send(*alert_text(verdict, epoch))
                (report.alerted if verdict.change is Change.ALERT else report.cleared).append(instance)
            report.watched += verdict.threshold is not None
        if seen.alerted is not None:
            report.silent.append(instance)
        if seen != watch:
            watches.save(seen)
    watches.cursor.save(until)
    return report


def _read(
    events: EventStore, after: float, until: float
) -> tuple[dict[str, list[float]], dict[str, list[tuple[float, str]]]]:
    """Per instance, the upsert times and the connection states received in (``after``, ``until``], in order."""
    activity: dict[str, list[float]] = defaultdict(list)
    connections: dict[str, list[tuple[float, str]]] = defaultdict(list)
    start, end = datetime.fromtimestamp(after, UTC), datetime.fromtimestamp(until, UTC)
    for day in utc_days(start, end):
        for event_type in (ACTIVITY_TYPE, CONNECTION_TYPE):
            for item in events.of_type(event_type, day, iso_utc(start), iso_utc(end)):
                instance = item.get("instance", {}).get("S")
                received = from_iso(item["received_at"]["S"])
                if instance is None or received is None:
                    continue
                if event_type == ACTIVITY_TYPE:
                    activity[instance].append(received.timestamp())
                else:
                    state = _state(summary_of(item))
                    if state is not None:
                        connections[instance].append((received.timestamp(), state))
    return activity, connections


def _state(summary: dict[str, Any]) -> str | None:
    state = summary.get("state")
    return state if isinstance(state, str) else None
