"""``webhook-hub instances``: every instance seen, its last event, its connection state, its last 24 hours.

DynamoDB cannot list the distinct keys of an index without reading all of it, and a per-instance item would cost a
write on every event. So the instances are found with bounded queries of ``ByTypeDay`` instead:

- the connection partitions (``connection.update``, ``status.instance``) of every day of the last ``--days``: small
  (a few events per instance and day), and they give each instance's last connection state;
- every catalog type's partitions of the last 24 hours: they give the counts, and the instances that were busy.

Then one ``ByInstance`` query per instance (newest first, one entry) gives its last event time. What this reads: the
index entries of the last 24 hours once, the connection events of ``--days`` days, one entry per instance. An
instance that sent neither a connection event within ``--days`` nor anything in the last 24 hours is not found
(``events --instance NAME`` still lists it); events of types outside the catalog are not counted.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_hub.core.catalog import EVENT_TYPES
from webhook_hub.record import summary_of
from webhook_hub_cli import hub_access

CONNECTION_TYPES = ("connection.update", "status.instance")
DEFAULT_DAYS = 30
"""The default retention: connection events older than that are gone anyway."""
PARALLEL_QUERIES = 8


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("instances", help="every instance seen: last event, connection, QR scan, last 24 h")
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"how far back to look for connection events (default {DEFAULT_DAYS}, the default retention)",
    )
    hub_access.add_hub_arguments(parser)
    parser.set_defaults(func=instances)


@dataclass
class InstanceSeen:
    instance: str
    last_event_at: str | None = None
    connection_state: str | None = None
    connection_at: str | None = None
    needs_qr_scan: bool | None = None
    counts: Counter[str] = field(default_factory=Counter)

    def row(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "last_event_at": self.last_event_at,
            "connection_state": self.connection_state,
            "connection_at": self.connection_at,
            "needs_qr_scan": self.needs_qr_scan,
            "events_24h": sum(self.counts.values()),
            "events_24h_by_type": dict(sorted(self.counts.items())),
        }


def _partition(hub: hub_access.Hub, dynamodb: Any, type_day: str, since: str) -> list[dict[str, Any]]:
    return list(
        hub_access.items(
            dynamodb.query,
            TableName=hub.table_name,
            IndexName="ByTypeDay",
            KeyConditionExpression="type_day = :day AND received_at >= :since",
            ProjectionExpression="instance, event_type, received_at, summary",
            ExpressionAttributeValues={":day": {"S": type_day}, ":since": {"S": since}},
        )
    )


def _connection_fact(entry: dict[str, Any]) -> tuple[str | None, bool | None]:
    """The state a connection event reports (``status.instance`` only ever reports ``closed``)."""
    summary = summary_of(entry)
    state = summary.get("state") or summary.get("status")
    needs_qr_scan = summary.get("needs_qr_scan")
    return state, needs_qr_scan if isinstance(needs_qr_scan, bool) else None


def _last_event_at(hub: hub_access.Hub, dynamodb: Any, instance: str) -> str | None:
    newest = dynamodb.query(
        TableName=hub.table_name,
        IndexName="ByInstance",
        KeyConditionExpression="instance_pk = :instance",
        ProjectionExpression="received_at",
        ExpressionAttributeValues={":instance": {"S": instance}},
        ScanIndexForward=False,
        Limit=1,
    )["Items"]
    return newest[0]["received_at"]["S"] if newest else None


def seen_instances(hub: hub_access.Hub, *, now: datetime, days: int = DEFAULT_DAYS) -> list[InstanceSeen]:
    """Every instance the bounded queries find (see the module's docstring), by name."""
    dynamodb = hub.client("dynamodb")
    day_ago = now - timedelta(hours=24)
    connection_since = now - timedelta(days=days)
    work = [
        (f"{name}#{day}", hub_access.stored_time(connection_since), True)
        for name in CONNECTION_TYPES
        for day in hub_access.days(connection_since, now)
    ] + [
        (f"{event_type.name}#{day}", hub_access.stored_time(day_ago), False)
        for event_type in EVENT_TYPES
        for day in hub_access.days(day_ago, now)
    ]
    found: dict[str, InstanceSeen] = {}
    day_ago_text = hub_access.stored_time(day_ago)
    with ThreadPoolExecutor(PARALLEL_QUERIES) as pool:
        results = pool.map(lambda task: (task, _partition(hub, dynamodb, task[0], task[1])), work)
        for (_type_day, _since, is_connection), entries in results:
            for entry in entries:
                instance = entry.get("instance", {}).get("S")
                if instance is None:  # the errors webhook
                    continue
                seen = found.setdefault(instance, InstanceSeen(instance))
                received_at = entry["received_at"]["S"]
                if not is_connection and received_at >= day_ago_text:
                    seen.counts[entry["event_type"]["S"]] += 1
                if is_connection and (seen.connection_at is None or received_at > seen.connection_at):
                    seen.connection_state, seen.needs_qr_scan = _connection_fact(entry)
                    seen.connection_at = received_at
        names = sorted(found)
        for name, last in zip(names, pool.map(lambda name: _last_event_at(hub, dynamodb, name), names), strict=True):
            found[name].last_event_at = last
    return [found[name] for name in names]


def _human_rows(seen: list[InstanceSeen]) -> Iterator[tuple[object, ...]]:
    yield ("INSTANCE", "LAST EVENT", "CONNECTION", "SINCE", "QR SCAN", "EVENTS 24H")
    for instance in seen:
        needs = {True: "NEEDED", False: "no", None: "?"}[instance.needs_qr_scan]
        yield (
            instance.instance,
            instance.last_event_at or "-",
            instance.connection_state or "?",
            instance.connection_at or "-",
            needs,
            sum(instance.counts.values()),
        )


def instances(args: argparse.Namespace) -> int:
    hub = hub_access.resolve(args)
    if hub is None:
        return hub_access.NO_HUB_EXIT
    seen = seen_instances(hub, now=datetime.now(UTC), days=args.days)
    if args.json:
        for instance in seen:
            print(json.dumps(instance.row(), ensure_ascii=False))
    elif seen:
        hub_access.print_table(list(_human_rows(seen)))
    else:
        print("no instance has sent a connection event or any event in the last 24 hours")
    return 0
