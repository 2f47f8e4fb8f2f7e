"""``webhook-hub send``: POST webhook bodies as Evolution does, to the local hub or a deployed URL."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from webhook_hub.core.catalog import lookup
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.local_state import LocalHubState

SAMPLES_DIR = stack_template.TEMPLATE_PATH.parent / "events" / "bodies"
EVOLUTION_HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/plain, */*",
    "user-agent": "axios/1.7.9",
}
TIMEOUT_SECONDS = 30


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("send", help="POST webhook bodies as Evolution API does")
    parser.add_argument("files", nargs="*", type=Path, help="JSON bodies to send")
    parser.add_argument("--samples", action="store_true", help="send every sample body in events/bodies")
    parser.add_argument("--url", help="webhook URL with its token (default: the running local hub)")
    parser.add_argument("--by-events", action="store_true", help="append the event's URL suffix, as byEvents does")
    parser.set_defaults(func=send)


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST and return status and response text; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, headers={**EVOLUTION_HEADERS, **(headers or {})}, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - URL is the user's
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def _target(url: str, body: bytes, by_events: bool) -> str:
    if not by_events:
        return url
    try:
        event_type = lookup(str(json.loads(body).get("event", "")))
    except (ValueError, AttributeError):
        return url
    return f"{url.rstrip('/')}/{event_type.suffix}" if event_type and event_type.suffix else url


def send(args: argparse.Namespace) -> int:
    url = args.url
    if not url:
        state = LocalHubState.load()
        if state is None:
            print(
                "webhook-hub: no local hub is running; start one with `webhook-hub run` or give --url", file=sys.stderr
            )
            return 2
        url = state.webhook_url
    files: list[Path] = list(args.files)
    if args.samples:
        files += sorted(SAMPLES_DIR.rglob("*.json"))
    if not files:
        print("webhook-hub: give files to send, or --samples", file=sys.stderr)
        return 2
    failures = 0
    for path in files:
        try:
            body = path.read_bytes()
        except OSError as error:
            print(f"{path}: cannot read: {error.strerror}", file=sys.stderr)
            failures += 1
            continue
        try:
            status, text = post(_target(url, body, args.by_events), body)
        except (urllib.error.URLError, TimeoutError) as error:
            print(f"{path}: not sent: {error}", file=sys.stderr)
            failures += 1
            continue
        failures += not 200 <= status < 300
        print(f"{path}: {status} {text}", flush=True)
    return 1 if failures else 0
