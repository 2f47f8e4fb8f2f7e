"""What the read-and-replay commands share: which hub they talk to (local or a deployed stack), paging, times.

Every such command takes ``--stack NAME`` (a deployed stack, with your AWS credentials) or talks to the local hub
``webhook-hub run`` started, and ``--json`` (one JSON object per line instead of a table).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from webhook_hub.core.catalog import lookup
from webhook_hub.core.values import iso_utc
from webhook_hub_cli import local_aws
from webhook_hub_cli.local_state import LocalHubState

NO_HUB_EXIT = 2


@dataclass(frozen=True)
class Hub:
    """The table and topics of one hub, and where its AWS is (``endpoint_url`` empty: real AWS)."""

    table_name: str
    topic_arn_prefix: str
    endpoint_url: str = ""

    def client(self, service: Any) -> Any:
        if self.endpoint_url:
            return local_aws.client(service, self.endpoint_url)
        import boto3  # noqa: PLC0415 - only the commands that reach a deployed stack need boto3's import time

        return boto3.client(service)


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack", metavar="NAME", help="a deployed stack (your AWS credentials) instead of the local hub"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def stack_hub(stack_name: str) -> Hub:
    import boto3  # noqa: PLC0415

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0]["Outputs"]}
    return Hub(outputs["EventsTableName"], outputs["TopicArnPrefix"])


def resolve(args: argparse.Namespace) -> Hub | None:
    """The stack named by ``--stack``, else the running local hub; ``None`` (and a message) when neither."""
    if args.stack:
        return stack_hub(args.stack)
    state = LocalHubState.load()
    if state is None:
        fail("no local hub is running; start one with `webhook-hub run` or give --stack")
        return None
    return Hub(state.table_name, state.topic_arn_prefix, state.endpoint_url)


def fail(message: str) -> int:
    print(f"webhook-hub: {message}", file=sys.stderr)
    return NO_HUB_EXIT


def pages(operation: Callable[..., Any], **arguments: Any) -> Iterator[dict[str, Any]]:
    """Each page of a DynamoDB query or scan, following ``LastEvaluatedKey``; one page in memory at a time."""
    while True:
        page: dict[str, Any] = operation(**arguments)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def items(operation: Callable[..., Any], **arguments: Any) -> Iterator[dict[str, Any]]:
    for page in pages(operation, **arguments):
        yield from page["Items"]


def parse_time(text: str | None, *, default: datetime) -> datetime:
    """An ISO date or time, UTC unless it has an offset; raises ``ValueError`` naming the bad text."""
    if not text:
        return default
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO date or time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def stored_time(moment: datetime) -> str:
    """A time in the form ``received_at`` is stored in, so it compares as text in index key conditions."""
    return iso_utc(moment.astimezone(UTC))


def event_type_name(spelling: str) -> str:
    """The stored ``event_type`` for any spelling: the catalog name, else the sender's name in lower case."""
    known = lookup(spelling)
    return known.name if known else spelling.strip().lower()


def days(since: datetime, until: datetime) -> Iterator[str]:
    """The UTC days (``yyyy-mm-dd``) from ``since`` to ``until``: one ``ByTypeDay`` partition each."""
    day, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    while day <= last:
        yield day.isoformat()
        day += timedelta(days=1)


def summary_detail(summary: dict[str, Any]) -> str:
    """The one fact a table row shows of a summary: its text, status or state."""
    return str(summary.get("text") or summary.get("status") or summary.get("state") or "")


def print_table(rows: Sequence[Sequence[object]]) -> None:
    """Columns padded to their widest cell, two spaces apart."""
    cells = [[("" if cell is None else str(cell)) for cell in row] for row in rows]
    if not cells:
        return
    widths = [max(len(row[column]) for row in cells if column < len(row)) for column in range(max(map(len, cells)))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())
