"""Warm cost: one long-lived process answering many webhooks, AWS answered by bench/stub_aws.py on 127.0.0.1.

Per event, measured around ``app.lambda_handler`` (Powertools' logging and metrics decorators included):

- wall time;
- this thread's CPU time (``time.thread_time``), split into
  - **our own**: everything outside botocore's API calls: routing, authentication, parsing, validation,
    classification, redaction, the item, the notification, logging, metrics, and raising/catching errors;
  - **botocore**: inside the API calls (from ``provide-client-params`` to ``after-call``): building, signing and
    serializing the request, parsing the answer; minus the CPU of the HTTP send itself;
  - **send**: the CPU of the socket writes and reads;
- AWS wait: the wall time of the HTTP sends (the stub answers in tens of microseconds).

Every scenario's body is replayed with the stub's deduplication off, so each replay takes the new-event path
(three calls); the redelivery scenario turns it on. ``json.loads`` of the same body is the baseline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.artifact import RESULTS, Artifact, lambda_environment, run_child, stub_endpoint

TEXT_ITERATIONS = 3000
OTHER_ITERATIONS = 300


def scenario_list(token: str, iterations_scale: float) -> list[dict[str, Any]]:
    def count(base: int) -> int:
        return max(20, int(base * iterations_scale))

    built: list[dict[str, Any]] = []
    for name in scenarios.sample_names():
        document = scenarios.body(name)
        data = scenarios.raw(document)
        built.append(
            {
                "name": name,
                "event": scenarios.webhook_event(token, data),
                "body": data.decode(),
                "dedup": False,
                "iterations": count(TEXT_ITERATIONS if name == scenarios.TEXT_MESSAGE else OTHER_ITERATIONS),
            }
        )
    text = scenarios.body(scenarios.TEXT_MESSAGE)
    built.append(
        {
            "name": "redelivery (published)",
            "event": scenarios.webhook_event(token, text),
            "body": scenarios.raw(text).decode(),
            "dedup": True,
            "iterations": count(TEXT_ITERATIONS),
        }
    )
    large = scenarios.large_body()
    built.append(
        {
            "name": "large body (S3)",
            "event": scenarios.webhook_event(token, large),
            "body": scenarios.raw(large).decode(),
            "dedup": False,
            "iterations": count(OTHER_ITERATIONS // 3),
        }
    )
    unknown = scenarios.unclassified_body()
    built.append(
        {
            "name": "unclassified",
            "event": scenarios.webhook_event(token, unknown),
            "body": scenarios.raw(unknown).decode(),
            "dedup": False,
            "iterations": count(OTHER_ITERATIONS),
        }
    )
    return built


def measure(
    artifact: Artifact,
    function_environment: dict[str, str],
    token: str,
    iterations_scale: float = 1.0,
    only: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Every scenario, or those named in ``only``."""
    secret = json.dumps({"current": token, "previous": ""})
    stub, url = stub_endpoint(artifact, secret, lifetime=900)
    try:
        RESULTS.mkdir(parents=True, exist_ok=True)
        chosen = scenario_list(token, iterations_scale)
        spec = {
            "scenarios": [scenario for scenario in chosen if not only or scenario["name"] in only],
            "warmup_event": scenarios.webhook_event(token, scenarios.body(scenarios.TEXT_MESSAGE)),
            "log_file": str(Path(RESULTS) / "warm-function-logs.jsonl"),
        }
        return run_child(artifact, "warm", spec, lambda_environment(url, function_environment))
    finally:
        stub.terminate()
        stub.wait(timeout=10)
