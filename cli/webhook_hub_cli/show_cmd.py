"""``webhook-hub show EVENT_ID``: one stored event whole, its redacted payload fetched from S3 when offloaded."""

from __future__ import annotations

import argparse
import json
from typing import Any

from webhook_hub.record import Item, classification_of, stored_payload
from webhook_hub_cli import hub_access

EXIT_NOT_FOUND = 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("show", help="one event whole: state, where it was published, payload")
    parser.add_argument("event_id", metavar="EVENT_ID", help="the event id (the notification's event_id)")
    hub_access.add_hub_arguments(parser)
    parser.set_defaults(func=show)


def _number(item: Item, name: str) -> int | None:
    value = item.get(name, {}).get("N")
    return None if value is None else int(value)


def event_document(hub: hub_access.Hub, item: Item) -> dict[str, Any]:
    """Everything stored about the event; the payload is the redacted one, read from S3 for an offloaded body."""
    c = classification_of(item)
    payload, reference = stored_payload(item)
    if reference is not None:
        body = hub.client("s3").get_object(Bucket=reference["bucket"], Key=reference["key"])["Body"].read()
        payload = json.loads(body)
    state = item["state"]["S"]
    published = None
    if "sns_message_id" in item:
        published = {
            "topic_arn": hub.topic_arn_prefix + c.topic_key,
            "sns_message_id": item["sns_message_id"]["S"],
            "published_at": item.get("published_at", {}).get("S"),
        }
    return {
        "event_id": c.event_id,
        "event_type": c.event_type,
        "known": c.known,
        "valid": c.valid,
        "reasons": list(c.reasons),
        "instance": c.instance,
        "topic_key": c.topic_key,
        "dedup_key": c.dedup_key,
        "received_at": item["received_at"]["S"],
        "occurred_at": item.get("occurred_at", {}).get("S"),
        "state": state,
        "attempts": _number(item, "attempts"),
        "published": published,
        "summary": c.summary,
        "payload_ref": reference,
        "payload": payload,
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
        ("dedup key", document["dedup_key"]),
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
    document = event_document(hub, found["Item"])
    if args.json:
        print(json.dumps(document, ensure_ascii=False))
    else:
        _print_human(document)
    return 0
