"""Forwarding to the users' own servers, against moto (real SQS FIFO, DynamoDB, Secrets Manager, SNS) and HTTP
servers on 127.0.0.1.

Events enter through the real ingest handler and reach the intake queue through SNS. ``Engine`` plays Lambda's
SQS event sources for the dispatch and forward code, on a simulated clock: when the forwarder delays a task by N
seconds, the engine moves the clock N seconds on and makes the task visible again, as SQS would by then.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.payload_store import PayloadStore
from webhook_hub.aws.task_queue import TaskQueue
from webhook_hub.core.destinations import (
    DAY,
    FORMAT_NOTIFICATION,
    STEP_DONE,
    STEP_RETRY,
    Destination,
    DestinationFilter,
    RetryPolicy,
)
from webhook_hub.destinations import http_post
from webhook_hub.destinations.dispatch import dispatch, enabled_destinations
from webhook_hub.destinations.forward import Forwarded, Forwarder, batch_response
from webhook_hub.destinations.parked import list_parked, redrive
from webhook_hub_cli import destinations_cmd, local_aws
from webhook_hub_cli.apigw import LambdaContext
from webhook_hub_cli.destinations_cmd import DestinationError, Hub, add_destination, local_hub
from webhook_hub_cli.local_event_sources import lambda_event, receive, settle
from webhook_hub_cli.local_state import LocalHubState
from webhook_hub_cli.main import main

from .conftest import invoke, sample
from .receivers import Received, receiver


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@dataclass
class Engine:
    stack: local_aws.LocalStack
    clock: Clock
    private_network: bool = True
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    alerts: list[tuple[str, str]] = field(default_factory=list)
    outcomes: list[Forwarded] = field(default_factory=list)
    waiting: list[tuple[float, str]] = field(default_factory=list)
    """(due time, receipt handle) of each delayed task."""

    def __post_init__(self) -> None:
        self.hub = local_hub(self.stack.endpoint_url, self.stack.stack_name)
        self.sqs = self.hub.sqs
        self.forwarder = Forwarder(
            destinations=self.hub.store(),
            secrets=self.hub.secrets(),
            events=EventStore(self.stack.table_name, local_aws.client("dynamodb", self.stack.endpoint_url)),
            payloads=PayloadStore(self.stack.bucket_name, local_aws.client("s3", self.stack.endpoint_url)),
            queue=self.hub.queue(),
            alert=lambda subject, text: self.alerts.append((subject, text)),
            policy=self.policy,
            private_network=self.private_network,
            clock=self.clock,
            jitter=random.Random(5).random,
        )

    def dispatch(self) -> int:
        """Every waiting notification through the dispatch code; returns the tasks queued."""
        queued = 0
        while messages := receive(self.sqs, self.hub.resources.intake_queue_url, wait_seconds=0):
            report = dispatch(
                lambda_event(messages, "")["Records"],
                enabled_destinations(self.hub.store()),
                self.hub.queue(),
                now=self.clock(),
            )
            settle(
                self.sqs,
                self.hub.resources.intake_queue_url,
                messages,
                {"batchItemFailures": [{"itemIdentifier": m} for m in report.failed_records]},
            )
            queued += report.tasks
        return queued

    def forward(self) -> None:
        """Every task receivable now, batch by batch, through the forward code."""
        url = self.hub.resources.delivery_queue_url
        while messages := receive(self.sqs, url, wait_seconds=0):
            outcomes = self.forwarder.handle(lambda_event(messages, "")["Records"])
            settle(self.sqs, url, messages, batch_response(outcomes))
            receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
            for outcome in outcomes:
                if outcome.step.action == STEP_RETRY:
                    self.waiting.append((self.clock() + outcome.step.delay_seconds, receipts[outcome.message_id]))
            self.outcomes += outcomes

    def run(self, *, on_tick: Callable[[float], None] = lambda _now: None, max_rounds: int = 2_000) -> None:
        """Dispatch, then forward until nothing waits: time jumps to the next due retry each round."""
        self.dispatch()
        for _ in range(max_rounds):
            self.forward()
            if not self.waiting:
                return
            self.clock.now = max(self.clock.now, min(due for due, _receipt in self.waiting))
            on_tick(self.clock.now)
            due = [receipt for when, receipt in self.waiting if when <= self.clock.now]
            self.waiting = [(when, receipt) for when, receipt in self.waiting if when > self.clock.now]
            for receipt in due:  # time has passed: SQS shows the task again
                self.sqs.change_message_visibility(
                    QueueUrl=self.hub.resources.delivery_queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
                )
        raise AssertionError("forwarding did not settle")


def message(chat: str, number: int, *, from_me: bool = False, text: str = "oi") -> dict[str, Any]:
    body = copy.deepcopy(sample("messages-upsert.json"))
    body["data"]["key"].update(remoteJid=chat, fromMe=from_me, id=f"MSG{chat[:6]}{number:04d}")
    body["data"]["message"] = {"conversation": f"{text} {number}"}
    body["date_time"] = f"2026-01-01T09:{number // 60:02d}:{number % 60:02d}.000Z"
    return body


def add(hub: Hub, destination_id: str, url: str, **options: Any) -> str:
    """A destination through the CLI's code; returns its signing secret."""
    _destination, secret = add_destination(hub, destination_id, url, **options)
    return secret


def key_ids(requests: list[Received]) -> list[str]:
    return [request.json()["data"]["key"]["id"] for request in requests]


@pytest.fixture
def engine(stack: local_aws.LocalStack) -> Engine:
    return Engine(stack, Clock(time.time()))


def test_an_event_reaches_three_destinations_exactly_as_filtered(engine: Engine) -> None:
    with receiver() as everything, receiver() as inbound_text, receiver() as connection:
        add(engine.hub, "everything", everything.url)
        inbound_secret = add(
            engine.hub,
            "inbound-text",
            inbound_text.url,
            chosen=DestinationFilter(directions=frozenset({"inbound"}), message_kinds=frozenset({"text"})),
            body_format=FORMAT_NOTIFICATION,
            headers={"Authorization": "Bearer receiver-token"},
        )
        add(
            engine.hub,
            "connection",
            connection.url,
            chosen=DestinationFilter(event_types=frozenset({"connection.update"})),
        )
        posted = [message("5511900000002@s.whatsapp.net", 1), message("5511900000002@s.whatsapp.net", 2, from_me=True)]
        posted.append(sample("connection-update.json"))
        for body in posted:
            assert invoke(engine.stack, body).status == 200

        engine.run()

    assert [request.json()["event"] for request in everything.requests] == [
        "messages.upsert",
        "messages.upsert",
        "connection.update",
    ]
    first = everything.requests[0].json()
    assert first["data"] == posted[0]["data"]  # the body as posted, redacted
    assert first["apikey"] != posted[0]["apikey"]
    (notification,) = inbound_text.bodies()
    assert notification["summary"]["direction"] == "inbound"
    assert notification["payload"]["data"]["key"]["id"] == posted[0]["data"]["key"]["id"]
    (request,) = inbound_text.requests
    assert request.headers["authorization"] == "Bearer receiver-token"
    assert request.headers["webhook-id"] == notification["event_id"]
    assert Webhook(inbound_secret).verify(request.body, request.headers) == notification
    assert [body["event"] for body in connection.bodies()] == ["connection.update"]
    assert all(outcome.step.action == STEP_DONE for outcome in engine.outcomes)
    assert len(engine.outcomes) == 5


def test_a_destination_down_for_a_simulated_day_gets_every_event_afterwards_in_per_chat_order(engine: Engine) -> None:
    start = engine.clock.now
    chats = ["5511900000001@s.whatsapp.net", "5511900000002@s.whatsapp.net", "120363000000000001@g.us"]
    posted = [message(chats[n % 3], n) for n in range(15)]
    down = {"until": start + DAY}
    with receiver(lambda _request: 200 if engine.clock.now >= down["until"] else 503) as horse:
        add(engine.hub, "horse", horse.url)
        for body in posted:
            assert invoke(engine.stack, body).status == 200

        engine.run()

    delivered = horse.accepted()
    assert sorted(key_ids(delivered)) == sorted(body["data"]["key"]["id"] for body in posted)
    for chat in chats:
        sent = [body["data"]["key"]["id"] for body in posted if body["data"]["key"]["remoteJid"] == chat]
        got = [r.json()["data"]["key"]["id"] for r in delivered if r.json()["data"]["key"]["remoteJid"] == chat]
        assert got == sent, chat
    assert engine.clock.now >= start + DAY
    assert engine.clock.now <= start + DAY + engine.policy.cap_seconds
    assert list_parked(engine.hub.queue()) == []
    retried = [o for o in engine.outcomes if o.step.action == STEP_RETRY]
    assert len({o.event_id for o in retried}) == 3  # only each chat's head was tried while the server was down


def test_500_forever_is_parked_after_the_retry_window_and_redrive_delivers_it(engine: Engine) -> None:
    start = engine.clock.now
    broken = {"on": True}
    with receiver(lambda _request: 500 if broken["on"] else 204) as server:
        add(engine.hub, "broken", server.url)
        assert invoke(engine.stack, message("5511900000002@s.whatsapp.net", 1)).status == 200

        engine.run()

        (parked,) = list_parked(engine.hub.queue())
        assert parked.task.destination_id == "broken"
        assert "retry window ended" in parked.reason
        assert "HTTP 500" in parked.reason
        assert start + engine.policy.window_seconds <= engine.clock.now < start + engine.policy.window_seconds + 60
        attempts_while_broken = len(server.requests)
        assert 90 < attempts_while_broken < 150

        broken["on"] = False
        assert redrive(engine.hub.queue(), now=engine.clock.now, destination_id="another") == []
        (queued,) = redrive(engine.hub.queue(), now=engine.clock.now)
        engine.forward()

    assert queued.task.event_id == parked.task.event_id
    assert len(server.requests) == attempts_while_broken + 1
    assert server.requests[-1].headers["webhook-id"] == parked.task.event_id
    assert engine.outcomes[-1].step.action == STEP_DONE
    assert list_parked(engine.hub.queue()) == []


def test_an_echoing_server_cannot_put_its_credentials_or_the_signing_secret_in_the_parked_reason(
    stack: local_aws.LocalStack,
) -> None:
    engine = Engine(stack, Clock(time.time()), policy=RetryPolicy(window_seconds=120))
    credential = "Bearer receiver-credential-1234"
    with receiver(lambda request: (500, {}, json.dumps(request.headers).encode())) as echo:
        secret = add(engine.hub, "echo", echo.url, headers={"Authorization": credential})
        assert invoke(stack, message("5511900000002@s.whatsapp.net", 1)).status == 200

        engine.run()

    (parked,) = list_parked(engine.hub.queue())
    assert "HTTP 500" in parked.reason
    assert "[REDACTED]" in parked.reason
    assert credential not in parked.reason
    assert secret not in parked.reason
    assert len(echo.requests) > 1


def test_410_gone_disables_the_destination_alerts_and_parks_its_events(
    engine: Engine, local_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiver(lambda _request: 410) as gone, receiver() as alive:
        add(engine.hub, "gone", gone.url)
        add(engine.hub, "alive", alive.url)
        for number in range(3):
            assert invoke(engine.stack, message("5511900000002@s.whatsapp.net", number)).status == 200

        engine.run()

    assert len(gone.requests) == 1  # its other events are parked without another attempt
    assert len(alive.requests) == 3
    destination = engine.hub.store().get("gone")
    assert destination is not None
    assert not destination.enabled
    assert "410" in (destination.disabled_reason or "")
    ((subject, _text),) = engine.alerts
    assert "gone" in subject
    parked = list_parked(engine.hub.queue(), "gone")
    assert len(parked) == 3
    assert all("410" in p.reason or "disabled" in p.reason for p in parked)

    capsys.readouterr()
    assert main(["destinations", "list"]) == 0
    states = {row["id"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert (states["gone"]["enabled"], states["gone"]["parked"]) == (False, 3)
    assert "410" in states["gone"]["disabled_reason"]
    assert (states["alive"]["enabled"], states["alive"]["parked"]) == (True, 0)
    assert main(["destinations", "parked", "--destination", "gone"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(row["event_id"] for row in listed) == sorted(p.task.event_id for p in parked)
    assert main(["destinations", "enable", "gone"]) == 0
    assert engine.hub.store().get("gone").enabled  # type: ignore[union-attr]
    assert main(["replay", "--state", "parked", "--dry-run", "--json"]) == 0
    *would, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (len(would), summary["would_redrive"], len(list_parked(engine.hub.queue()))) == (3, 3, 3)
    assert main(["replay", "--state", "parked", "--json"]) == 0  # the word for it: destinations redrive
    assert json.loads(capsys.readouterr().out) == {"record": "summary", "redriven": 3}
    assert list_parked(engine.hub.queue()) == []
    assert main(["destinations", "redrive", "--destination", "gone"]) == 0
    assert capsys.readouterr().out == "0 parked deliveries queued again\n"


def test_a_dead_destination_does_not_delay_another(engine: Engine) -> None:
    with receiver(lambda _request: 503) as dead, receiver() as alive:
        add(engine.hub, "dead", dead.url)
        add(engine.hub, "alive", alive.url)
        for number in range(12):
            assert invoke(engine.stack, message("5511900000002@s.whatsapp.net", number)).status == 200

        engine.dispatch()
        engine.forward()  # one pass, no time passes

    assert len(alive.requests) == 12
    assert len(dead.requests) == 1  # its chat waits behind its head; the other destination's does not


def test_the_metadata_address_is_refused(engine: Engine) -> None:
    with pytest.raises(DestinationError, match="link-local or metadata"):
        add(engine.hub, "metadata", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    with pytest.raises(DestinationError, match="http and https"):
        add(engine.hub, "file", "file:///etc/passwd")
    aws_hub = dataclasses.replace(engine.hub, private_network=False)
    with pytest.raises(DestinationError, match="private address"):
        add(aws_hub, "lan", "http://127.0.0.1:9000/resposta")
    add(aws_hub, "lan", "http://127.0.0.1:9/resposta", internal=True)

    # A destination whose name came to resolve to the metadata address is parked without a connection.
    secret_id = engine.hub.store().get("lan").secret_id  # type: ignore[union-attr]
    engine.hub.store().put(Destination("sneaky", "http://169.254.169.254/latest/meta-data/", secret_id))
    engine.hub.store().set_enabled("lan", False, "test")
    assert invoke(engine.stack, message("5511900000002@s.whatsapp.net", 1)).status == 200
    engine.run()

    parked = {p.task.destination_id: p.reason for p in list_parked(engine.hub.queue())}
    assert "link-local or metadata" in parked["sneaky"]
    assert parked["sneaky"].startswith("refused")


def test_redirects_are_not_followed_and_answers_are_read_to_a_bound() -> None:
    huge = b"x" * 1_000_000
    with receiver() as elsewhere, receiver(lambda _r: (307, {"location": elsewhere.url}, b"")) as redirecting:
        redirected = http_post.post(redirecting.url, b"{}", {}, allow_private=True)
    with receiver(lambda _r: (500, {}, huge)) as talkative:
        verbose = http_post.post(talkative.url, b"{}", {}, allow_private=True)
    with receiver() as server:
        port = server.url.split(":")[2].split("/")[0]
    closed = http_post.post(f"http://localhost:{port}/resposta", b"{}", {}, allow_private=True)

    assert redirected.status == 307
    assert not redirected.ok
    assert elsewhere.requests == []
    assert verbose.status == 500
    assert len(verbose.snippet) == http_post.SNIPPET_CHARS
    assert (closed.status, closed.error) == (None, "cannot connect")


def test_a_large_body_is_forwarded_from_s3_as_posted(engine: Engine) -> None:
    body = message("5511900000002@s.whatsapp.net", 1, text="x" * 300_000)
    with receiver() as server:
        add(engine.hub, "horse", server.url)
        assert invoke(engine.stack, body).status == 200

        engine.run()

    (request,) = server.requests
    assert request.json()["data"] == body["data"]


# --- through the Lambda handlers and the CLI, on real time ---------------------------------------------------


@pytest.fixture
def handlers(stack: local_aws.LocalStack) -> Iterator[tuple[Any, Any]]:
    import dispatch as dispatch_function
    import forward as forward_function

    for cached in (dispatch_function._store, dispatch_function._queue, forward_function.forwarder):
        cached.cache_clear()
    yield dispatch_function, forward_function
    for cached in (dispatch_function._store, dispatch_function._queue, forward_function.forwarder):
        cached.cache_clear()


@pytest.fixture
def local_state(stack: local_aws.LocalStack, tmp_path: Path, gateway_url: str) -> Iterator[None]:
    previous = os.environ.get("WEBHOOK_HUB_STATE")
    os.environ["WEBHOOK_HUB_STATE"] = str(tmp_path / "local.json")
    LocalHubState(gateway_url, stack.endpoint_url, stack.table_name, os.getpid()).save()
    yield
    if previous is None:
        os.environ.pop("WEBHOOK_HUB_STATE", None)
    else:
        os.environ["WEBHOOK_HUB_STATE"] = previous


def run_handler(stack: local_aws.LocalStack, function: Any, queue_url: str) -> dict[str, Any]:
    sqs = local_aws.client("sqs", stack.endpoint_url)
    messages = receive(sqs, queue_url, wait_seconds=0)
    response: dict[str, Any] = function.lambda_handler(lambda_event(messages, ""), LambdaContext())
    settle(sqs, queue_url, messages, response)
    return response


def test_the_cli_manages_destinations_and_the_functions_deliver_signed_events(
    stack: local_aws.LocalStack, handlers: tuple[Any, Any], local_state: None, capsys: pytest.CaptureFixture[str]
) -> None:
    dispatch_function, forward_function = handlers
    resources = local_aws.local_destination_resources(stack.endpoint_url, stack.stack_name)
    with receiver(path="/resposta") as horse:
        assert (
            main(
                ["destinations", "add", "horse", horse.url, "--event", "MESSAGES_UPSERT", "--header", "X-Loja: centro"]
            )
            == 0
        )
        added = capsys.readouterr().out
        secret = added.split("Signing secret (shown once; verify webhook-signature with it): ")[1].strip()
        assert main(["destinations", "list"]) == 0
        (listed,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert main(["destinations", "test", "horse"]) == 0
        assert capsys.readouterr().out.startswith("ok HTTP 200")

        assert invoke(stack, message("5511900000002@s.whatsapp.net", 1)).status == 200
        assert invoke(stack, sample("connection-update.json")).status == 200
        assert run_handler(stack, dispatch_function, resources.intake_queue_url) == {"batchItemFailures": []}
        assert run_handler(stack, forward_function, resources.delivery_queue_url) == {"batchItemFailures": []}
        documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]

        assert main(["destinations", "remove", "horse"]) == 0
        assert main(["destinations", "list"]) == 0
        assert capsys.readouterr().out == ""

    (per_destination,) = [document for document in documents if "ForwardDelivered" in document]
    assert per_destination["destination"] == "horse"
    assert per_destination["ForwardAttempts"] == [1.0]
    assert per_destination["ForwardLatency"][0] >= 0
    assert listed["filter"] == {"event_types": ["messages.upsert"]}
    assert listed["headers"] == ["X-Loja"]
    assert secret not in json.dumps(
        local_aws.client("dynamodb", stack.endpoint_url).scan(TableName=resources.table_name)
    )
    test_request, event_request = horse.requests
    assert Webhook(secret).verify(test_request.body, test_request.headers)["event"] == "webhook-hub.test"
    assert Webhook(secret).verify(event_request.body, event_request.headers)["event"] == "messages.upsert"
    assert event_request.headers["x-loja"] == "centro"
    assert event_request.path == "/resposta"


def test_the_cli_manages_a_deployed_stacks_destinations_through_its_outputs(
    stack: local_aws.LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = local_aws.local_destination_resources(stack.endpoint_url, stack.stack_name)
    outputs = {
        "DestinationsTableName": resources.table_name,
        "DestinationSecretPrefix": f"{stack.stack_name}-deployed/destinations/",
        "DeliveryQueueUrl": resources.delivery_queue_url,
        "ParkedQueueUrl": resources.parked_queue_url,
    }
    local_aws.client("cloudformation", stack.endpoint_url).create_stack(
        StackName=f"{stack.stack_name}-deployed",
        TemplateBody=json.dumps(
            {
                "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {name: {"Value": value} for name, value in outputs.items()},
            }
        ),
    )
    deployed = ["--stack", f"{stack.stack_name}-deployed"]

    refused = main(["destinations", "add", "lan", "http://127.0.0.1:9000/resposta", *deployed])
    message = capsys.readouterr().err
    internal = main(["destinations", "add", "lan", "http://127.0.0.1:9000/resposta", "--internal", *deployed])
    capsys.readouterr()
    assert main(["destinations", "list", *deployed]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    assert (refused, internal) == (2, 0)
    assert "private address" in message
    assert (row["id"], row["internal"], row["parked"]) == ("lan", True, 0)
    secret = local_aws.client("secretsmanager", stack.endpoint_url).describe_secret(
        SecretId=f"{stack.stack_name}-deployed/destinations/lan"
    )
    assert secret["Name"].startswith(outputs["DestinationSecretPrefix"])


def test_tasks_of_a_removed_destination_are_dropped_and_of_a_disabled_one_parked(engine: Engine) -> None:
    with receiver() as removed, receiver() as paused:
        add(engine.hub, "removed", removed.url)
        add(engine.hub, "paused", paused.url)
        assert invoke(engine.stack, message("5511900000002@s.whatsapp.net", 1)).status == 200
        engine.dispatch()
        destinations_cmd.remove_destination(engine.hub, "removed")
        engine.hub.store().set_enabled("paused", False, "maintenance")

        engine.forward()

    assert (removed.requests, paused.requests) == ([], [])
    assert sorted(o.step.action for o in engine.outcomes) == ["dropped", "park"]
    (parked,) = list_parked(engine.hub.queue())
    assert (parked.task.destination_id, parked.reason) == ("paused", "destination disabled (maintenance)")
    assert receive(engine.sqs, engine.hub.resources.delivery_queue_url, wait_seconds=0) == []


def test_a_notification_whose_tasks_cannot_be_queued_stays_in_the_intake_queue(engine: Engine) -> None:
    add(engine.hub, "horse", "http://127.0.0.1:9/resposta")
    assert invoke(engine.stack, message("5511900000002@s.whatsapp.net", 1)).status == 200
    messages = receive(engine.sqs, engine.hub.resources.intake_queue_url, wait_seconds=0)
    gone = TaskQueue(engine.sqs, engine.hub.resources.delivery_queue_url + "-missing", "")
    records = [*lambda_event(messages, "")["Records"], {"messageId": "junk", "body": "not a notification"}]

    report = dispatch(records, enabled_destinations(engine.hub.store()), gone, now=engine.clock())

    assert report.failed_records == [messages[0]["MessageId"]]
    assert (report.tasks, report.unreadable) == (0, 1)
