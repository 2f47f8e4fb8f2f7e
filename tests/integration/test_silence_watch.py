"""The silence watch against moto: over simulated days it reads the stored events, alerts and clears on the alerts
topic, and writes only its own table, one item per instance."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from webhook_hub.aws import clients
from webhook_hub.aws.alerts import Alerts
from webhook_hub.aws.event_store import EventStore
from webhook_hub.aws.watch_store import WatchStore
from webhook_hub.core.classify import classify
from webhook_hub.core.redact import redact
from webhook_hub.core.values import compact_json
from webhook_hub.record import build_item
from webhook_hub.silence_watch import WatchReport, watch_instances
from webhook_hub_cli import local_aws
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import LambdaContext

from .conftest import receive_all, sample, scan_items

MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
FLOOR = 2 * 3_600


class Watcher:
    def __init__(self, stack: local_aws.LocalStack) -> None:
        self.stack = stack
        self.watch_table = f"{stack.stack_name}-watch"
        local_aws.client("dynamodb", stack.endpoint_url).create_table(
            **stack_template.table_definition(stack_template.load(), self.watch_table, "WatchTable")
        )
        sns = local_aws.client("sns", stack.endpoint_url)
        self.topic_arn: str = sns.create_topic(Name=f"{stack.stack_name}-alerts")["TopicArn"]
        sqs = local_aws.client("sqs", stack.endpoint_url)
        self.queue_url: str = sqs.create_queue(QueueName=f"{stack.stack_name}-alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        self.store = EventStore(stack.table_name, clients.dynamodb())

    def store_upsert(self, received_at: datetime, instance: str = "loja-centro") -> None:
        """The item the ingest path writes for a new upsert received then."""
        body = sample("reference/messages-upsert-text.json")
        body["instance"] = instance
        body["data"]["key"]["id"] = f"{instance}-{received_at.timestamp():.0f}"
        self._store(body, received_at)

    def store_connection(self, received_at: datetime, state: str) -> None:
        body = sample("reference/connection-update-close.json")
        body["data"]["state"] = state
        body["date_time"] = received_at.isoformat()
        self._store(body, received_at)

    def _store(self, body: dict[str, Any], received_at: datetime) -> None:
        c = classify(json.dumps(body))
        item = build_item(
            c,
            received_at=received_at,
            payload_json=compact_json(redact(c.payload)),
            payload_ref=None,
            lease_until=0,
            sweep_at=0,
            retention_days=30,
        )
        assert self.store.put_new(item).created

    def run(self, now: datetime, floor: float = FLOOR) -> WatchReport:
        return watch_instances(
            self.store,
            WatchStore(self.watch_table, clients.dynamodb()),
            Alerts(self.topic_arn, clients.sns()),
            now=now,
            floor_seconds=floor,
        )

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(message["Body"]) for message in receive_all(self.stack, self.queue_url)]

    def watch_items(self) -> list[dict[str, Any]]:
        dynamodb = local_aws.client("dynamodb", self.stack.endpoint_url)
        items: list[dict[str, Any]] = dynamodb.scan(TableName=self.watch_table)["Items"]
        return items


@pytest.fixture
def watcher(stack: local_aws.LocalStack) -> Watcher:
    return Watcher(stack)


def _shop_day(watcher: Watcher, day: int, *, until_hour: float = 20, from_hour: float = 8) -> None:
    """A message every 30 minutes between the hours on the day."""
    moment = MONDAY + timedelta(days=day, hours=from_hour)
    while moment <= MONDAY + timedelta(days=day, hours=until_hour):
        watcher.store_upsert(moment)
        moment += timedelta(minutes=30)


def _every(hours: float, watcher: Watcher, start: datetime, end: datetime) -> list[WatchReport]:
    reports = []
    while start <= end:
        reports.append(watcher.run(start))
        start += timedelta(hours=hours)
    return reports


def test_it_learns_the_nights_alerts_on_a_daytime_silence_and_clears(watcher: Watcher) -> None:
    watcher.store_connection(MONDAY + timedelta(hours=7, minutes=55), "open")
    for day in range(9):  # Monday to the next Tuesday
        _shop_day(watcher, day)
    _shop_day(watcher, 9, until_hour=10.75)  # Wednesday: nothing from 11:00...
    events = len(scan_items(watcher.stack))

    quiet = _every(3, watcher, MONDAY + timedelta(days=1, hours=8), MONDAY + timedelta(days=9, hours=12))

    assert [report.alerted for report in quiet if report.alerted] == []
    assert watcher.alerts() == []
    alert = watcher.run(MONDAY + timedelta(days=9, hours=13))  # 2 h 30 min without a message
    assert (alert.alerted, alert.silent, alert.watched) == (["loja-centro"], ["loja-centro"], 1)
    (mail,) = watcher.alerts()
    assert mail["Subject"] == "Webhook Hub: instance loja-centro is connected but silent"
    assert "has sent no message for 2 h 30 min" in mail["Message"]
    assert watcher.run(MONDAY + timedelta(days=9, hours=14)).alerted == []  # one alert per silence

    _shop_day(watcher, 9, from_hour=16)  # ...to 16:00
    cleared = watcher.run(MONDAY + timedelta(days=9, hours=16, minutes=10))

    assert (cleared.cleared, cleared.silent) == (["loja-centro"], [])
    (mail,) = watcher.alerts()
    assert mail["Subject"] == "Webhook Hub: instance loja-centro is receiving messages again"
    (instance_item,) = [item for item in watcher.watch_items() if item["pk"]["S"] != "cursor"]
    assert instance_item["connection"]["S"] == "open"
    assert len(watcher.watch_items()) == 2  # the instance and the cursor: nothing per event
    assert len(scan_items(watcher.stack)) == events + 9  # the watch wrote nothing into the events table


def test_a_disconnected_instance_is_not_alerted_and_a_zero_floor_reads_nothing(watcher: Watcher) -> None:
    for day in range(8):
        _shop_day(watcher, day)
    _shop_day(watcher, 8, until_hour=10.75)
    watcher.store_connection(MONDAY + timedelta(days=8, hours=10, minutes=50), "close")

    off = watcher.run(MONDAY + timedelta(days=8, hours=16), floor=0)
    assert (off.watched, watcher.watch_items()) == (0, [])

    reports = _every(1, watcher, MONDAY + timedelta(days=8, hours=12), MONDAY + timedelta(days=8, hours=18))

    assert [report.alerted for report in reports if report.alerted] == []
    assert reports[-1].caught_up
    assert reports[-1].watched == 0
    assert watcher.alerts() == []


def test_the_first_run_catches_up_on_a_week_before_deciding(watcher: Watcher) -> None:
    for day in range(7):
        _shop_day(watcher, day)
    now = MONDAY + timedelta(days=7, hours=13)  # Monday: no message today yet

    reports = [watcher.run(now) for _ in range(5)]

    assert [report.caught_up for report in reports] == [False, False, False, True, True]
    assert reports[3].alerted == ["loja-centro"]  # the night is learned, a Monday morning without messages is not


def test_the_handler_reads_its_settings_and_reports(watcher: Watcher, monkeypatch: pytest.MonkeyPatch) -> None:
    import watch

    monkeypatch.setenv("WATCH_TABLE_NAME", watcher.watch_table)
    monkeypatch.setenv("ALERTS_TOPIC_ARN", watcher.topic_arn)
    monkeypatch.setenv("SILENCE_FLOOR_MINUTES", "120")

    result = watch.lambda_handler({}, LambdaContext(function_name="webhook-hub-watch"))

    assert result == {"watched": 0, "silent": [], "alerted": [], "cleared": [], "caught_up": False}
    (cursor,) = watcher.watch_items()
    assert cursor["pk"]["S"] == "cursor"


def test_a_watch_off_for_weeks_relearns_instead_of_learning_the_pause(watcher: Watcher) -> None:
    for day in range(8):
        _shop_day(watcher, day)
    before = [watcher.run(MONDAY + timedelta(days=7, hours=12)) for _ in range(5)]
    for day in range(28, 37):  # the alarm was off (SilenceFloorMinutes 0) from day 7 to day 36
        _shop_day(watcher, day)

    after = [watcher.run(MONDAY + timedelta(days=36, hours=12)) for _ in range(5)]

    assert (before[-1].caught_up, before[-1].watched, before[-1].silent) == (True, 1, [])
    assert [report.caught_up for report in after] == [False, False, False, True, True]
    assert [report.alerted for report in after if report.alerted] == []
    (item,) = [item for item in watcher.watch_items() if item["pk"]["S"] != "cursor"]
    gaps = json.loads(item["gaps"]["S"])
    assert gaps
    assert max(end - start for start, end in gaps) == 12 * 3_600  # nights; nothing of the weeks without reading
    assert min(start for start, _end in gaps) >= (MONDAY + timedelta(days=29)).timestamp()
