"""``webhook-hub inspect``: show what the hub would make of webhook bodies, without any AWS.

Prints one JSON line per input: the classification, the notification a subscriber would receive (with the
redacted payload), the e-mail an e-mail subscriber would get, and the SNS message attributes.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from webhook_hub.core.classify import Classification, RejectedBody, classify
from webhook_hub.core.mail import mail_subject, mail_text
from webhook_hub.core.notification import build_notification, message_attributes
from webhook_hub.core.redact import redact
from webhook_hub.core.values import iso_utc

STDIN = "-"
EXIT_REJECTED = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="classify webhook bodies and show the notification, e-mail and attributes they would produce",
        description="Classify webhook bodies offline. Exits 2 when an input is not JSON or has no 'event'.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="a webhook body (JSON); '-' reads stdin")
    parser.add_argument("--suffix", help="the by-events URL suffix the body arrived under, e.g. messages-upsert")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    exit_code = 0
    for name in args.files:
        try:
            body = sys.stdin.buffer.read() if name == STDIN else Path(name).read_bytes()
            classification = classify(body, args.suffix)
        except (OSError, RejectedBody) as error:
            reason = error.detail if isinstance(error, RejectedBody) else error.strerror or str(error)
            print(f"{name}: {reason}", file=sys.stderr)
            exit_code = EXIT_REJECTED
            continue
        print(json.dumps(inspection(name, classification)))
    return exit_code


def inspection(name: str, c: Classification) -> dict[str, Any]:
    """Everything the hub derives from one body; the payload only in redacted form."""
    received_at = datetime.now(UTC)
    notification = build_notification(c, received_at=received_at, payload=redact(c.payload))
    return {
        "file": name,
        "classification": {
            "event_type": c.event_type,
            "known": c.known,
            "topic_key": c.topic_key,
            "valid": c.valid,
            "reasons": list(c.reasons),
            "instance": c.instance,
            "dedup_key": c.dedup_key,
            "event_id": c.event_id,
            "occurred_at": None if c.occurred_at is None else iso_utc(c.occurred_at),
            "summary": c.summary,
        },
        "notification": notification,
        "email": {"subject": mail_subject(c), "text": mail_text(c, received_at=received_at)},
        "attributes": message_attributes(c),
    }
