"""The pure parts of the operations commands: the message timeline's order, the replay's rate, the help listing."""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import pytest

from webhook_hub_cli.main import COMMANDS, main
from webhook_hub_cli.message_cmd import Step, latest_status, timeline
from webhook_hub_cli.replay import TokenBucket


def _step(
    name: str, received_at: str, *, what: str = "status", status: str | None = None, at: str | None = None
) -> Step:
    event_type = {"message": "messages.upsert", "status": "messages.update", "edit": "messages.edited"}[what]
    return Step(name, event_type, received_at, at, what, status, None)


def test_receipts_take_their_places_in_status_order_and_the_message_comes_first() -> None:
    arrivals = [
        _step("played", "2026-01-01T10:00:01.000Z", status="PLAYED"),
        _step("edit", "2026-01-01T10:00:02.000Z", what="edit", at="2026-01-01T10:00:03.500Z"),
        _step("read", "2026-01-01T10:00:03.000Z", status="READ"),
        _step("error", "2026-01-01T10:00:04.000Z", status="ERROR"),
        _step("delivered", "2026-01-01T10:00:05.000Z", status="DELIVERY_ACK", at="2026-01-01T09:59:59.000Z"),
        _step("upsert", "2026-01-01T10:00:06.000Z", what="message", status="SERVER_ACK", at="2026-01-01T10:05:00.000Z"),
    ]

    ordered = timeline(arrivals)

    # by time: upsert (first, always), delivered 09:59:59, played 10:00:01, read 10:00:03, edit 10:00:03.5, error;
    # then the ranked receipts in their three places in rank order: delivered, read, played.
    assert [step.event_id for step in ordered] == ["upsert", "delivered", "read", "played", "edit", "error"]
    assert [step.arrived_late for step in ordered] == [True, True, True, False, False, False]
    assert latest_status(ordered) == "PLAYED"
    assert latest_status([_step("e", "2026-01-01T10:00:00.000Z", status="ERROR")]) is None


def test_the_upserts_own_status_counts_when_no_receipt_came() -> None:
    only = [_step("upsert", "2026-01-01T10:00:00.000Z", what="message", status="SERVER_ACK")]
    assert latest_status(timeline(only)) == "SERVER_ACK"


def test_the_token_bucket_spaces_sends_at_the_rate_after_its_burst() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(4, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        bucket.take()

    assert sum(waits) == pytest.approx(1.0), "2 at once, then 4 more at 4 per second"
    assert all(wait == pytest.approx(0.25) for wait in waits)
    with pytest.raises(ValueError, match="rate must be positive"):
        TokenBucket(0)


def test_every_command_has_one_help_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    listed = [line.split()[0] for line in out.getvalue().splitlines() if line.startswith("    ") and line.split()]
    names = {"run", "send", "events", "show", "message", "replay", "instances", "destinations", "inspect", "docs"}

    assert set(listed) == names, "each command's name and help on one line, nothing wrapped"
    assert len(COMMANDS) == len(names)
