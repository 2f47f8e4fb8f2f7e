"""Starting and stopping `webhook-hub run` as a user does, in a subprocess with its own data folder."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from webhook_hub_cli.send_cmd import SAMPLES_DIR

CLI = str(Path(sys.executable).with_name("webhook-hub"))
START_TIMEOUT = 60
STOP_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class RunningHub:
    """One `webhook-hub run`: its webhook URL, and every line it printed, stdout and stderr apart."""

    process: subprocess.Popen[str]
    url: str
    environment: dict[str, str]
    stdout: queue.Queue[str] = field(default_factory=queue.Queue)
    stderr: queue.Queue[str] = field(default_factory=queue.Queue)

    @property
    def token(self) -> str:
        return self.url.rsplit("/", 1)[1]

    @property
    def base_url(self) -> str:
        return self.url.split("/webhook/", 1)[0]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLI, *args], capture_output=True, text=True, timeout=120, env=self.environment, check=False
        )

    def next_lines(self, count: int, stream: str = "stdout", timeout: float = 30) -> list[str]:
        """Exactly the next ``count`` lines of ``stream`` (fails on a timeout)."""
        lines: queue.Queue[str] = getattr(self, stream)
        deadline = time.monotonic() + timeout
        return [lines.get(timeout=max(0.01, deadline - time.monotonic())) for _ in range(count)]

    def printed(self, stream: str = "stdout") -> list[str]:
        """Every line printed so far and not yet taken."""
        lines: queue.Queue[str] = getattr(self, stream)
        taken = []
        while not lines.empty():
            taken.append(lines.get_nowait())
        return taken

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; its exit code."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def _pump(stream: object, lines: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line.rstrip("\n"))


def start_hub(data_dir: Path, *flags: str, port: int | None = None) -> RunningHub:
    """`webhook-hub run` with ``data_dir`` (on a free port by default); returns once it printed its Webhook URL."""
    environment = {**os.environ, "WEBHOOK_HUB_STATE": str(data_dir.parent / "state.json")}
    process = subprocess.Popen(
        [CLI, "run", "--data-dir", str(data_dir), "--port", str(port or free_port()), "--containers", "2", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=environment,
    )
    hub = RunningHub(process, "", environment)
    threading.Thread(target=_pump, args=(process.stdout, hub.stdout), daemon=True).start()
    threading.Thread(target=_pump, args=(process.stderr, hub.stderr), daemon=True).start()
    url_stream = hub.stderr if "--json" in flags else hub.stdout
    deadline = time.monotonic() + START_TIMEOUT
    while not hub.url and time.monotonic() < deadline and process.poll() is None:
        try:
            line = url_stream.get(timeout=1)
        except queue.Empty:
            continue
        if line.startswith("Webhook URL: "):
            hub.url = line.removeprefix("Webhook URL: ").strip()
    if not hub.url:
        process.kill()
        process.wait()
        raise AssertionError("the hub did not print its Webhook URL: " + " | ".join(hub.printed("stderr")))
    return hub


def text_message(text: str, apikey: str) -> bytes:
    """A new incoming text message (a fresh id) carrying ``apikey``, as Evolution posts it."""
    body = json.loads((SAMPLES_DIR / "messages-upsert.json").read_text(encoding="utf-8"))
    body["apikey"] = apikey
    body["data"]["key"]["id"] = uuid.uuid4().hex.upper()
    body["data"]["message"] = {"conversation": text}
    return json.dumps(body).encode()
