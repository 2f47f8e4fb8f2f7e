"""``webhook-hub replay``: publish stored events again, to their own topics or to one topic or queue.

For a subscriber that was down, or a new one catching up. How the events are found, sent and resumed is in
``replay.py``.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from webhook_hub.destinations.parked import list_parked, parked_summary, redrive
from webhook_hub_cli import destinations_cmd, hub_access
from webhook_hub_cli.local_state import state_path
from webhook_hub_cli.replay import (
    DEFAULT_RATE,
    STATE_FAILED,
    STATES,
    Checkpoint,
    Filters,
    OneQueue,
    OneTopic,
    Outcome,
    Report,
    Target,
    TokenBucket,
    replay,
)

STATE_PARKED = "parked"
"""Not an event's state: a delivery to a destination (issue 12) that was parked after its retry window."""
DEFAULT_DAYS = 30
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("replay", help="publish stored events again, marked replay=true")
    chosen = parser.add_argument_group("which events (at least one of --instance, --type, --event-id, --state failed)")
    chosen.add_argument("--instance", help="this instance's events (ByInstance index)")
    chosen.add_argument(
        "--type",
        dest="event_types",
        metavar="TYPE",
        action="append",
        default=[],
        help="this event type, any spelling; repeatable",
    )
    chosen.add_argument(
        "--event-id", dest="event_ids", metavar="ID", action="append", default=[], help="this event; repeatable"
    )
    chosen.add_argument(
        "--state",
        choices=(*STATES, STATE_PARKED),
        help="only events in this state; `failed` lists them by itself; `parked`: deliveries to your own servers "
        "that were parked, sent again to their destination, each with a new retry window",
    )
    chosen.add_argument("--since", help="received at or after (ISO, UTC if no offset); default: 30 days ago")
    chosen.add_argument("--until", help="received at or before (ISO, UTC if no offset); default: now")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--to-topic", metavar="ARN", help="publish every event to this SNS topic instead")
    where.add_argument("--to-queue", metavar="URL", help="send every event to this SQS queue instead (raw body)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed; send nothing")
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help=f"events per second at most (default {DEFAULT_RATE:g})"
    )
    parser.add_argument(
        "--limit", type=int, help="stop after this many events, as if interrupted (--resume continues): in chunks"
    )
    parser.add_argument("--resume", action="store_true", help="continue the interrupted replay of the same command")
    parser.add_argument(
        "--checkpoint", type=Path, help="where progress is kept (default: replay.json next to the local hub's state)"
    )
    hub_access.add_hub_arguments(parser)
    parser.set_defaults(func=run)


def _filters(args: argparse.Namespace) -> Filters:
    now = datetime.now(UTC)
    since = hub_access.parse_time(args.since, default=now - timedelta(days=DEFAULT_DAYS))
    until = hub_access.parse_time(args.until, default=now)
    return Filters(
        since=hub_access.stored_time(since),
        until=hub_access.stored_time(until),
        instance=args.instance,
        event_types=tuple(dict.fromkeys(hub_access.event_type_name(name) for name in args.event_types)),
        event_ids=tuple(args.event_ids),
        state=args.state,
    )


def _target(hub: hub_access.Hub, args: argparse.Namespace) -> Target:
    if args.to_queue:
        return OneQueue(hub.client("sqs"), args.to_queue)
    if args.to_topic:
        return OneTopic(hub.client("sns"), args.to_topic)
    return OneTopic(hub.client("sns"), hub.topic_arn_prefix, own_topics=True)


class _StopOnInterrupt:
    """The first Ctrl-C ends the replay after the event being sent (checkpoint saved); a second one at once."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _summary_line(report: Report, target: Target, dry_run: bool, seconds: float) -> str:
    if dry_run:
        line = f"would replay {report.would_replay} event(s) to {target.description}"
    else:
        line = f"replayed {report.replayed} event(s) to {target.description}"
    line += f", {report.skipped} skipped (other state, instance or type, or expired)"
    if report.failed:
        line += f", {len(report.failed)} failed: " + " ".join(report.failed)
    line += f" in {seconds:.1f} s"
    if report.interrupted:
        line += "; interrupted: run the same command with --resume to continue"
    return line


def _redrive_parked(args: argparse.Namespace) -> int:
    """Parked deliveries go back to the destination that did not take them, not to a topic (the event itself was
    published): the same as ``webhook-hub destinations redrive``."""
    hub = destinations_cmd.hub_of(args)
    if hub is None:
        return hub_access.NO_HUB_EXIT
    if args.dry_run:
        parked = list_parked(hub.queue())
        for delivery in parked:
            print(json.dumps(parked_summary(delivery), ensure_ascii=False))
        print(json.dumps({"record": "summary", "would_redrive": len(parked)}) if args.json else f"{len(parked)} parked")
        return 0
    queued = redrive(hub.queue(), now=time.time())
    print(json.dumps({"record": "summary", "redriven": len(queued)}) if args.json else f"{len(queued)} redriven")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.state == STATE_PARKED:
        return _redrive_parked(args)
    if not (args.instance or args.event_types or args.event_ids or args.state == STATE_FAILED):
        return hub_access.fail("replay needs --instance, --type, --event-id or --state failed (no table scans)")
    try:
        filters = _filters(args)
    except ValueError as error:
        return hub_access.fail(f"--since/--until: {error}")
    hub = hub_access.resolve(args)
    if hub is None:
        return hub_access.NO_HUB_EXIT
    target = _target(hub, args)
    arguments = {
        name: getattr(args, name) for name in ("instance", "event_types", "event_ids", "state", "since", "until")
    }
    identity = {"table": hub.table_name, "target": target.description, "arguments": arguments}
    path = args.checkpoint or state_path().with_name("replay.json")
    if args.resume:
        try:
            checkpoint = Checkpoint.resume(path, identity)
        except (OSError, ValueError, KeyError) as error:
            return hub_access.fail(f"cannot resume: {error}")
    else:
        checkpoint = Checkpoint(None if args.dry_run else path, identity, filters)
    stop = _StopOnInterrupt()
    previous_handler = signal.signal(signal.SIGINT, stop)
    console = Console(stderr=True)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
        redirect_stdout=False,  # stdout is for the --json lines, even while the bar shows on stderr
        redirect_stderr=False,
    )
    started = time.monotonic()

    def show(outcome: Outcome) -> None:
        progress.advance(task)
        if args.json:
            print(json.dumps({"record": "event", **asdict(outcome)}, ensure_ascii=False), flush=True)
        elif args.dry_run:
            print("  ".join((outcome.received_at, outcome.event_type, outcome.instance or "-", outcome.event_id)))

    try:
        with progress:
            task = progress.add_task("replaying", total=len(filters.event_ids) or None)
            report = replay(
                hub.client("dynamodb"),
                hub.table_name,
                target,
                checkpoint,
                dry_run=args.dry_run,
                bucket=TokenBucket(args.rate),
                should_stop=lambda report: stop.requested or report.replayed + report.would_replay == args.limit,
                on_outcome=show,
            )
    finally:
        signal.signal(signal.SIGINT, previous_handler)
    seconds = time.monotonic() - started
    if args.json:
        summary = {"record": "summary", **report.as_dict(), "target": target.description, "dry_run": args.dry_run}
        print(json.dumps({**summary, "seconds": round(seconds, 3)}))
    else:
        print(_summary_line(report, target, args.dry_run, seconds))
    if stop.requested:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report.failed else 0
