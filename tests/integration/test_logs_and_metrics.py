"""What the ingest function writes to its log stream per webhook: the Powertools log line and the EMF documents.

docs/operations.md lists these fields, metric names and dimensions; dashboards, alarms and Logs Insights queries
depend on them, so they are pinned here on the lines the real handler prints.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities import jmespath_utils

from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import LambdaContext, http_api_event

from .conftest import sample


@pytest.fixture
def handle(stack: local_aws.LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, Any]], Seen]]:
    """Runs the real handler on a body and returns what it wrote: the log handler's stream and ``print``'s."""
    import app

    # The template sets POWERTOOLS_SERVICE_NAME; the tests' process imported the handler without it.
    monkeypatch.setattr(app.metrics.provider, "service", "webhook-hub")
    monkeypatch.setattr(app.by_topic, "service", "webhook-hub")
    handler = app.logger.logger_handler
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)

    def run(body: dict[str, Any]) -> Seen:
        raw = json.dumps(body).encode()
        event = http_api_event("POST", f"/webhook/{stack.token}", [("content-type", "application/json")], raw)
        assert event is not None
        stream.seek(0)
        stream.truncate()
        context = LambdaContext()
        with contextlib.redirect_stdout(stream):
            answer = app.lambda_handler(event, context)
        output = stream.getvalue()
        assert stack.token not in output
        lines = [json.loads(line) for line in output.splitlines()]
        emf = {metric["Name"]: line for line in lines if "_aws" in line for metric in _directive(line)["Metrics"]}
        return Seen(answer, event, context, emf, [line for line in lines if "_aws" not in line], len(lines))

    yield run
    handler.setStream(previous)


@dataclass
class Seen:
    answer: dict[str, Any]
    event: dict[str, Any]
    context: LambdaContext
    emf: dict[str, dict[str, Any]]
    """EMF documents by metric name."""
    logs: list[dict[str, Any]]
    lines: int


def _directive(line: dict[str, Any]) -> dict[str, Any]:
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert isinstance(directive, dict)
    return directive


def test_a_new_event_writes_one_log_line_and_two_emf_documents(handle: Callable[[dict[str, Any]], Seen]) -> None:
    seen = handle(sample("reference/messages-upsert-text.json"))
    assert seen.answer["statusCode"] == 200
    assert seen.lines == 3

    by_topic = seen.emf["EventsByTopic"]
    assert _directive(by_topic) == {
        "Namespace": "WebhookHub",
        "Dimensions": [["topic", "outcome", "service"]],
        "Metrics": [{"Name": "EventsByTopic", "Unit": "Count"}],
    }
    assert (by_topic["topic"], by_topic["outcome"]) == ("MessagesUpsert", "accepted")
    assert by_topic["service"] == "webhook-hub"
    assert by_topic["EventsByTopic"] == [1.0]

    accepted = seen.emf["Accepted"]
    assert _directive(accepted) == {
        "Namespace": "WebhookHub",
        "Dimensions": [["service"]],
        "Metrics": [{"Name": "Accepted", "Unit": "Count"}],
    }
    assert "topic" not in accepted
    assert (accepted["service"], accepted["Accepted"]) == ("webhook-hub", [1.0])

    (line,) = seen.logs
    context = seen.context
    assert (line["level"], line["message"]) == ("INFO", "webhook handled")
    assert line["correlation_id"] == seen.event["requestContext"]["requestId"]
    assert (line["function_request_id"], line["function_name"]) == (context.aws_request_id, context.function_name)
    assert isinstance(line["cold_start"], bool)
    assert {"timestamp", "location", "service", "function_arn", "function_memory_size"} <= set(line)
    assert (line["event_type"], line["outcome"]) == ("messages.upsert", "accepted")
    assert line["event_id"] == json.loads(seen.answer["body"])["event_id"]


def test_a_redelivery_counts_by_topic_as_duplicate(handle: Callable[[dict[str, Any]], Seen]) -> None:
    body = sample("reference/call.json")
    handle(body)
    again = handle(body)
    assert set(again.emf) == {"EventsByTopic", "Duplicate"}
    assert (again.emf["EventsByTopic"]["topic"], again.emf["EventsByTopic"]["outcome"]) == ("Call", "duplicate")
    assert again.emf["EventsByTopic"]["EventsByTopic"] == [1.0], "one count per answer, not carried over"
    assert again.logs[0]["outcome"] == "duplicate"


@pytest.mark.parametrize(
    "event",
    [
        {"requestContext": {"requestId": "ABC"}},
        {"requestContext": {"requestId": 7}},
        {"requestContext": {}},
        {"requestContext": None},
        {"requestContext": ["requestId"]},
        {"requestContext": "requestId"},
        {},
        [],
        "not an event",
    ],
)
def test_correlation_id_is_what_the_powertools_path_selects(event: Any) -> None:
    import app

    assert app._correlation_id(event) == jmespath_utils.query(envelope=correlation_paths.API_GATEWAY_HTTP, data=event)
