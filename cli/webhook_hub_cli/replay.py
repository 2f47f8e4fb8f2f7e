"""Replaying stored events: which ones (one index query per source), where to, how fast, and where it stopped.

A replay rebuilds each event's notification from its item (``delivery_of``, as the recovery sweep does) and sends
it again with the attribute ``replay=true``; the ``event_id`` is the original, so subscribers deduplicate. It does
not write the item: its state stays what the first publication made it, and a write per replayed event would cost
write units for a record nobody reads (the checkpoint file and the command's output are the record).

Queries are read a page at a time and the checkpoint keeps, per query, the key of the last event handled, so an
interrupted replay resumes after it: nothing twice, nothing skipped.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from webhook_hub.aws.publisher import Publisher
from webhook_hub.delivery import Delivery, delivery_of
from webhook_hub.record import STATE_PUBLISHED, STATE_STORED, Item, key_part
from webhook_hub_cli.hub_access import days

REPLAY_ATTRIBUTE = "replay"
STATE_FAILED = FAILED_PENDING_KEY = "failed"
"""The state of an event the recovery sweep gave up on, and its ``Pending`` index key (issue 9)."""
STATES = (STATE_STORED, STATE_PUBLISHED, STATE_FAILED)
DEFAULT_RATE = 20.0
"""Events per second: far below SNS's lowest regional Publish quota (hundreds per second), and gentle on a
subscriber's Lambda or database, which the replay reaches at the same rate."""


@dataclass(frozen=True)
class Source:
    """One index query (or one event id) a replay reads; ``key`` names it in the checkpoint."""

    key: str
    index: str | None = None
    hash_name: str | None = None
    hash_value: str | None = None


@dataclass(frozen=True)
class Filters:
    since: str
    until: str
    instance: str | None = None
    event_types: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    state: str | None = None

    def sources(self) -> list[Source]:
        """The queries that find the events, through the narrowest index the filters allow."""
        if self.event_ids:
            return [Source(f"event:{event_id}", hash_value=event_id) for event_id in self.event_ids]
        if self.state == STATE_FAILED:
            return [Source("Pending:failed", "Pending", "pending", FAILED_PENDING_KEY)]
        if self.instance is not None:
            return [Source(f"ByInstance:{self.instance}", "ByInstance", "instance_pk", key_part(self.instance))]
        return [
            Source(f"ByTypeDay:{event_type}#{day}", "ByTypeDay", "type_day", f"{event_type}#{day}")
            for event_type in self.event_types
            for day in days(datetime.fromisoformat(self.since), datetime.fromisoformat(self.until))
        ]

    def wanted(self, item: Item) -> bool:
        """What the index query could not check (the time range it did; event ids have none)."""
        if self.state is not None and item.get("state", {}).get("S") != self.state:
            return False
        if self.instance is not None and item.get("instance", {}).get("S") != key_part(self.instance):
            return False
        return not self.event_types or item["event_type"]["S"] in self.event_types


class Target(Protocol):
    @property
    def description(self) -> str:
        """Where the events go, for the summary and the checkpoint."""

    def send(self, delivery: Delivery, attributes: Mapping[str, str]) -> str:
        """Send one notification; returns the message id SNS or SQS gave it."""


def _queue_attributes(attributes: Mapping[str, str]) -> dict[str, Any]:
    return {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}


@dataclass
class OneTopic:
    """One SNS topic; or, with ``own_topics``, each event's own topic, ``topic_arn`` being the stack's prefix (every
    subscriber then gets the event again: filter policies can exclude ``replay``). Published as the hub publishes."""

    sns: Any
    topic_arn: str
    own_topics: bool = False

    @property
    def description(self) -> str:
        return "their own topics" if self.own_topics else self.topic_arn

    def send(self, delivery: Delivery, attributes: Mapping[str, str]) -> str:
        topic_key = delivery.topic_key if self.own_topics else ""
        return Publisher(self.topic_arn, self.sns).publish(topic_key, delivery.message, delivery.subject, attributes)


@dataclass
class OneQueue:
    """An SQS queue: the body is the notification, as a raw-delivery subscription receives it."""

    sqs: Any
    queue_url: str

    @property
    def description(self) -> str:
        return self.queue_url

    def send(self, delivery: Delivery, attributes: Mapping[str, str]) -> str:
        response = self.sqs.send_message(
            QueueUrl=self.queue_url, MessageBody=delivery.notification, MessageAttributes=_queue_attributes(attributes)
        )
        return str(response["MessageId"])


class TokenBucket:
    """At most ``rate`` sends per second on average, bursts of at most ``burst``; clock and sleep injectable."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._rate, self._burst, self._clock, self._sleep = rate, burst, clock, sleep
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> None:
        while True:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            self._sleep((1 - self._tokens) / self._rate)


@dataclass
class Checkpoint:
    """Per source: the index key of the last event handled, or done. Saved after every event."""

    path: Path | None
    identity: dict[str, Any]
    """The command's filter arguments and its target: a checkpoint only resumes the replay it was made by."""
    filters: Filters
    """The filters as first resolved ("the last 30 days" of the first run, not of the resumed one)."""
    positions: dict[str, Any] = field(default_factory=dict)

    DONE = "done"

    @classmethod
    def resume(cls, path: Path, identity: dict[str, Any]) -> Checkpoint:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("identity") != identity:
            raise ValueError(f"{path} belongs to another replay (other filters or target); run without --resume")
        filters = saved["filters"]
        for name in ("event_types", "event_ids"):
            filters[name] = tuple(filters[name])
        return cls(path, identity, Filters(**filters), saved.get("positions", {}))

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        saved = {"identity": self.identity, "filters": asdict(self.filters), "positions": self.positions}
        temporary.write_text(json.dumps(saved), encoding="utf-8")
        os.replace(temporary, self.path)


@dataclass
class Outcome:
    event_id: str
    event_type: str
    instance: str | None
    received_at: str
    outcome: str
    """``replayed``, ``would_replay`` (dry run) or ``failed``."""
    message_id: str | None = None
    error: str | None = None


@dataclass
class Report:
    replayed: int = 0
    would_replay: int = 0
    skipped: int = 0
    """Found by the query but not wanted: another state, instance or type, or gone (TTL)."""
    failed: list[str] = field(default_factory=list)
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entries(dynamodb: Any, table: str, filters: Filters, source: Source, after: Any) -> Iterator[tuple[Item, Any]]:
    """Each index entry of the source (or the one event) and the position to resume after it; a page at a time."""
    if source.index is None:
        yield {"pk": {"S": str(source.hash_value)}}, None
        return
    # Every listing index sorts by received_at; Pending sorts by sweep_at and holds received_at as an attribute.
    in_time_range = "received_at BETWEEN :since AND :until"
    by_time = source.index != "Pending"
    arguments: dict[str, Any] = {
        "TableName": table,
        "IndexName": source.index,
        "KeyConditionExpression": f"#hash = :hash AND {in_time_range}" if by_time else "#hash = :hash",
        "ExpressionAttributeNames": {"#hash": str(source.hash_name)},
        "ExpressionAttributeValues": {
            ":hash": {"S": str(source.hash_value)},
            ":since": {"S": filters.since},
            ":until": {"S": filters.until},
        },
    }
    if not by_time:
        arguments["FilterExpression"] = in_time_range
    if source.index == "ByInstance" and filters.event_types:  # the index holds event_type: no read of the others
        names = [f":type{number}" for number in range(len(filters.event_types))]
        arguments["FilterExpression"] = f"event_type IN ({', '.join(names)})"
        arguments["ExpressionAttributeValues"].update(
            {name: {"S": event_type} for name, event_type in zip(names, filters.event_types, strict=True)}
        )
    if after is not None:
        arguments["ExclusiveStartKey"] = after
    while True:
        page = dynamodb.query(**arguments)
        for entry in page["Items"]:
            yield entry, {name: entry[name] for name in ("pk", str(source.hash_name), "received_at")}
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def replay(
    dynamodb: Any,
    table: str,
    target: Target,
    checkpoint: Checkpoint,
    *,
    dry_run: bool = False,
    bucket: TokenBucket | None = None,
    should_stop: Callable[[Report], bool] = lambda report: False,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
) -> Report:
    """Replay every wanted event of the checkpoint's filters' sources not yet done; stops cleanly (checkpoint saved)
    when asked to."""
    report = Report()
    filters = checkpoint.filters
    attributes_extra = {REPLAY_ATTRIBUTE: "true"}
    for source in filters.sources():
        position = checkpoint.positions.get(source.key)
        if position == Checkpoint.DONE:
            continue
        for entry, after in _entries(dynamodb, table, filters, source, position):
            if should_stop(report):
                report.interrupted = True
                return report
            item: Item | None = dynamodb.get_item(TableName=table, Key={"pk": entry["pk"]}).get("Item")
            if item is None or not filters.wanted(item):
                report.skipped += 1
            else:
                outcome = _send(item, target, attributes_extra, dry_run, bucket)
                if outcome.outcome == "replayed":
                    report.replayed += 1
                elif outcome.outcome == "would_replay":
                    report.would_replay += 1
                else:
                    report.failed.append(outcome.event_id)
                on_outcome(outcome)
            if not dry_run and after is not None:
                checkpoint.positions[source.key] = after
                checkpoint.save()
        if not dry_run:
            checkpoint.positions[source.key] = Checkpoint.DONE
            checkpoint.save()
    return report


def _send(item: Item, target: Target, extra: Mapping[str, str], dry_run: bool, bucket: TokenBucket | None) -> Outcome:
    delivery = delivery_of(item)
    outcome = Outcome(
        event_id=delivery.event_id,
        event_type=item["event_type"]["S"],
        instance=item.get("instance", {}).get("S"),
        received_at=item["received_at"]["S"],
        outcome="would_replay" if dry_run else "replayed",
    )
    if dry_run:
        return outcome
    if bucket is not None:
        bucket.take()
    try:
        outcome.message_id = target.send(delivery, {**delivery.attributes, **extra})
    except (BotoCoreError, ClientError) as error:
        outcome.outcome, outcome.error = "failed", type(error).__name__
    return outcome
