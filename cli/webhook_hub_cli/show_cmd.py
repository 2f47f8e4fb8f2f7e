"""``webhook-hub show EVENT_ID``: one stored event whole, its redacted payload fetched from S3 when offloaded."""

from __future__ import annotations

import argparse
import json
from typing import Any

from webhook_hub.core.notification import build_notification
from webhook_hub.core.values import from_iso
from webhook_hub.record import Item, classification_of, item_text, stored_payload
from webhook_hub_cli import hub_access

EXIT_NOT_FOUND = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("show", help="one event whole: state, where it was published, payload")
    parser.add_argument("event_id", metavar="EVENT_ID", help="the event id (the notification's event_id)")
    parser.add_argument(
        "--item",
        action="store_true",
        help="print the DynamoDB item as stored, its compressed summary and payload decoded",
    )
    hub_access.add_hub_arguments(parser)
    parser.set_defaults(func=show)


def event_document(hub: hub_access.Hub, item: Item) -> dict[str, Any]:
    """The event's notification, with the payload read from S3 for an offloaded body, and what only the item
    knows: the state, the attempts and where it was published."""
    c = classification_of(item)
    payload, reference = stored_payload(item)
    received_at = from_iso(item["received_at"]["S"])
    assert received_at is not None, "items always carry received_at"
    document = build_notification(c, received_at=received_at, payload=payload, payload_ref=reference)
    if reference is not None:
        body = hub.client("s3").get_object(Bucket=reference["bucket"], Key=reference["key"])["Body"].read()
        document["payload"] = json.loads(body)
    published = None
    if "sns_message_id" in item:
        published = {
            "topic_arn": hub.topic_arn_prefix + c.topic_key,
            "sns_message_id": item["sns_message_id"]["S"],
            "published_at": item.get("published_at", {}).get("S"),
        }
    attempts = item.get("attempts", {}).get("N")
    return {
        **document,
        "state": item["state"]["S"],
        "attempts": None if attempts is None else int(attempts),
        "published": published,
    }


def _print_human(document: dict[str, Any]) -> None:
    published = document["published"] or {}
    rows = [
        ("event id", document["event_id"]),
        ("type", document["event_type"] + ("" if document["known"] else "  (not in the catalog)")),
        ("valid", "yes" if document["valid"] else "no: " + "; ".join(document["reasons"])),
        ("instance", document["instance"] or "-"),
        ("received", document["received_at"]),
        ("occurred", document["occurred_at"] or "-"),
        ("state", document["state"]),
        ("attempts", "-" if document["attempts"] is None else document["attempts"]),
        ("topic", published.get("topic_arn") or document["topic_key"] + " (not published)"),
        ("SNS message", published.get("sns_message_id") or "-"),
        ("published", published.get("published_at") or "-"),
    ]
    if document["payload_ref"]:
        reference = document["payload_ref"]
        rows.append(("payload in", f"s3://{reference['bucket']}/{reference['key']} ({reference['size']} bytes)"))
    hub_access.print_table([(name + ":", value) for name, value in rows])
    print("summary:")
    print(json.dumps(document["summary"], ensure_ascii=False, indent=2))
    print("payload (redacted):")
    print(json.dumps(document["payload"], ensure_ascii=False, indent=2))


def show(args: argparse.Namespace) -> int:
    hub = hub_access.resolve(args)
    if hub is None:
        return hub_access.NO_HUB_EXIT
    found = hub.client("dynamodb").get_item(TableName=hub.table_name, Key={"pk": {"S": args.event_id}})
    if "Item" not in found:
        hub_access.fail(f"no event {args.event_id!r} is stored (ids are the notifications' event_id)")
        return EXIT_NOT_FOUND
    if args.item:
        print(item_text(found["Item"]))
        return 0
    document = event_document(hub, found["Item"])
    if args.json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        _print_human(document)
    return 0
