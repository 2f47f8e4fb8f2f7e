"""DynamoDB access for events: one conditional write per new event, a lease to publish exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webhook_hub.aws.read_cursor import ReadCursor
from webhook_hub.record import STATE_FAILED, STATE_PUBLISHED, STATE_STORED, Item, pending_shard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RECOVERY_CURSOR_PK = "recovery-cursor"
"""The one item of the table that is not an event: how far the sweep's check of recent events has read (no event
id looks like it, and it has no index key)."""
BATCH_GET_LIMIT = 100


@dataclass(frozen=True, slots=True)
class WriteResult:
    created: bool
    existing: Item | None
    """The item already stored under the same key, when the write found one."""


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """What the ``Pending`` index holds of an event: enough to count, age and order the backlog."""

    event_id: str
    received_at: str
    sweep_at: int
    attempts: int
    """As the index last saw it (it may lag a claim by a moment): only sets the backoff."""


class EventStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client
        self.recovery_cursor = ReadCursor(table_name, client, RECOVERY_CURSOR_PK)

    def put_new(self, item: Item) -> WriteResult:
        """Write the item unless its event is already stored; one call either way."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as conflict:
            existing: Any = conflict.response.get("Item")
            return WriteResult(created=False, existing=existing)
        return WriteResult(created=True, existing=None)

    def get(self, pk: str) -> Item | None:
        found: Any = self._client.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item: Item | None = found.get("Item")
        return item

    def pending_entries(self, partition: str) -> Iterator[PendingEntry]:
        """Every entry of one ``Pending`` partition (a shard, or ``failed``), earliest ``sweep_at`` first."""
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "Pending",
            "KeyConditionExpression": "pending = :partition",
            "ExpressionAttributeValues": {":partition": {"S": partition}},
        }
        while True:
            page = self._client.query(**arguments)
            for entry in page["Items"]:
                yield PendingEntry(
                    entry["pk"]["S"],
                    entry["received_at"]["S"],
                    int(entry["sweep_at"]["N"]),
                    int(entry.get("attempts", {}).get("N", "1")),
                )
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def of_type(self, event_type: str, day: str, after: str, until: str) -> Iterator[dict[str, Any]]:
        """``pk``, ``received_at``, ``instance`` and ``summary`` of one type's events of one UTC day (``YYYY-MM-DD``)
        received in (``after``, ``until``] (ISO), oldest first, from the ``ByTypeDay`` index."""
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "ByTypeDay",
            "KeyConditionExpression": "type_day = :day AND received_at BETWEEN :after AND :until",
            "ExpressionAttributeValues": {
                ":day": {"S": f"{event_type}#{day}"},
                ":after": {"S": after},
                ":until": {"S": until},
            },
            "ProjectionExpression": "pk, received_at, instance, summary",
        }
        while True:
            page = self._client.query(**arguments)
            yield from (item for item in page["Items"] if item["received_at"]["S"] != after)
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_publish(self, pk: str, now: int, lease_until: int, sweep_at: int) -> Item | None:
        """Take the publish lease of a stored (or failed) event whose previous lease has run out; one attempt more.

        A claimed event is in ``Pending`` (due at ``sweep_at``) from then on: if this attempt dies, the sweep has it.
        Returns the item as it now is (everything its notification needs), or ``None`` when it is published, held
        by another delivery's lease, or gone.
        """
        try:
            answer: Any = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                UpdateExpression="SET lease_until = :lease, sweep_at = :sweep, "
                "pending = if_not_exists(pending, :shard) ADD attempts :one",
                ConditionExpression="attribute_exists(pk) AND #state IN (:stored, :failed) AND lease_until < :now",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":lease": {"N": str(lease_until)},
                    ":sweep": {"N": str(sweep_at)},
                    ":shard": {"S": pending_shard(pk)},
                    ":one": {"N": "1"},
                    ":stored": {"S": STATE_STORED},
                    ":failed": {"S": STATE_FAILED},
                    ":now": {"N": str(now)},
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        item: Item = answer["Attributes"]
        return item

    def mark_published(self, pk: str, published_at: str, message_id: str) -> None:
        """Leave the ``Pending`` index (if in it); keep the SNS message id for tracing a delivery. What only a stored
        event needs goes, which keeps the item as small as it was (one write unit for a text message)."""
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET #state = :published, published_at = :at, sns_message_id = :mid "
            "REMOVE pending, sweep_at, lease_until, request_id",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":published": {"S": STATE_PUBLISHED},
                ":at": {"S": published_at},
                ":mid": {"S": message_id},
            },
        )

    def mark_failed(self, pk: str, failed_at: str, now: int) -> None:
        """Move a stored event the sweep gave up on into the ``failed`` partition (listed, replayable)."""
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET #state = :failed, pending = :failed, sweep_at = :now, failed_at = :at",
            ConditionExpression="#state = :stored",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":failed": {"S": STATE_FAILED},
                ":stored": {"S": STATE_STORED},
                ":now": {"N": str(now)},
                ":at": {"S": failed_at},
            },
        )

    def release_lease(self, pk: str, sweep_at: int) -> None:
        """After a failed publish: let the sender's retry publish at once instead of waiting out the lease, and put the
        event in ``Pending`` (if not there yet), due at ``sweep_at``, in case the sender never retries."""
        self._client.update_item(
            TableName=self._table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET lease_until = :zero, pending = if_not_exists(pending, :shard), "
            "sweep_at = if_not_exists(sweep_at, :sweep)",
            ConditionExpression="#state IN (:stored, :failed)",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={
                ":zero": {"N": "0"},
                ":shard": {"S": pending_shard(pk)},
                ":sweep": {"N": str(sweep_at)},
                ":stored": {"S": STATE_STORED},
                ":failed": {"S": STATE_FAILED},
            },
        )

    def unpublished(self, pks: list[str]) -> list[str]:
        """Those of ``pks`` still ``stored`` and not in ``Pending``: what no delivery finished and nobody will retry.

        Eventually consistent reads (half the price): the sweep asks only about events received minutes ago, and a
        read that lagged a publication only makes ``enter_pending``'s condition fail."""
        found: list[str] = []
        for start in range(0, len(pks), BATCH_GET_LIMIT):
            keys: Any = {
                self._table: {
                    "Keys": [{"pk": {"S": pk}} for pk in pks[start : start + BATCH_GET_LIMIT]],
                    "ProjectionExpression": "pk, #state, pending",
                    "ExpressionAttributeNames": {"#state": "state"},
                }
            }
            while keys:
                answer: Any = self._client.batch_get_item(RequestItems=keys)
                found += [
                    item["pk"]["S"]
                    for item in answer["Responses"].get(self._table, [])
                    if item["state"]["S"] == STATE_STORED and "pending" not in item
                ]
                keys = answer.get("UnprocessedKeys") or None
        return found

    def enter_pending(self, pk: str, sweep_at: int) -> None:
        """Put a stored event found unpublished into ``Pending``, due at ``sweep_at``; no-op if it moved on since."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                UpdateExpression="SET pending = :shard, sweep_at = :sweep",
                ConditionExpression="#state = :stored AND attribute_not_exists(pending)",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":shard": {"S": pending_shard(pk)},
                    ":sweep": {"N": str(sweep_at)},
                    ":stored": {"S": STATE_STORED},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return
