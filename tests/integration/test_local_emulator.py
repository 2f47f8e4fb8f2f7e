"""The local emulator keeps the one DynamoDB guarantee the hub is built on: a conditional write is atomic."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from webhook_hub_cli import local_aws


def test_concurrent_conditional_puts_of_one_key_have_one_winner(
    stack: local_aws.LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: moto checks a put's condition and then writes without a lock, so two copies of one event could
    both win the write and both be published (seen in the local hub's concurrency tests on a loaded machine).
    moto's condition parsing is slowed down here so the two requests overlap every time."""
    from moto.dynamodb.models import table

    parse = table.get_filter_expression  # type: ignore[attr-defined]

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.2)
        return parse(*args, **kwargs)

    monkeypatch.setattr(table, "get_filter_expression", slow_parse)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def put(number: int) -> None:
        dynamodb = local_aws.client("dynamodb", stack.endpoint_url)
        barrier.wait()
        try:
            dynamodb.put_item(
                TableName=stack.table_name,
                Item={"pk": {"S": "one-event"}, "writer": {"N": str(number)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            outcomes.append("refused")
        else:
            outcomes.append("written")

    threads = [threading.Thread(target=put, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["refused", "refused", "refused", "written"]
