"""Tooling of the reliability suite: sizes, requests, the sender's retry schedule, containers, the local hub.

Sizes: the CI run uses the first number of ``scaled(ci, full)``; ``WEBHOOK_HUB_FULL=1`` the second. Every
process started here is stopped by its pid in ``stop()``, which the fixtures call in their finalizers.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from webhook_hub.aws.event_store import RECOVERY_CURSOR_PK
from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import http_api_event

ROOT = Path(__file__).resolve().parents[2]
BODIES = ROOT / "events" / "bodies"
DOC = ROOT / "docs" / "reliability.md"
FULL = os.environ.get("WEBHOOK_HUB_FULL") == "1"
RUN_KIND = "full" if FULL else "ci"
CONNECTION_FAILED = 0
"""``HubAnswer.status`` of a request that got no HTTP answer."""
NON_RETRYABLE = frozenset({400, 401, 403, 404, 422})
"""Evolution drops the event on these (contract 5.4); everything else is retried."""


def botocore_attempts() -> int:
    """Requests botocore makes for one call of the function's clients (``max_attempts`` counts retries only)."""
    from webhook_hub.aws import clients

    retries = clients._config().retries or {}
    return int(retries.get("total_max_attempts") or retries.get("max_attempts", 2) + 1)


def scaled(ci: int, full: int) -> int:
    return full if FULL else ci


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((BODIES / name).read_text(encoding="utf-8"))
    return loaded


def sample_names() -> list[str]:
    return [path.relative_to(BODIES).as_posix() for path in sorted(BODIES.rglob("*.json"))]


def evolution_delays(rng: random.Random, attempts: int = 10) -> list[float]:
    """Waits between Evolution 2.3's POSTs: ``min(5 * 2**(n-1), 300)`` s, +-20 % jitter, never below 5 s."""
    waits = []
    for n in range(1, attempts):
        base = min(5.0 * 2 ** (n - 1), 300.0)
        waits.append(max(5.0, base * (1 + rng.uniform(-0.2, 0.2))))
    return waits


def api_event(
    path: str,
    body: bytes,
    headers: Iterable[tuple[str, str]] = (("content-type", "application/json"),),
    *,
    at: float | None = None,
) -> dict[str, Any]:
    """The API Gateway event of one POST; ``at`` (epoch seconds) is API Gateway's request time."""
    event = http_api_event("POST", path, list(headers), body)
    assert event is not None, f"no route for {path}"
    if at is not None:
        event["requestContext"]["timeEpoch"] = int(at * 1000)
    return event


@functools.cache
def aws(service: str, endpoint_url: str) -> Any:
    """One boto3 client per service and endpoint for the tests' own reads (making one costs tens of ms)."""
    return local_aws.client(service, endpoint_url)


def aws_environment(endpoint_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": local_aws.REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_METRICS_NAMESPACE": "WebhookHub",
    }


# --- what the emulator holds ------------------------------------------------------------------------------


def scan_items(endpoint_url: str, table_name: str) -> list[dict[str, Any]]:
    dynamodb = aws("dynamodb", endpoint_url)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**kwargs)
        items.extend(item for item in page["Items"] if item["pk"]["S"] != RECOVERY_CURSOR_PK)  # events only
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_index(endpoint_url: str, table_name: str, index: str, key: str, value: str) -> list[dict[str, Any]]:
    dynamodb = aws("dynamodb", endpoint_url)
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": index,
        "KeyConditionExpression": "#k = :v",
        "ExpressionAttributeNames": {"#k": key},
        "ExpressionAttributeValues": {":v": {"S": value}},
    }
    while True:
        page = dynamodb.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def receive_all(endpoint_url: str, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue (deleted as read)."""
    return local_aws.drain_queue(endpoint_url, queue_url)


def s3_objects(endpoint_url: str, bucket: str) -> dict[str, bytes]:
    s3 = aws("s3", endpoint_url)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [entry["Key"] for page in pages for entry in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def subscribe_all(stack: local_aws.LocalStack, name: str) -> str:
    """A raw-delivery queue subscribed to every topic: what a subscriber of everything receives."""
    return local_aws.subscribe_queue(stack, f"{stack.stack_name}-{name}", list(stack.topic_arns), raw=True)


# --- a Lambda container in its own process ----------------------------------------------------------------


class ContainerDied(RuntimeError):
    """The container process ended during an invocation (API Gateway answers 502 then)."""


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _response(raw: Mapping[str, Any]) -> Response:
    return Response(int(raw["statusCode"]), json.loads(raw.get("body") or "{}"), dict(raw.get("headers") or {}))


INVOKE_TIMEOUT_SECONDS = 60


class Container:
    """``tests/reliability/container.py`` with the given environment; its output goes to ``log_path``."""

    def __init__(self, environment: Mapping[str, str], log_dir: Path) -> None:
        self.log_path = Path(tempfile.mkstemp(prefix="container-", suffix=".log", dir=log_dir)[1])
        self._log = self.log_path.open("ab")
        env = {**os.environ, **environment, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("container.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            cwd=ROOT,
        )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self._stdin: IO[bytes] = self.process.stdin
        self._stdout: IO[bytes] = self.process.stdout
        ready = self._stdout.readline()
        if not ready:
            self.stop()
            raise ContainerDied(f"container did not start: {self.log_path.read_text(errors='replace')[-2000:]}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def invoke(self, event: Mapping[str, Any]) -> Response:
        try:
            self._stdin.write(json.dumps(event).encode() + b"\n")
            self._stdin.flush()
        except BrokenPipeError as error:
            raise ContainerDied("container is gone") from error
        ready, _, _ = select.select([self._stdout], [], [], INVOKE_TIMEOUT_SECONDS)
        if not ready:  # Lambda would have stopped it at its timeout
            self.kill()
            raise ContainerDied(f"no answer in {INVOKE_TIMEOUT_SECONDS} s")
        line = self._stdout.readline()
        if not line:
            raise ContainerDied("container died during the invocation")
        return _response(json.loads(line))

    def kill(self) -> None:
        """SIGKILL, as when Lambda's sandbox dies: no handler code runs after it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
                self.process.wait(timeout=5)
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self._log.close()

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")


# --- the local hub: `webhook-hub run --json` ---------------------------------------------------------------

_URL_LINE = re.compile(r"Webhook URL: (\S+)")


@dataclass
class HubAnswer:
    status: int
    body: dict[str, Any]
    seconds: float
    headers: dict[str, str] = field(default_factory=dict)


def _hub_command() -> list[str]:
    """The ``webhook-hub`` console script of this environment, as a user runs it."""
    script = Path(sys.executable).with_name("webhook-hub")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from webhook_hub_cli.main import main; sys.exit(main())"]


class LocalHub:
    """The local hub as a user runs it, on a free port, with its own state file; stop it with ``stop()``."""

    def __init__(self, work_dir: Path, containers: int = 4, environment: Mapping[str, str] | None = None) -> None:
        self.work_dir = work_dir
        self.stdout_path = work_dir / "hub.stdout"
        self.stderr_path = work_dir / "hub.stderr"
        self.state_path = work_dir / "hub-state.json"
        self._out = self.stdout_path.open("wb")
        self._err = self.stderr_path.open("wb")
        env = {**os.environ, **(environment or {}), "WEBHOOK_HUB_STATE": str(self.state_path), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [
                *_hub_command(),
                "run",
                "--json",
                "--port",
                "0",
                "--containers",
                str(containers),
                "--data-dir",  # its own emulator state and log file, never the user's data folder
                str(work_dir / "data"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=self._err,
            env=env,
            cwd=ROOT,
        )
        try:
            self.webhook_url = self._wait_for_url(timeout=60)
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except BaseException:
            self.stop()
            raise
        self.endpoint_url: str = state["endpoint_url"]
        self.table_name: str = state["table_name"]
        self.token = self.webhook_url.rsplit("/", 1)[1]
        self.base_url = self.webhook_url.rsplit("/webhook/", 1)[0]
        self.stack_name = self.table_name.removesuffix("-events")
        self.bucket_name = f"{self.stack_name}-payloads"
        self._stdout_offset = 0
        self._notifications: list[dict[str, Any]] = []

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _URL_LINE.search(self.stderr_path.read_text(encoding="utf-8", errors="replace"))
            if match and self.state_path.exists():
                return match.group(1)
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited: {self.stderr_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        raise TimeoutError("the local hub printed no Webhook URL")

    def post(
        self, body: bytes, *, path: str | None = None, headers: Mapping[str, str] | None = None, timeout: float = 60
    ) -> HubAnswer:
        """POST as Evolution does (axios headers); HTTP errors are answers, not exceptions."""
        url = self.base_url + "/" + path.lstrip("/") if path is not None else self.webhook_url
        request_headers = {"content-type": "application/json", "user-agent": "axios/1.7.9", **(headers or {})}
        request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")  # noqa: S310
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
                status, text, answer_headers = response.status, response.read(), dict(response.headers.items())
        except urllib.error.HTTPError as error:
            status, text, answer_headers = error.code, error.read(), dict(error.headers.items())
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            # No HTTP answer at all (reset, refused, timed out): Evolution retries these like a 5xx.
            return HubAnswer(CONNECTION_FAILED, {"connection_error": repr(error)}, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = {"unparsed": text.decode("utf-8", "replace")}
        return HubAnswer(status, parsed if isinstance(parsed, dict) else {"value": parsed}, seconds, answer_headers)

    def notifications(self) -> list[dict[str, Any]]:
        """Every notification printed so far (one JSON line each on the hub's stdout), read incrementally."""
        self._out.flush()
        with self.stdout_path.open("rb") as handle:
            handle.seek(self._stdout_offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._stdout_offset += len(complete)
        self._notifications.extend(json.loads(line) for line in complete.splitlines() if line.strip())
        return list(self._notifications)

    def wait_for_notifications(
        self, predicate: Any, expected: int, *, timeout: float = 60, quiet: float = 1.5
    ) -> list[dict[str, Any]]:
        """Notifications matching ``predicate`` once ``expected`` arrived and no more came for ``quiet`` s."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = [n for n in self.notifications() if predicate(n)]
            if len(found) >= expected:
                break
            time.sleep(0.2)
        time.sleep(quiet)  # the tap polls the queue each second: anything extra shows up by now
        return [n for n in self.notifications() if predicate(n)]

    def log(self) -> str:
        """What the hub printed on stderr, and what its containers wrote to its log file (the function's logs and
        metrics)."""
        if not self._err.closed:
            self._err.flush()
        function_log = self.work_dir / "data" / "hub.log"
        functions = function_log.read_text(encoding="utf-8", errors="replace") if function_log.exists() else ""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace") + functions

    def items_of_instance(self, instance: str) -> list[dict[str, Any]]:
        return query_index(self.endpoint_url, self.table_name, "ByInstance", "instance_pk", instance)

    def set_tokens(self, current: str, previous: str) -> None:
        secret_id = f"{self.stack_name}-webhook-token"
        aws("secretsmanager", self.endpoint_url).put_secret_value(
            SecretId=secret_id, SecretString=json.dumps({"current": current, "previous": previous})
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._out.close()
        self._err.close()


# --- sending with retries, as Evolution does -------------------------------------------------------------


def post_until_accepted(
    hub: LocalHub, body: bytes, *, path: str | None = None, headers: Mapping[str, str] | None = None, waits: int = 10
) -> list[HubAnswer]:
    """POST, and again after each retryable answer (up to ``waits`` times, backing off from 0.2 s)."""
    answers = [hub.post(body, path=path, headers=headers)]
    delay = 0.2
    while answers[-1].status not in NON_RETRYABLE and not 200 <= answers[-1].status < 300 and len(answers) <= waits:
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
        answers.append(hub.post(body, path=path, headers=headers))
    return answers


# --- figures for docs/reliability.md ---------------------------------------------------------------------


def record_figures(section: str, figures: Mapping[str, Any]) -> None:
    """Keep the figures of this run in docs/reliability.md (with ``WEBHOOK_HUB_FULL=1`` or ``WEBHOOK_HUB_RECORD=1``).

    The document holds one JSON block per run kind between markers; each test updates its own section.
    """
    if not (FULL or os.environ.get("WEBHOOK_HUB_RECORD") == "1"):
        return
    begin, end = f"<!-- BEGIN FIGURES {RUN_KIND} -->", f"<!-- END FIGURES {RUN_KIND} -->"
    with DOC.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # the two xdist workers may both be recording
        text = handle.read()
        if begin not in text:
            return
        head, rest = text.split(begin, 1)
        block, tail = rest.split(end, 1)
        match = re.search(r"```json\n(.*?)```", block, re.DOTALL)
        current: dict[str, Any] = json.loads(match.group(1)) if match else {}
        current[section] = dict(figures)
        rendered = json.dumps(dict(sorted(current.items())), indent=2, ensure_ascii=False)
        handle.seek(0)
        handle.write(f"{head}{begin}\n```json\n{rendered}\n```\n{end}{tail}")
        handle.truncate()


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
