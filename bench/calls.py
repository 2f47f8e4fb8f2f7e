"""AWS calls per event, counted at the botocore level (``before-send`` on the hub's clients), against moto.

One container (one child process) answers the scenarios in order, as a real one would: the first event also
reads the token secret, later ones find it cached. Moto gives real conditional writes, so a redelivery really
finds its item; deleting a topic makes a publish really fail.
"""

from __future__ import annotations

from typing import Any

from bench import scenarios
from bench.artifact import Artifact, lambda_environment, run_child

TARGETS = {"new event": 3, "redelivery (published)": 1}
"""The issue's targets: at most this many calls."""


def scenario_list(token: str, topic_arn_prefix: str, stack_name: str) -> list[dict[str, Any]]:
    text = scenarios.with_message_id(scenarios.body(scenarios.TEXT_MESSAGE), "BENCHCALLS000000000000000000001")
    second = scenarios.with_message_id(text, "BENCHCALLS000000000000000000002")
    failing = scenarios.with_message_id(text, "BENCHCALLS000000000000000000003")
    topic = "MessagesUpsert"

    def event(document: dict[str, Any] | bytes) -> dict[str, Any]:
        return scenarios.webhook_event(token, document)

    return [
        {"name": "first event of a container", "event": event(text)},
        {"name": "new event", "event": event(second)},
        {"name": "redelivery (published)", "event": event(second)},
        {"name": "large body (S3)", "event": event(scenarios.large_body())},
        {"name": "unclassified", "event": event(scenarios.unclassified_body())},
        {"name": "not JSON (quarantined)", "event": event(b'{"event": "messages.upsert", "data": ')},
        {
            "name": "wrong token",
            "event": scenarios.webhook_event("x" * 40, text),
        },
        {
            "name": "SNS failing (503)",
            "event": event(failing),
            "delete_topic": topic_arn_prefix + topic,
        },
        {
            "name": "redelivery after a failed publish",
            "event": event(failing),
            "create_topic": f"{stack_name}-event-{topic}",
        },
        {"name": "redelivery (published, again)", "event": event(failing)},
    ]


def measure(
    artifact: Artifact, function_environment: dict[str, str], token: str, moto_url: str, stack_name: str
) -> dict[str, Any]:
    spec = {"scenarios": scenario_list(token, function_environment["TOPIC_ARN_PREFIX"], stack_name)}
    result = run_child(artifact, "calls", spec, lambda_environment(moto_url, function_environment))
    result.pop("stdout_bytes", None)
    return result
