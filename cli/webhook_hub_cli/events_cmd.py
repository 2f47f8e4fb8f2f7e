"""``webhook-hub events``: list stored events, from the local hub or a deployed stack."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_hub.core.catalog import lookup
from webhook_hub_cli import local_aws
from webhook_hub_cli.local_state import LocalHubState

DEFAULT_DAYS = 30
_LISTED = ("event_type", "instance", "received_at", "occurred_at", "topic_key", "state")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("events", help="list stored events")
    parser.add_argument("--instance", help="only this instance's events (ByInstance index)")
    parser.add_argument("--type", dest="event_type", help="only this event type, any spelling (ByTypeDay index)")
    parser.add_argument("--since", help="ISO time (UTC if no offset); default: the last 30 days")
    parser.add_argument(
        "--stack", metavar="NAME", help="a deployed stack (your AWS credentials) instead of the local hub"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
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
        row["summary"] = json.loads(item["summary"]["S"])
    return row


def _all_pages(operation: Any, **arguments: Any) -> list[dict[str, Any]]:
    """Every item of a DynamoDB query or scan, following ``LastEvaluatedKey``."""
    items: list[dict[str, Any]] = []
    while True:
        page = operation(**arguments)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _query(dynamodb: Any, table: str, index: str, key: str, value: str, *, since: str) -> list[dict[str, Any]]:
    return _all_pages(
        dynamodb.query,
        TableName=table,
        IndexName=index,
        KeyConditionExpression=f"{key} = :key AND received_at >= :since",
        ExpressionAttributeValues={":key": {"S": value}, ":since": {"S": since}},
    )


def list_events(
    dynamodb: Any, table: str, *, instance: str | None, event_type: str | None, since: datetime
) -> list[dict[str, Any]]:
    """Stored events, oldest first, through the index that fits the filters."""
    since_text = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if instance is not None:
        items = _query(dynamodb, table, "ByInstance", "instance_pk", instance, since=since_text)
    elif event_type is not None:
        items = []
        day, today = since.astimezone(UTC).date(), datetime.now(UTC).date()
        while day <= today:
            items += _query(
                dynamodb, table, "ByTypeDay", "type_day", f"{event_type}#{day.isoformat()}", since=since_text
            )
            day += timedelta(days=1)
    else:
        items = _all_pages(
            dynamodb.scan,
            TableName=table,
            FilterExpression="received_at >= :since",
            ExpressionAttributeValues={":since": {"S": since_text}},
        )
    rows = [_plain(item) for item in items]
    if event_type is not None:
        rows = [row for row in rows if row.get("event_type") == event_type]
    return sorted(rows, key=lambda row: (row.get("received_at", ""), row["event_id"]))


def events(args: argparse.Namespace) -> int:
    if args.stack:
        import boto3  # noqa: PLC0415

        outputs = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]["Outputs"]
        table = next(output["OutputValue"] for output in outputs if output["OutputKey"] == "EventsTableName")
        dynamodb = boto3.client("dynamodb")
    else:
        state = LocalHubState.load()
        if state is None:
            print(
                "webhook-hub: no local hub is running; start one with `webhook-hub run` or give --stack",
                file=sys.stderr,
            )
            return 2
        table, dynamodb = state.table_name, local_aws.client("dynamodb", state.endpoint_url)
    event_type = None
    if args.event_type:
        known = lookup(args.event_type)
        event_type = known.name if known else args.event_type.strip().lower()
    try:
        since = datetime.fromisoformat(args.since) if args.since else datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
    except ValueError:
        print(f"webhook-hub: --since {args.since!r} is not an ISO date or time", file=sys.stderr)
        return 2
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    for row in list_events(dynamodb, table, instance=args.instance, event_type=event_type, since=since):
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            summary = row.get("summary") or {}
            detail = summary.get("text") or summary.get("status") or summary.get("state") or ""
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
