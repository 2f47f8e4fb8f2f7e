"""The bench's write-unit arithmetic (bench/cases.py), on which the cost per event in docs/cost.md rests.

Each case is a DynamoDB rule as documented ("Capacity unit consumption for write operations" and "Provisioned
throughput considerations for global secondary indexes"), applied to the items before and after a write.
"""

from __future__ import annotations

from typing import Any

from bench.cases import stored_bytes, write_units

TABLE: dict[str, Any] = {
    "TableName": "events",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "ByInstance",
            "KeySchema": [{"AttributeName": "instance_pk", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["summary"]},
        },
        {
            "IndexName": "Pending",
            "KeySchema": [{"AttributeName": "pending", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    ],
}
PAYLOAD = {"S": "x" * 1500}
"""Makes the item 2 KB: two units on the table, none of it in an index entry."""


def _item(**attributes: str) -> dict[str, Any]:
    return {"pk": {"S": "event-1"}, "payload": PAYLOAD, **{name: {"S": value} for name, value in attributes.items()}}


def _write(before: Any, after: Any, offered: Any = None, *, failed: bool = False, factor: int = 1) -> dict[str, Any]:
    return {"before": before, "after": after, "offered": offered, "failed": failed, "factor": factor}


def test_new_item_pays_its_size_and_one_entry_per_index_it_belongs_to() -> None:
    item = _item(instance_pk="shop", pending="1", summary="hello")

    assert write_units(_write(None, item, item), TABLE) == {"table": 2, "ByInstance": 1, "Pending": 1}
    assert write_units(_write(None, _item(), _item()), TABLE) == {"table": 2}  # sparse: in no index


def test_update_pays_the_larger_item_and_deletes_the_entry_whose_key_it_removes() -> None:
    before = _item(instance_pk="shop", pending="1", summary="hello")
    after = _item(instance_pk="shop", state="published", summary="hello")

    assert write_units(_write(before, after), TABLE) == {"table": 2, "Pending": 1}


def test_changed_index_key_is_a_delete_and_a_put_and_unprojected_changes_cost_no_index_write() -> None:
    before = _item(instance_pk="shop", summary="hello")

    assert write_units(_write(before, _item(instance_pk="other", summary="hello")), TABLE) == {
        "table": 2,
        "ByInstance": 2,
    }
    assert write_units(_write(before, _item(instance_pk="shop", summary="bye")), TABLE) == {"table": 2, "ByInstance": 1}
    assert write_units(_write(before, {**before, "state": {"S": "published"}}), TABLE) == {"table": 2}


def test_failed_condition_pays_the_larger_of_stored_and_offered_and_no_index() -> None:
    stored = _item(instance_pk="shop", pending="1")
    offered = {**stored, "payload": {"S": "x" * 3000}}

    assert write_units(_write(stored, stored, offered, failed=True), TABLE) == {"table": 3}


def test_transaction_doubles_the_table_write() -> None:
    item = _item()

    assert write_units(_write(None, item, item, factor=2), TABLE) == {"table": 4}


def test_storage_counts_only_items_the_case_created_with_their_entries() -> None:
    item = _item(pending="1")
    created = {"sent": [{"writes": [{**_write(None, item, item), "table": "events", "key": {"pk": item["pk"]}}]}]}
    again = {
        "sent": [{"writes": [{**_write(item, item, item, failed=True), "table": "events", "key": {"pk": item["pk"]}}]}]
    }

    pending_entry = len("pk") + len("event-1") + len("pending") + 1
    assert (
        stored_bytes(created, {"events": TABLE})
        == len("pk") + 7 + len("payload") + 1500 + 8 + 100 + pending_entry + 100
    )
    assert stored_bytes(again, {"events": TABLE}) == 0
