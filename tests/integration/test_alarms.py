"""Every alarm of template.yaml fires on metric data that crosses it and stays quiet on data that does not.

The data is what CloudWatch would receive: the EMF documents the real handlers print (an unauthorised call, a
publish that fails, a recovery sweep that cannot publish), the access-log lines a metric filter reads, and,
for metrics the code emits elsewhere, samples of the same identity. ``alarm_evaluation`` evaluates them as
CloudWatch documents it (moto never evaluates an alarm). Timestamps are placed in simulated periods.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webhook_hub import errors
from webhook_hub_cli import local_aws
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import LambdaContext

from . import alarm_evaluation as cw
from .conftest import invoke, sample

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_790_000_000.0
"""The simulated evaluation time (seconds since the epoch, on a period boundary of 60 and 300 s)."""
AWS_METRICS = {
    "AWS/ApiGateway": {"4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"},
    "AWS/Lambda": {"Errors", "Throttles", "Invocations", "Duration", "ConcurrentExecutions"},
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"},
}
"""The AWS metrics an alarm may watch (HTTP API and Lambda metric lists of their developer guides)."""


def template_alarms() -> dict[str, dict[str, Any]]:
    resources = stack_template.load()["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def alarm(name: str) -> cw.Alarm:
    refs = {
        "HttpApi": "api-id",
        "IngestFunction": "ingest-fn",
        "RecoverFunction": "recover-fn",
        "ParkedQueue.QueueName": "parked",
        "DeliveryDeadLetterQueue.QueueName": "forwarding-dead.fifo",
    }
    return cw.Alarm.from_template(name, template_alarms()[name], refs)


def placed(identity: cw.Sample, alarm_: cw.Alarm, periods: list[list[float]]) -> list[cw.Sample]:
    """Samples like ``identity`` with the given values in each period of the evaluation range (oldest first)."""
    assert len(periods) == alarm_.evaluation_periods + cw.EVALUATION_RANGE_EXTRA, "one list per period of the range"
    start = NOW - len(periods) * alarm_.period
    return [
        cw.Sample(identity.namespace, identity.name, identity.dimensions, start + index * alarm_.period + 1, value)
        for index, values in enumerate(periods)
        for value in values
    ]


# --- The evaluator against the CloudWatch User Guide's own table -----------------------------------------

GUIDE_TABLE = [
    # data points (oldest first: 0 within, X breaching, - missing), then MISSING, IGNORE, BREACHING, NOT BREACHING
    ("0-X-X", "OK", "OK", "OK", "OK"),
    ("0----", "OK", "OK", "OK", "OK"),
    ("-----", "INSUFFICIENT_DATA", "current", "ALARM", "OK"),
    ("0XX-X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("--X--", "ALARM", "current", "ALARM", "OK"),
]


@pytest.mark.parametrize("row", GUIDE_TABLE, ids=[row[0] for row in GUIDE_TABLE])
@pytest.mark.parametrize("treat", ["missing", "ignore", "breaching", "notBreaching"])
def test_the_evaluator_gives_the_guides_state_for_missing_data(row: tuple[str, ...], treat: str) -> None:
    three_of_three = cw.Alarm("guide", "N", "M", (), "Maximum", 60, 3, 3, 3.0, "GreaterThanThreshold", treat)
    points: list[float | None] = [{"0": 1.0, "X": 5.0, "-": None}[mark] for mark in row[0]]
    expected = row[1 + ["missing", "ignore", "breaching", "notBreaching"].index(treat)]

    for current in ("OK", "ALARM"):
        assert cw.evaluate(three_of_three, points, current) == (current if expected == "current" else expected)


def test_the_evaluator_applies_the_statistic_per_period_and_m_of_n() -> None:
    two_of_three = cw.Alarm("m-of-n", "N", "M", (), "Sum", 300, 3, 2, 10.0, "GreaterThanOrEqualToThreshold", "missing")
    identity = cw.Sample("N", "M", (), 0, 1)

    assert cw.state(two_of_three, placed(identity, two_of_three, [[], [], [5] * 2, [9], [4] * 3]), at=NOW) == "ALARM"
    assert cw.state(two_of_three, placed(identity, two_of_three, [[], [], [9], [9], [9]]), at=NOW) == "OK"
    other = cw.Sample("N", "M", (("service", "x"),), 0, 1)  # another dimension set is another metric
    assert cw.state(two_of_three, placed(other, two_of_three, [[10], [10], [10], [10], [10]]), at=NOW) == (
        "INSUFFICIENT_DATA"
    )


def test_the_filter_matcher_refuses_what_it_cannot_read() -> None:
    assert cw.json_filter('{ $.status = "413" }')({"status": "413"})
    assert not cw.json_filter('{ $.status = "413" }')({"status": "200"})
    assert cw.json_filter('{ $.a = "1" || $.b = 2 }')({"b": 2})
    with pytest.raises(ValueError, match="unsupported"):
        cw.json_filter("{ $.status = 4* }")


# --- Samples the real handlers print --------------------------------------------------------------------


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], Any]], list[cw.Sample]]:
    """Runs a call and returns the CloudWatch samples of the EMF documents it printed."""
    import recover

    import app

    # The template sets POWERTOOLS_SERVICE_NAME; the tests' process imported the handlers without it.
    monkeypatch.setattr(app.metrics.provider, "service", "webhook-hub")
    monkeypatch.setattr(app.by_topic, "service", "webhook-hub")
    monkeypatch.setattr(recover.metrics.provider, "service", "webhook-hub")

    def run(call: Callable[[], Any]) -> list[cw.Sample]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            call()
        documents = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
        return [s for document in documents if "_aws" in document for s in cw.samples_from_emf(document)]

    return run


def only(samples: list[cw.Sample], name: str) -> cw.Sample:
    (found,) = [s for s in samples if s.name == name]
    return found


@pytest.fixture
def real_samples(
    stack: local_aws.LocalStack, emf: Callable[[Callable[[], Any]], list[cw.Sample]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, cw.Sample]:
    """One sample per metric, each printed by a real handler: a wrong token, a failed publish, a failed sweep."""
    import recover

    import app

    monkeypatch.setenv("RECOVERY_DELAY_SECONDS", "0")  # the failed event is due for the sweep at once
    monkeypatch.setenv("PUBLISH_LEASE_SECONDS", "0")
    app._ingest.cache_clear()
    unauthorized = emf(lambda: invoke(stack, sample("reference/call.json"), path="/webhook/not-the-token"))
    local_aws.client("sns", stack.endpoint_url).delete_topic(TopicArn=stack.topic_arns["Call"])
    answers: list[int] = []
    publish_failed = emf(lambda: answers.append(invoke(stack, sample("reference/call.json")).status))
    assert answers == [503], "the topic is gone: the event is stored, its publication failed"
    time.sleep(1.01)  # sweep_at, whole seconds, has passed
    context = LambdaContext("recover", timeout_seconds=stack_template.function_timeout("RecoverFunction"))
    reports: list[dict[str, int]] = []
    sweep = emf(lambda: reports.append(recover.lambda_handler({}, context)))
    assert reports[0]["failed_attempts"] == 1, reports
    return {
        "Unauthorized": only(unauthorized, "Unauthorized"),
        "PublishFailed": only(publish_failed, "PublishFailed"),
        "RecoveryFailed": only(sweep, "RecoveryFailed"),
    }


def test_handlers_print_the_metrics_the_alarms_watch(real_samples: dict[str, cw.Sample]) -> None:
    by_metric = {a.metric: a for a in map(alarm, template_alarms())}
    for name, printed in real_samples.items():
        assert by_metric[name].watches(printed), (name, printed, by_metric[name])
    assert real_samples["Unauthorized"].value == 1.0
    assert real_samples["RecoveryFailed"].value == 1.0


# Each new alarm: periods of the evaluation range (oldest first) that fire it, and ones that must not.
SCENARIOS: dict[str, tuple[list[list[float]], list[list[float]]]] = {
    # a sender with a stale token: one 401 per event, period after period; a scanner's few do not alarm,
    # nor does one burst
    "UnauthorizedCallsAlarm": ([[], [2], [12], [1], [11]], [[3], [2], [4], [1], [30]]),
    "TokenMisconfiguredAlarm": ([[], [], [1]], [[], [], []]),
    # every sweep reports RecoveryFailed; two failing sweeps in a row alarm, one transient failure does not
    "RecoveryFailuresAlarm": ([[0], [0], [1], [2]], [[0], [0], [1], [0]]),
    "FailedEventsAlarm": ([[0], [0], [3]], [[0], [0], [0]]),
    "OldestPendingAgeAlarm": ([[100], [300], [950], [1250]], [[100], [1000], [200], [130]]),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_alarm_fires_on_data_that_crosses_it(name: str, real_samples: dict[str, cw.Sample]) -> None:
    watched = alarm(name)
    identity = real_samples.get(watched.metric) or cw.Sample(
        watched.namespace, watched.metric, watched.dimensions, 0, 1
    )
    firing, quiet = SCENARIOS[name]

    assert cw.state(watched, placed(identity, watched, firing), at=NOW) == "ALARM"
    assert cw.state(watched, placed(identity, watched, quiet), at=NOW) == "OK"
    assert watched.treat_missing == "notBreaching", "these metrics are only emitted when something happens"
    assert cw.state(watched, [], at=NOW) == "OK"


@pytest.mark.parametrize("name", sorted(template_alarms()))
def test_every_alarm_fires_at_its_threshold_and_not_below(name: str) -> None:
    watched = alarm(name)
    identity = cw.Sample(watched.namespace, watched.metric, watched.dimensions, 0, 1)
    quiet_periods = watched.evaluation_periods + cw.EVALUATION_RANGE_EXTRA - watched.datapoints_to_alarm
    just_below = watched.threshold - 1

    crossing = [[0.0]] * quiet_periods + [[watched.threshold]] * watched.datapoints_to_alarm
    below = [[just_below]] * (quiet_periods + watched.datapoints_to_alarm)
    one_short = [[0.0]] * (quiet_periods + 1) + [[watched.threshold]] * (watched.datapoints_to_alarm - 1)
    assert cw.state(watched, placed(identity, watched, crossing), at=NOW) == "ALARM"
    assert cw.state(watched, placed(identity, watched, below), at=NOW) == "OK"
    assert cw.state(watched, placed(identity, watched, one_short), at=NOW) == "OK"


# --- Bodies too large for Lambda: the access log, the metric filter, the alarm --------------------------


def access_log(context: dict[str, str]) -> str:
    log_format: str = stack_template.load()["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    return cw.access_log_line(log_format, context)


def oversize_filter() -> dict[str, Any]:
    resources = stack_template.load()["Resources"]
    (found,) = [r for r in resources.values() if r["Type"] == "AWS::Logs::MetricFilter"]
    assert found["Properties"]["LogGroupName"] == {"Ref": "HttpApiAccessLogs"}
    properties: dict[str, Any] = found["Properties"]
    return properties


ROUTE = {"$context.routeKey": "POST /webhook/{proxy+}", "$context.requestId": "r"}
TOO_LARGE = {**ROUTE, "$context.status": "413", "$context.integrationStatus": "413"}
"""An event over Lambda's 6 MB: Lambda refuses the invoke (413) and API Gateway answers 413; the function never ran."""
ANSWERED = [
    {**ROUTE, "$context.status": status, "$context.integrationStatus": "200", "$context.integration.status": status}
    for status in ("200", "401", "503")
]


def test_an_oversize_body_fires_the_oversize_alarm() -> None:
    watched = alarm("OversizeBodiesAlarm")
    period_start = NOW - 3 * watched.period
    events = [(period_start + 10, access_log(context)) for context in ANSWERED]
    events += [(NOW - 100, access_log(ANSWERED[0])), (NOW - 50, access_log(TOO_LARGE))]
    samples = cw.samples_from_metric_filter(oversize_filter(), events)

    assert json.loads(access_log(TOO_LARGE))["integrationStatus"] == "413"
    assert cw.state(watched, samples, at=NOW) == "ALARM"
    assert cw.state(watched, samples[:-1], at=NOW) == "OK", "answers of the function do not count"
    assert {s.value for s in samples} == {0.0, 1.0}


def test_the_function_answering_413_would_count_too() -> None:
    """A 413 is a body too large whoever answered it (the function's own limit, or the local runner's)."""
    own = {**ROUTE, "$context.status": "413", "$context.integrationStatus": "200", "$context.integration.status": "413"}
    (counted,) = cw.samples_from_metric_filter(oversize_filter(), [(NOW - 1, access_log(own))])
    assert counted.value == 1.0


# --- Every alarm watches a metric that exists ------------------------------------------------------------


def emitted_metric_names() -> set[str]:
    """Metric names the code adds: ``add_metric(name="...")`` literals, and error class names (``_rejected``)."""
    names = set()
    sources = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "layers" / "hub" / "webhook_hub").rglob("*.py")]
    for path in sources:
        module = ast.parse(path.read_text(encoding="utf-8"))
        constants = {  # NAME = "..." at module level, for add_metric(name=NAME)
            target.id: node.value.value
            for node in module.body
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Constant)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(module):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.add(str(keyword.value.value))
                    elif (
                        keyword.arg == "name" and isinstance(keyword.value, ast.Name) and keyword.value.id in constants
                    ):
                        names.add(str(constants[keyword.value.id]))
    names |= {
        cls.__name__ for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.HubError)
    }
    return names


def test_every_alarm_watches_a_metric_the_code_a_filter_or_aws_emits() -> None:
    resources = stack_template.load()["Resources"]
    environment = stack_template.function_environment(stack_template.load())
    filtered = {
        t["MetricName"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        for t in r["Properties"]["MetricTransformations"]
    }
    emitted = emitted_metric_names()
    unknown = []
    for name, properties in template_alarms().items():
        namespace, metric = properties["Namespace"], properties["MetricName"]
        if namespace in AWS_METRICS:
            known = metric in AWS_METRICS[namespace]
        elif metric in filtered:
            known = namespace == "WebhookHub" and "Dimensions" not in properties
        else:
            service = [{"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}]
            known = (
                namespace == environment["POWERTOOLS_METRICS_NAMESPACE"]
                and properties.get("Dimensions") == service
                and metric in emitted
            )
        if not known:
            unknown.append(f"{name}: {namespace}/{metric}")
    assert not unknown, f"alarms on metrics nothing emits: {unknown}; emitted: {sorted(emitted)}"


def test_the_emitted_names_are_read_from_the_code() -> None:
    emitted = emitted_metric_names()
    assert {"Unauthorized", "PublishFailed", "RecoveryFailed", "Recovered", "EventsByTopic"} <= emitted
    assert "NoSuchMetric" not in emitted
