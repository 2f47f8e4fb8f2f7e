"""The silence alarm on simulated weeks of a small shop: it fires, stays quiet through normal nights, and clears."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from webhook_hub.core.silence import DAY, UNLEARNED, Change, Watch, alert_text, decide, observe

HOUR = 3_600
MONDAY = datetime(2026, 1, 5, tzinfo=UTC).timestamp()
FLOOR = 2 * HOUR
RUN_EVERY = 600


def shop(days: int, *, closed_weekdays: Iterable[int] = (6,), outage: tuple[float, float] | None = None) -> list[float]:
    """A message every 15 minutes from 08:00 to 20:00 on open days, none inside ``outage``."""
    closed = set(closed_weekdays)
    moments = []
    for day in range(days):
        if day % 7 in closed:
            continue
        start = MONDAY + day * DAY + 8 * HOUR
        moments += [start + quarter * 900 for quarter in range(12 * 4 + 1)]
    if outage is not None:
        moments = [moment for moment in moments if not outage[0] <= moment < outage[1]]
    return moments


def run(
    activity: list[float],
    until: float,
    *,
    floor: float = FLOOR,
    connections: list[tuple[float, str]] | None = None,
) -> tuple[list[tuple[float, Change]], Watch]:
    """The watch every 10 minutes from the first message to ``until``: its alerts and clears, and its last state."""
    watch = Watch("loja-centro", since=activity[0])
    changes: list[tuple[float, Change]] = []
    previous = activity[0] - 1
    now = activity[0]
    while now <= until:
        new = [moment for moment in activity if previous < moment <= now]
        states = [(moment, state) for moment, state in connections or [] if previous < moment <= now]
        verdict = decide(observe(watch, new, states, now), now, floor)
        watch = verdict.watch
        if verdict.change is not None:
            changes.append((now, verdict.change))
        previous, now = now, now + RUN_EVERY
    return changes, watch


def at(day: int, hour: float) -> float:
    return MONDAY + day * DAY + hour * HOUR


def test_normal_nights_and_the_closed_sunday_raise_nothing_once_learned() -> None:
    changes, watch = run(shop(28), at(27, 23))

    after_first_week = [(moment, change) for moment, change in changes if moment > at(7, 8)]
    assert after_first_week == []
    # While only days, not weeks, are known, the first closed Sunday looks abnormal once, and clears on Monday.
    assert changes == [(at(6, 10), Change.ALERT), (at(7, 8), Change.CLEAR)]
    assert watch.alerted is None


def test_the_first_night_wakes_no_one_before_anything_is_learned() -> None:
    changes, _watch = run(shop(1), at(1, 7))

    assert changes == []
    assert UNLEARNED > 11 * HOUR


def test_a_daytime_silence_alerts_after_the_floor_and_clears_when_messages_are_back() -> None:
    outage = (at(16, 11), at(16, 16))  # the third Wednesday, 11:00 to 16:00
    activity = shop(24, outage=outage)

    changes, _watch = run(activity, at(23, 23))

    later = [(moment, change) for moment, change in changes if moment > at(7, 8)]
    last_message = at(16, 10.75)
    assert later == [(at(16, 12 + 5 / 6), Change.ALERT), (at(16, 16), Change.CLEAR)]
    assert later[0][0] - last_message > FLOOR


def test_an_outage_is_not_learned_as_normal() -> None:
    wednesday, next_wednesday = (at(16, 11), at(16, 16)), (at(23, 11), at(23, 16))
    activity = [
        m for m in shop(25) if not (wednesday[0] <= m < wednesday[1] or next_wednesday[0] <= m < next_wednesday[1])
    ]

    changes, _watch = run(activity, at(24, 23))

    alerts = [moment for moment, change in changes if change is Change.ALERT and moment > at(7, 8)]
    assert alerts == [at(16, 12 + 5 / 6), at(23, 12 + 5 / 6)]


def test_a_learned_long_gap_raises_the_threshold_at_that_hour_only() -> None:
    """A shop that closes for lunch 12:00-15:00 every day is not alerted at lunch, but is in the afternoon."""
    lunch = [m for m in shop(21) if not at(0, 12) <= m % DAY + MONDAY < at(0, 15)]
    afternoon_outage = (at(16, 15.5), at(16, 19))
    activity = [m for m in lunch if not afternoon_outage[0] <= m < afternoon_outage[1]]

    changes, _watch = run(activity, at(20, 23))

    later = [(moment, change) for moment, change in changes if moment > at(7, 8)]
    assert later == [(at(16, 17 + 1 / 3), Change.ALERT), (at(16, 19), Change.CLEAR)]


def test_a_disconnected_instance_is_not_watched_and_a_zero_floor_turns_the_alarm_off() -> None:
    activity = shop(17, outage=(at(16, 11), at(16, 16)))

    disconnected, _watch = run(activity, at(16, 15), connections=[(at(16, 10.9), "close")])
    off, _watch = run(activity, at(16, 15), floor=0)

    assert [c for c in disconnected if c[0] > at(7, 8)] == []
    assert off == []


def test_after_a_disconnect_the_silence_counts_from_the_reconnection() -> None:
    outage = (at(16, 11), at(16, 16))
    activity = shop(17, outage=outage)
    connections = [(at(16, 10.9), "close"), (at(16, 15), "open")]
    quiet_after = [m for m in activity if not at(16, 15) <= m < at(16, 19)]  # and then no messages until 19:00

    reconnected, watch = run(activity, at(16, 17.5), connections=connections)
    silent, _watch = run(quiet_after, at(16, 19), connections=connections)

    assert [c for c in reconnected if c[0] > at(7, 8)] == []  # the messages resumed at 16:00
    assert not any(start <= at(16, 15) < end for start, end in watch.gaps)  # the outage is not learned
    # No messages after the reconnection at 15:00: alerted 2 h later, cleared when they come at 19:00.
    assert [c for c in silent if c[0] > at(7, 8)] == [(at(16, 17 + 1 / 6), Change.ALERT), (at(16, 19), Change.CLEAR)]


def test_the_alert_names_the_instance_and_the_silence() -> None:
    activity = shop(17, outage=(at(16, 11), at(16, 16)))
    seen = [moment for moment in activity if moment <= at(16, 13)]
    watch = observe(Watch("loja-centro", since=activity[0]), seen, [], at(16, 13))

    verdict = decide(watch, at(16, 13), FLOOR)
    subject, text = alert_text(verdict, at(16, 13))

    assert verdict.change is Change.ALERT
    assert subject == "Webhook Hub: instance loja-centro is connected but silent"
    assert "has sent no message for 2 h 15 min" in text
    assert "(last message: 2026-01-21 10:45 UTC)" in text
    assert "alert threshold: 2 h 00 min" in text
