"""``webhook-hub events``: list stored events, from the local hub or a deployed stack."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_hub.record import summary_of
from webhook_hub_cli import hub_access

DEFAULT_DAYS = 30
_LISTED = ("event_type", "instance", "received_at", "occurred_at", "topic_key", "state")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("events", help="list stored events")
    parser.add_argument("--instance", help="only this instance's events (ByInstance index)")
    parser.add_argument("--type", dest="event_type", help="only this event type, any spelling (ByTypeDay index)")
    parser.add_argument("--since", help="ISO time (UTC if no offset); default: the last 30 days")
    hub_access.add_hub_arguments(parser)
    parser.set_defaults(func=events)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"event_id": item["pk"]["S"]}
    for name in _LISTED:
        value = item.get(name, {})
        if "S" in value:
            row[name] = value["S"]
    if "valid" in item:
        row["valid"] = item["valid"]["BOOL"]
    if "summary" in item:
        row["summary"] = summary_of(item)
    return row


def _query(dynamodb: Any, table: str, index: str, key: str, value: str, *, since: str) -> list[dict[str, Any]]:
    return list(
        hub_access.items(
            dynamodb.query,
            TableName=table,
            IndexName=index,
            KeyConditionExpression=f"{key} = :key AND received_at >= :since",
            ExpressionAttributeValues={":key": {"S": value}, ":since": {"S": since}},
        )
    )


def list_events(
    dynamodb: Any, table: str, *, instance: str | None, event_type: str | None, since: datetime
) -> list[dict[str, Any]]:
    """Stored events, oldest first, through the index that fits the filters."""
    since_text = hub_access.stored_time(since)
    if instance is not None:
        items = _query(dynamodb, table, "ByInstance", "instance_pk", instance, since=since_text)
    elif event_type is not None:
        items = []
        for day in hub_access.days(since, datetime.now(UTC)):
            items += _query(dynamodb, table, "ByTypeDay", "type_day", f"{event_type}#{day}", since=since_text)
    else:
        items = list(
            hub_access.items(
                dynamodb.scan,
                TableName=table,
                FilterExpression="received_at >= :since",
                ExpressionAttributeValues={":since": {"S": since_text}},
            )
        )
    rows = [_plain(item) for item in items]
    if event_type is not None:
        rows = [row for row in rows if row.get("event_type") == event_type]
    return sorted(rows, key=lambda row: (row.get("received_at", ""), row["event_id"]))


def events(args: argparse.Namespace) -> int:
    hub = hub_access.resolve(args)
    if hub is None:
        return hub_access.NO_HUB_EXIT
    event_type = hub_access.event_type_name(args.event_type) if args.event_type else None
    try:
        since = hub_access.parse_time(args.since, default=datetime.now(UTC) - timedelta(days=DEFAULT_DAYS))
    except ValueError as error:
        return hub_access.fail(f"--since {error}")
    rows = list_events(
        hub.client("dynamodb"), hub.table_name, instance=args.instance, event_type=event_type, since=since
    )
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            summary = row.get("summary") or {}
            detail = hub_access.summary_detail(summary)
            print(
                "  ".join(
                    str(part)
                    for part in (
                        row.get("received_at"),
                        row.get("event_type"),
                        row.get("instance", "-"),
                        row.get("state", ""),
                        detail,
                    )
                    if part
                )
            )
    return 0
