"""``webhook-hub message MESSAGE_ID``: the timeline of one WhatsApp message, from the ``ByMessage`` index.

Events arrive in any order (a sender's retry can bring the upsert after its READ), so the timeline is ordered by
what happened, not by arrival: the upsert or send first (a message exists before anything about it), then every
other event by WhatsApp's time (``occurred_at``, when the body has one) or ours (``received_at``); receipts, whose
statuses only move up, are then put in status order among their own places. The latest status is the highest one
ever reported (``PENDING`` < ``SERVER_ACK`` < ``DELIVERY_ACK`` < ``READ`` < ``PLAYED``); ``ERROR`` is reported apart.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from webhook_hub.core.summary import STATUS_RANKS
from webhook_hub.record import key_part, summary_of
from webhook_hub_cli import hub_access
from webhook_hub_cli.instances_cmd import seen_instances

EXIT_NOT_FOUND = 1
CREATION_TYPES = frozenset({"messages.upsert", "send.message"})
RECEIPT_TYPES = frozenset({"messages.update"})
ERROR_STATUS = "ERROR"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("message", help="the timeline of one WhatsApp message, with its latest status")
    parser.add_argument("message_id", metavar="MESSAGE_ID", help="WhatsApp's message id (key.id, keyId)")
    parser.add_argument(
        "--instance", help="the instance that sent or received it (default: look in every instance seen)"
    )
    hub_access.add_hub_arguments(parser)
    parser.set_defaults(func=message)


@dataclass(frozen=True)
class Step:
    event_id: str
    event_type: str
    received_at: str
    occurred_at: str | None
    what: str
    """``message``, ``status``, ``edit``, ``delete``, ``reaction`` or the event type."""
    status: str | None
    text: str | None
    arrived_late: bool = False
    """Something that happened after it arrived before it."""


def _what(event_type: str, summary: dict[str, Any]) -> str:
    if event_type in CREATION_TYPES:
        return "reaction" if summary.get("message_kind") == "reaction" else "message"
    if event_type in RECEIPT_TYPES:
        return "status"
    if event_type == "messages.delete":
        return "delete"
    if summary.get("message_kind") == "edit":
        return "edit"
    return event_type


def _step(entry: dict[str, Any]) -> Step:
    summary = summary_of(entry)
    event_type = entry["event_type"]["S"]
    occurred_at = entry.get("occurred_at", {}).get("S")
    return Step(
        event_id=entry["pk"]["S"],
        event_type=event_type,
        received_at=entry["received_at"]["S"],
        occurred_at=occurred_at,
        what=_what(event_type, summary),
        status=summary.get("status"),
        text=summary.get("text"),
    )


def _is_creation(step: Step) -> bool:
    return step.what == "message"


def _rank(step: Step) -> int:
    return STATUS_RANKS.get(step.status or "", 0)


def timeline(steps: Sequence[Step]) -> list[Step]:
    """The steps in the order they happened (see the module's docstring), each marked if it arrived late."""
    ordered = sorted(
        steps, key=lambda step: (not _is_creation(step), step.occurred_at or step.received_at, step.received_at)
    )
    receipt_places = [index for index, step in enumerate(ordered) if step.what == "status" and _rank(step)]
    receipts = sorted((ordered[index] for index in receipt_places), key=lambda step: (_rank(step), step.received_at))
    for index, receipt in zip(receipt_places, receipts, strict=True):
        ordered[index] = receipt
    marked = []
    for position, step in enumerate(ordered):
        later_arrived_first = any(other.received_at < step.received_at for other in ordered[position + 1 :])
        marked.append(Step(**{**asdict(step), "arrived_late": later_arrived_first}))
    return marked


def latest_status(steps: Sequence[Step]) -> str | None:
    """The highest status ever reported, the upsert's own included; ``None`` when nothing reported one."""
    ranked = [step for step in steps if _rank(step)]
    return max(ranked, key=_rank).status if ranked else None


def message_steps(hub: hub_access.Hub, instance: str, message_id: str) -> list[Step]:
    entries = hub_access.items(
        hub.client("dynamodb").query,
        TableName=hub.table_name,
        IndexName="ByMessage",
        KeyConditionExpression="message_pk = :message",
        ExpressionAttributeValues={":message": {"S": key_part(f"{instance}#{message_id}")}},
    )
    return [_step(entry) for entry in entries]


def _find(hub: hub_access.Hub, message_id: str) -> dict[str, list[Step]]:
    """The message's steps in each instance that has any (usually one)."""
    found = {}
    for seen in seen_instances(hub, now=datetime.now(UTC)):
        steps = message_steps(hub, seen.instance, message_id)
        if steps:
            found[seen.instance] = steps
    return found


def message(args: argparse.Namespace) -> int:
    hub = hub_access.resolve(args)
    if hub is None:
        return hub_access.NO_HUB_EXIT
    if args.instance:
        found = {args.instance: message_steps(hub, args.instance, args.message_id)}
    else:
        found = _find(hub, args.message_id)
    found = {instance: steps for instance, steps in found.items() if steps}
    if not found:
        where = f"instance {args.instance!r}" if args.instance else "any instance `webhook-hub instances` finds"
        hub_access.fail(f"no event about message {args.message_id!r} in {where}")
        return EXIT_NOT_FOUND
    if len(found) > 1:
        return hub_access.fail(f"message {args.message_id!r} is in several instances; give --instance: {sorted(found)}")
    ((instance, steps),) = found.items()
    ordered = timeline(steps)
    status = latest_status(ordered)
    errors = sum(1 for step in ordered if step.status == ERROR_STATUS)
    if args.json:
        for position, step in enumerate(ordered, 1):
            print(json.dumps({"record": "step", "position": position, **asdict(step)}, ensure_ascii=False))
        closing = {"record": "message", "instance": instance, "message_id": args.message_id}
        print(json.dumps({**closing, "latest_status": status, "errors": errors, "steps": len(ordered)}))
        return 0
    rows: list[tuple[object, ...]] = [("#", "HAPPENED", "RECEIVED", "WHAT", "TYPE", "STATUS / TEXT", "")]
    for position, step in enumerate(ordered, 1):
        detail = step.status or (json.dumps(step.text, ensure_ascii=False) if step.text else "")
        late = "arrived late" if step.arrived_late else ""
        rows.append((position, step.occurred_at or "-", step.received_at, step.what, step.event_type, detail, late))
    hub_access.print_table(rows)
    print(f"latest status: {status or '-'}" + (f"  ({errors} ERROR report(s))" if errors else ""))
    return 0
