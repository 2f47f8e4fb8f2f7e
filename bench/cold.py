"""Cold start: fresh python3.13 processes, the built function against a baseline that only sets up boto3.

Each round runs every configuration once, in an order rotated per round, so drift in the machine's load (other
work on its two cores) falls on all of them alike; medians over the rounds are reported.

- ``baseline``: ``import boto3`` and create the DynamoDB and SNS clients: the least any Python function that
  stores and publishes must do.
- ``floor``: boto3, the three clients and the four calls of a first event (secret, write, publish, mark), with
  none of the hub's code: what any implementation of this flow pays; the hub's own share is what lies above it.
- ``as-built``: the function as ``sam build`` ships it (the layer with its bytecode, the function as sources, which
  Lambda compiles on every cold start, its file system being read-only), importing ``app`` then answering a new
  ``messages.upsert`` against moto.
- ``bytecode``: the same with the function's bytecode too.
- ``bytecode, stub AWS``: the same against bench/stub_aws.py, showing how much of the first event is moto.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from bench import scenarios
from bench.artifact import Artifact, lambda_environment, run_child

CONFIGURATIONS = ("baseline", "floor", "as-built", "bytecode", "bytecode, stub AWS")


@dataclass
class ColdRuns:
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in CONFIGURATIONS})
    process_ms: dict[str, list[float]] = field(default_factory=lambda: {name: [] for name in CONFIGURATIONS})

    def median(self, configuration: str, key: str) -> float:
        return round(float(statistics.median(run[key] for run in self.runs[configuration])), 1)

    def process_median(self, configuration: str) -> float:
        return round(statistics.median(self.process_ms[configuration]), 1)


def measure(
    artifacts: dict[str, Artifact],
    function_environment: dict[str, str],
    token: str,
    *,
    moto_url: str,
    stub_url: str,
    rounds: int,
) -> ColdRuns:
    results = ColdRuns()
    moto_env = lambda_environment(moto_url, function_environment)
    stub_env = lambda_environment(stub_url, function_environment)
    template = scenarios.body(scenarios.TEXT_MESSAGE)
    for round_number in range(rounds):
        shift = round_number % len(CONFIGURATIONS)
        order = CONFIGURATIONS[shift:] + CONFIGURATIONS[:shift]
        for position, configuration in enumerate(order):
            message = scenarios.with_message_id(template, f"BENCHCOLD{round_number:04d}{position:02d}{time.time_ns()}")
            spec = {"event": scenarios.webhook_event(token, message), "pk": message["data"]["key"]["id"]}
            artifact = artifacts["as-built" if configuration == "as-built" else "bytecode"]
            mode = configuration if configuration in ("baseline", "floor") else "cold"
            environment = stub_env if configuration.endswith("stub AWS") else moto_env
            started = time.perf_counter()
            result = run_child(artifact, mode, spec, environment)
            results.process_ms[configuration].append((time.perf_counter() - started) * 1000)
            if mode == "cold" and (result["status"], result["answer"]) != (200, "accepted"):
                raise RuntimeError(f"cold start {configuration}: the webhook was answered {result}")
            results.runs[configuration].append(result)
    return results


@dataclass(frozen=True)
class ImportLine:
    module: str
    self_us: int
    cumulative_us: int


def import_profile(artifact: Artifact, environment: dict[str, str], token: str, top: int = 15) -> list[ImportLine]:
    """``python -X importtime`` of ``import app`` plus the first event: the slowest top-level imports."""
    spec = {"event": scenarios.webhook_event(token, scenarios.body(scenarios.TEXT_MESSAGE))}
    flags = [*artifact.python_flags, "-X", "importtime"]
    completed = run_child(artifact, "cold", spec, environment, flags=flags, keep_stderr=True)["stderr"]
    lines: list[ImportLine] = []
    for match in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", completed):
        self_us, cumulative_us, indent, module = match.groups()
        if len(indent) <= 2:  # imports made by the child, the handler or botocore at first use (depth 0 and 1)
            lines.append(ImportLine(module, int(self_us), int(cumulative_us)))
    return sorted(lines, key=lambda line: line.cumulative_us, reverse=True)[:top]
