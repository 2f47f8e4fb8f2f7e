"""The operations commands (show, message, replay, instances) over events the real handler stored in moto."""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from webhook_hub.core.notification import Notification
from webhook_hub.delivery import delivery_of
from webhook_hub_cli import local_aws
from webhook_hub_cli.hub_access import Hub
from webhook_hub_cli.local_state import LocalHubState
from webhook_hub_cli.main import main
from webhook_hub_cli.replay import Checkpoint, Filters, OneQueue, Report, replay

from .conftest import invoke, receive_all, sample, scan_items


@pytest.fixture
def hub(stack: local_aws.LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gateway_url: str) -> Hub:
    """The stack as the CLI finds a local hub: through the state file ``webhook-hub run`` writes."""
    monkeypatch.setenv("WEBHOOK_HUB_STATE", str(tmp_path / "local.json"))
    prefix = stack.environment["TOPIC_ARN_PREFIX"]
    LocalHubState(gateway_url, stack.endpoint_url, stack.table_name, os.getpid(), prefix).save()
    return Hub(stack.table_name, prefix, stack.endpoint_url)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    capsys.readouterr()  # the handler's log lines so far
    exit_code = main(list(args))
    out, err = capsys.readouterr()
    return exit_code, [json.loads(line) for line in out.splitlines()], err


def _upsert(instance: str, message_id: str, *, timestamp: int | None = None, text: str = "oi") -> dict[str, Any]:
    body = sample("messages-upsert.json")
    body["instance"] = instance
    body["data"]["key"]["id"] = message_id
    body["data"]["message"] = {"conversation": text}
    if timestamp is not None:
        body["data"]["messageTimestamp"] = timestamp
    return body


def _store(stack: local_aws.LocalStack, body: dict[str, Any]) -> str:
    answer = invoke(stack, body)
    assert answer.status == 200, answer.body
    event_id: str = answer.body["event_id"]
    return event_id


# --- show ------------------------------------------------------------------------------------------------------


def test_show_prints_an_offloaded_event_with_its_payload_from_s3(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    body = sample("reference/messages-upsert-image-base64.json")
    body["data"]["message"]["base64"] = base64.b64encode(b"\xfe" * 300_000).decode()
    event_id = _store(stack, body)
    (item,) = scan_items(stack)

    exit_code, (document,), _ = _cli(capsys, "show", event_id, "--json")

    assert exit_code == 0
    notification_keys = set(Notification.model_fields)
    assert set(document) == notification_keys | {"state", "attempts", "published"}
    assert "payload" not in item, "the body must really be offloaded for this test"
    assert document["payload_ref"]["key"] == item["payload_ref"]["M"]["key"]["S"]
    assert document["payload"]["data"]["message"]["base64"] == body["data"]["message"]["base64"]
    assert document["payload"]["apikey"] == "[REDACTED]"
    assert document["state"] == "published"
    assert document["published"]["topic_arn"] == stack.topic_arns["MessagesUpsert"]
    assert document["published"]["sns_message_id"] == item["sns_message_id"]["S"]
    assert document["summary"]["message_kind"] == "image"
    assert (document["event_type"], document["valid"], document["reasons"]) == ("messages.upsert", True, [])


def test_show_as_a_table_and_of_an_unknown_id(hub: Hub, stack: local_aws.LocalStack, capsys: Any) -> None:
    event_id = _store(stack, sample("connection-update.json"))

    capsys.readouterr()
    assert main(["show", event_id]) == 0
    table = capsys.readouterr().out
    assert main(["show", "0" * 32]) == 1
    missing = capsys.readouterr().err

    assert f"event id:     {event_id}" in table
    assert "state:        published" in table
    assert '"state": "open"' in table
    assert "FAKE-INSTANCE-TOKEN" not in table
    assert "no event '00000000000000000000000000000000' is stored" in missing


# --- message ---------------------------------------------------------------------------------------------------


def _receipt(instance: str, message_id: str, status: str) -> dict[str, Any]:
    body = sample("messages-update.json")
    body["instance"] = instance
    body["data"]["keyId"] = message_id
    body["data"]["status"] = status
    return body


def _edit(instance: str, message_id: str, at_ms: int) -> dict[str, Any]:
    body = sample("messages-edited.json")
    body["instance"] = instance
    body["data"]["key"]["id"] = message_id
    body["data"]["timestampMs"] = str(at_ms)
    return body


def _reaction(instance: str, message_id: str, timestamp: int) -> dict[str, Any]:
    body = sample("messages-upsert-reaction.json")
    body["instance"] = instance
    body["data"]["key"]["id"] = uuid.uuid4().hex.upper()
    body["data"]["message"]["reactionMessage"]["key"]["id"] = message_id
    body["data"]["messageTimestamp"] = timestamp
    return body


def test_message_timeline_puts_out_of_order_arrivals_in_the_order_they_happened(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    instance, message_id = "loja-norte", "3EB0" + uuid.uuid4().hex[:16].upper()
    sent_at = int(time.time()) - 600
    arrivals = [  # the receipts and the edit overtake the upsert, READ even overtakes DELIVERY_ACK
        _receipt(instance, message_id, "READ"),
        _reaction(instance, message_id, sent_at + 90),
        _receipt(instance, message_id, "DELIVERY_ACK"),
        _edit(instance, message_id, (sent_at + 60) * 1000),
        _upsert(instance, message_id, timestamp=sent_at, text="Qual o horário?"),
    ]
    ids = []
    for body in arrivals:
        ids.append(_store(stack, body))
        time.sleep(0.003)  # distinct received_at milliseconds

    exit_code, lines, _ = _cli(capsys, "message", message_id, "--instance", instance, "--json")

    assert exit_code == 0
    *steps, closing = lines
    read, reaction, delivered, edit, upsert = ids
    assert [step["event_id"] for step in steps] == [upsert, edit, reaction, delivered, read]
    assert [step["what"] for step in steps] == ["message", "edit", "reaction", "status", "status"]
    assert [step["position"] for step in steps] == [1, 2, 3, 4, 5]
    assert [step["arrived_late"] for step in steps] == [True, True, True, True, False]
    assert steps[0]["text"] == "Qual o horário?"
    assert closing == {
        "record": "message",
        "instance": instance,
        "message_id": message_id,
        "latest_status": "READ",
        "errors": 0,
        "steps": 5,
    }


def test_message_without_instance_finds_it_and_a_table_shows_the_latest_status(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    message_id = "3EB0" + uuid.uuid4().hex[:16].upper()
    _store(stack, _upsert("loja-sul", message_id, timestamp=int(time.time())))
    _store(stack, _receipt("loja-sul", message_id, "PLAYED"))
    _store(stack, _receipt("loja-sul", message_id, "DELIVERY_ACK"))

    capsys.readouterr()
    assert main(["message", message_id]) == 0
    table = capsys.readouterr().out
    assert main(["message", "NOT-A-MESSAGE"]) == 1

    rows = table.splitlines()
    assert rows[0].split() == ["#", "HAPPENED", "RECEIVED", "WHAT", "TYPE", "STATUS", "/", "TEXT"]
    assert [row.split()[4] for row in rows[1:4]] == ["messages.upsert", "messages.update", "messages.update"]
    assert [row.split()[5] for row in rows[2:4]] == ["DELIVERY_ACK", "PLAYED"]
    assert rows[-1] == "latest status: PLAYED"


def test_a_message_in_two_instances_needs_the_instance(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    message_id = "3EB0" + uuid.uuid4().hex[:16].upper()
    _store(stack, _upsert("loja-um", message_id))
    _store(stack, _upsert("loja-dois", message_id))

    exit_code, _, err = _cli(capsys, "message", message_id)
    chosen = _cli(capsys, "message", message_id, "--instance", "loja-dois", "--json")

    assert exit_code == 2
    assert "is in several instances; give --instance: ['loja-dois', 'loja-um']" in err
    assert chosen[1][-1]["instance"] == "loja-dois"
    assert chosen[1][-1]["steps"] == 1


# --- replay ----------------------------------------------------------------------------------------------------


def _new_queue(stack: local_aws.LocalStack) -> str:
    url: str = local_aws.client("sqs", stack.endpoint_url).create_queue(QueueName=f"new-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    return url


def _stored_upserts(stack: local_aws.LocalStack, instance: str, count: int) -> list[str]:
    return [_store(stack, _upsert(instance, f"MSG{n:04d}{uuid.uuid4().hex[:8]}")) for n in range(count)]


def test_replay_to_a_new_queue_delivers_each_event_once_flagged_as_a_replay(
    stack: local_aws.LocalStack, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _stored_upserts(stack, "loja-leste", 7)
    _store(stack, _upsert("loja-oeste", "OTHER-INSTANCE"))
    before = {item["pk"]["S"]: item for item in scan_items(stack)}
    queue = _new_queue(stack)
    checkpoint = tmp_path / "replay.json"

    exit_code, lines, _ = _cli(
        capsys, "replay", "--instance", "loja-leste", "--to-queue", queue, "--checkpoint", str(checkpoint), "--json"
    )

    assert exit_code == 0
    messages = receive_all(stack, queue)
    assert sorted(json.loads(message["Body"])["event_id"] for message in messages) == sorted(stored)
    for message in messages:
        assert message["MessageAttributes"]["replay"]["StringValue"] == "true"
        assert message["MessageAttributes"]["instance"]["StringValue"] == "loja-leste"
        event_id = json.loads(message["Body"])["event_id"]
        assert message["Body"] == delivery_of(before[event_id]).notification, "the notification as first published"
    *events, summary = lines
    assert [line["event_id"] for line in events] == stored
    assert {line["outcome"] for line in events} == {"replayed"}
    assert (summary["record"], summary["replayed"], summary["failed"], summary["interrupted"]) == (
        "summary",
        7,
        [],
        False,
    )
    assert {item["pk"]["S"]: item for item in scan_items(stack)} == before, "a replay writes nothing to the items"
    assert set(json.loads(checkpoint.read_text())["positions"].values()) == {"done"}


def test_an_interrupted_replay_resumes_without_duplicates(
    stack: local_aws.LocalStack, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored = _stored_upserts(stack, "loja-resume", 9)
    queue = _new_queue(stack)
    path = tmp_path / "replay.json"
    arguments = ["replay", "--instance", "loja-resume", "--to-queue", queue, "--checkpoint", str(path), "--json"]

    dry_run = _cli(capsys, *arguments, "--dry-run")
    nothing_sent, no_checkpoint = receive_all(stack, queue), not path.exists()
    stopped = _cli(capsys, *arguments, "--limit", "4")  # stops as after a Ctrl-C: between two events
    first_part = receive_all(stack, queue)
    resumed = _cli(capsys, *arguments, "--resume")
    second_part = receive_all(stack, queue)
    again = _cli(capsys, *arguments, "--resume")

    assert (dry_run[0], dry_run[1][-1]["would_replay"], nothing_sent, no_checkpoint) == (0, 9, [], True)
    assert (stopped[0], stopped[1][-1]["replayed"], stopped[1][-1]["interrupted"]) == (0, 4, True)
    assert (resumed[0], resumed[1][-1]["replayed"], resumed[1][-1]["interrupted"]) == (0, 5, False)
    replayed = [json.loads(message["Body"])["event_id"] for message in first_part + second_part]
    assert replayed == stored, "each once, in the order they were received"
    assert (len(first_part), again[1][-1]["replayed"]) == (4, 0), "a finished replay resumes to nothing"
    other_filters = _cli(
        capsys, "replay", "--instance", "loja-x", "--to-queue", queue, "--checkpoint", str(path), "--resume"
    )
    assert other_filters[0] == 2
    assert "belongs to another replay" in other_filters[2]


def test_the_engine_stops_between_events_and_saves_where(stack: local_aws.LocalStack, tmp_path: Path) -> None:
    stored = _stored_upserts(stack, "loja-engine", 3)
    queue = _new_queue(stack)
    dynamodb, sqs = local_aws.client("dynamodb", stack.endpoint_url), local_aws.client("sqs", stack.endpoint_url)
    filters = Filters(since="2000-01-01T00:00:00.000Z", until="2999-01-01T00:00:00.000Z", instance="loja-engine")
    checkpoint = Checkpoint(tmp_path / "c.json", {"test": 1}, filters)

    first = replay(dynamodb, stack.table_name, OneQueue(sqs, queue), checkpoint, should_stop=lambda r: r.replayed == 1)
    saved = json.loads((tmp_path / "c.json").read_text())
    resumed = Checkpoint.resume(tmp_path / "c.json", {"test": 1})
    rest = replay(dynamodb, stack.table_name, OneQueue(sqs, queue), resumed)

    assert (first, rest) == (Report(replayed=1, interrupted=True), Report(replayed=2))
    assert saved["positions"]["ByInstance:loja-engine"]["pk"] == {"S": stored[0]}
    assert [json.loads(m["Body"])["event_id"] for m in receive_all(stack, queue)] == stored


def test_replay_to_own_topics_is_excluded_by_a_filter_policy_and_keeps_the_state(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = _store(stack, sample("call.json"))
    everything = local_aws.subscribe_queue(stack, f"{stack.stack_name}-all", ["Call"], raw=True)
    live_only = local_aws.subscribe_queue(
        stack, f"{stack.stack_name}-live", ["Call"], raw=True, filter_policy={"replay": [{"exists": False}]}
    )
    (item_before,) = scan_items(stack)

    exit_code, lines, _ = _cli(capsys, "replay", "--event-id", event_id, "--rate", "1000", "--json")

    assert exit_code == 0
    (message,) = receive_all(stack, everything)
    assert json.loads(message["Body"])["event_id"] == event_id
    assert message["MessageAttributes"]["replay"]["StringValue"] == "true"
    assert receive_all(stack, live_only) == []
    assert scan_items(stack) == [item_before], "a replay writes nothing to the item"
    assert lines[-1]["target"] == "their own topics"


def test_replay_of_failed_events_takes_only_those(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    failed, published = _stored_upserts(stack, "loja-falha", 2)
    # what the recovery sweep leaves when it gives up on an event (issue 9)
    local_aws.client("dynamodb", stack.endpoint_url).update_item(
        TableName=stack.table_name,
        Key={"pk": {"S": failed}},
        UpdateExpression="SET #state = :failed, pending = :failed, sweep_at = :at",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":failed": {"S": "failed"}, ":at": {"N": "1767225600"}},
    )
    queue = _new_queue(stack)

    exit_code, lines, _ = _cli(capsys, "replay", "--state", "failed", "--to-queue", queue, "--json")
    by_instance = _cli(capsys, "replay", "--instance", "loja-falha", "--state", "published", "--dry-run", "--json")

    assert exit_code == 0
    assert [json.loads(message["Body"])["event_id"] for message in receive_all(stack, queue)] == [failed]
    assert [line["event_id"] for line in lines[:-1]] == [failed]
    *dry, summary = by_instance[1]
    assert [line["event_id"] for line in dry] == [published]
    assert (summary["would_replay"], summary["skipped"], summary["replayed"]) == (1, 1, 0)


def test_replay_of_some_types_of_one_instance_reads_only_those(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    _stored_upserts(stack, "loja-tipos", 2)
    call = _store(stack, {**sample("call.json"), "instance": "loja-tipos"})
    _store(stack, {**sample("call.json"), "instance": "loja-outra"})

    exit_code, lines, _ = _cli(capsys, "replay", "--instance", "loja-tipos", "--type", "CALL", "--dry-run", "--json")

    *events, summary = lines
    assert exit_code == 0
    assert [line["event_id"] for line in events] == [call]
    assert (summary["would_replay"], summary["skipped"]) == (1, 0), "the upserts never left the index query"


def test_replay_refuses_to_scan_the_table(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--since", "2026-01-01"]) == 2
    assert "replay needs --instance, --type, --event-id or --state failed" in capsys.readouterr().err


# --- instances -------------------------------------------------------------------------------------------------


def test_instances_lists_each_with_connection_state_and_counts(
    stack: local_aws.LocalStack, hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    opened = {**sample("connection-update.json"), "instance": "loja-a"}
    closed = {**sample("status-instance.json"), "instance": "loja-b"}
    _store(stack, opened)
    _stored_upserts(stack, "loja-a", 3)
    _store(stack, closed)
    _store(stack, {**sample("error.json")})  # no instance: not listed

    exit_code, rows, _ = _cli(capsys, "instances", "--json")

    assert exit_code == 0
    assert {frozenset(row) for row in rows} == {
        frozenset(
            {
                "instance",
                "last_event_at",
                "connection_state",
                "connection_at",
                "needs_qr_scan",
                "events_24h",
                "events_24h_by_type",
            }
        )
    }
    by_name = {row["instance"]: row for row in rows}
    assert sorted(by_name) == ["loja-a", "loja-b"]
    items = {item["pk"]["S"]: item for item in scan_items(stack)}
    newest_a = max(item["received_at"]["S"] for item in items.values() if item.get("instance", {}).get("S") == "loja-a")
    assert by_name["loja-a"]["last_event_at"] == newest_a
    assert (by_name["loja-a"]["connection_state"], by_name["loja-a"]["needs_qr_scan"]) == ("open", False)
    assert (by_name["loja-b"]["connection_state"], by_name["loja-b"]["needs_qr_scan"]) == ("closed", True)
    assert by_name["loja-a"]["events_24h"] == 4
    assert by_name["loja-a"]["events_24h_by_type"] == {"connection.update": 1, "messages.upsert": 3}
    assert by_name["loja-b"]["events_24h_by_type"] == {"status.instance": 1}

    assert main(["instances"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["INSTANCE", "LAST", "EVENT", "CONNECTION", "SINCE", "QR", "SCAN", "EVENTS", "24H"]
    assert table[2].split()[0] == "loja-b"
    assert table[2].split()[-2:] == ["NEEDED", "1"]
