"""The CloudWatch dashboard names only metrics that exist: ones our functions emit, or AWS's own for the API and
the functions, with the dimensions they are emitted with."""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from webhook_hub import errors, ingest
from webhook_hub_cli import template as stack_template

ROOT = Path(__file__).resolve().parents[2]
AWS_METRICS = {
    "AWS/ApiGateway": {"4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"},
    "AWS/Lambda": {"Errors", "Throttles", "Duration", "Invocations", "ConcurrentExecutions"},
}
"""The metrics AWS publishes for HTTP APIs (dimension ApiId) and Lambda functions (FunctionName) that we chart."""
AWS_DIMENSIONS = {"AWS/ApiGateway": ("ApiId", "${HttpApi}"), "AWS/Lambda": ("FunctionName", None)}
RECOVERY_SWEEP_GAUGES = {"PendingEvents", "OldestPendingAgeSeconds", "EventsFailed"}
"""What the recovery sweep reports on the backlog: charted, and checked against the code like every metric."""


def _literal_metric_names() -> Iterator[str]:
    """Every ``add_metric(name="...")`` with a literal name in the functions and the library."""
    for path in [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/hub/webhook_hub/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        yield str(keyword.value.value)


def emitted_metrics() -> set[str]:
    """Names the code emits: literals, each outcome's name (``Accepted``...), each refusal's class name."""
    outcomes = {value.capitalize() for name, value in vars(ingest).items() if name.startswith("OUTCOME_")}
    refusals = {
        cls.__name__ for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.HubError)
    }
    return set(_literal_metric_names()) | outcomes | refusals


def dashboard_metrics(template: dict[str, Any]) -> Iterator[tuple[str, str, list[str]]]:
    """Namespace, name and dimension list of every metric line, and of every SEARCH expression's metric."""
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    for widget in json.loads(body)["widgets"]:
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                expression = line[0]["expression"]
                match = re.fullmatch(r"SEARCH\('\{([^}]+)\} MetricName=\"(\w+)\"', '\w+', \d+\)", expression)
                assert match, f"unexpected expression {expression}"
                namespace, *dimensions = match.group(1).split(",")
                yield namespace, match.group(2), dimensions
            else:
                fields = [field for field in line if isinstance(field, str)]
                yield fields[0], fields[1], fields[2:]


@pytest.fixture
def template() -> dict[str, Any]:
    return copy.deepcopy(stack_template.load())


def check(template: dict[str, Any]) -> None:
    environment = stack_template.function_environment(template)
    namespace, service = environment["POWERTOOLS_METRICS_NAMESPACE"], environment["POWERTOOLS_SERVICE_NAME"]
    ours = emitted_metrics()
    charted = list(dashboard_metrics(template))
    assert charted
    for metric_namespace, name, dimensions in charted:
        if metric_namespace == namespace:
            assert name in ours, f"{name} is not emitted"
            if name == "EventsByTopic":
                assert sorted(dimensions) == ["outcome", "service", "topic"]
            else:
                assert dimensions == ["service", service], f"{name} has dimensions {dimensions}"
        else:
            assert name in AWS_METRICS.get(metric_namespace, set()), f"{metric_namespace} {name} is not an AWS metric"
            dimension, value = AWS_DIMENSIONS[metric_namespace]
            assert dimensions[0] == dimension, f"{name} has dimensions {dimensions}"
            assert value is None or dimensions[1] == value


def test_every_charted_metric_is_emitted_or_an_aws_one(template: dict[str, Any]) -> None:
    check(template)
    charted = {name for _namespace, name, _dimensions in dashboard_metrics(template)}
    assert {"EventsByTopic", "Duplicate", "Unclassified", "4xx", "5xx", "Latency", "SilentInstances"} <= charted
    assert {"Recovered", "RecoveryFailed"} | RECOVERY_SWEEP_GAUGES <= charted


def test_the_check_catches_a_misspelt_metric_and_a_wrong_dimension(template: dict[str, Any]) -> None:
    properties = template["Resources"]["Dashboard"]["Properties"]
    body = properties["DashboardBody"]["Fn::Sub"]

    properties["DashboardBody"]["Fn::Sub"] = body.replace('"Recovered"', '"Recoverd"')
    with pytest.raises(AssertionError, match="Recoverd is not emitted"):
        check(template)
    properties["DashboardBody"]["Fn::Sub"] = body.replace('"ApiId"', '"ApiName"')
    with pytest.raises(AssertionError, match="has dimensions"):
        check(template)
