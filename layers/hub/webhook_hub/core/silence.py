"""The silence alarm's decisions: is a connected instance quiet for longer than is normal for it, at this hour?

Evolution's most reported failure is ``messages.upsert`` stopping while the instance stays connected (other events
may keep flowing), so the watched activity is the instance's ``messages.upsert`` events. "Normal" is learned from
the instance's own silences: the longest one that was going on around the same time of day (``WINDOW`` either
side) on the same weekday of the last weeks, or while fewer than 7 days are known, on any of the previous days. A
silence alerts when it is longer than ``MARGIN`` times that, and never before the fixed floor. Until a previous
day is known, only a silence of ``UNLEARNED`` alerts, so a new shop's first quiet night wakes no one.

Pure: times are epoch seconds, the caller reads the events and keeps the ``Watch``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import Enum

from .mail import subject_line
from .values import printable

DAY = 86_400
HISTORY_DAYS = 28
WINDOW = 2 * 3_600
"""How far from this time of day a past silence still counts: a shop that opens up to 2 h late stays quiet."""
MARGIN = 1.5
UNLEARNED = DAY
MIN_GAP = 20 * 60
"""Shorter silences are not kept: below any useful floor, and most of an instance's gaps."""
QUIET_STATES = frozenset({"close", "refused", "connecting"})
"""Connection states in which silence is expected (the disconnect itself is e-mailed on its own topic)."""


class Change(Enum):
    ALERT = "alert"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Watch:
    """What the watch keeps per instance."""

    instance: str
    since: float
    """When the watch first saw the instance: days before are unknown, not quiet."""
    last_activity: float | None = None
    connection: str | None = None
    """The last ``connection.update`` state; ``None`` until one arrives (an instance sending messages is online)."""
    connected_at: float | None = None
    """When the last ``open`` arrived: a silence is counted from a reconnection, not from before the outage."""
    gaps: tuple[tuple[float, float], ...] = ()
    """Finished normal silences of at least ``MIN_GAP`` in the last ``HISTORY_DAYS``, oldest first."""
    alerted: float | None = None
    """While an alert is open, when the silence it is about began; a silence that alerted is not learned."""

    @property
    def watched(self) -> bool:
        return self.connection not in QUIET_STATES

    @property
    def silent_since(self) -> float:
        return max(moment for moment in (self.since, self.last_activity, self.connected_at) if moment is not None)


@dataclass(frozen=True, slots=True)
class Verdict:
    watch: Watch
    change: Change | None
    silence: float
    threshold: float | None
    """``None`` when the instance is not watched (disconnected, or the alarm is off)."""


def observe(watch: Watch, activity: Iterable[float], connections: Iterable[tuple[float, str]], now: float) -> Watch:
    """The watch after the new events (times later than any seen); old gaps dropped.

    A silence is learned when messages end it, unless a reconnection came in between (it was an outage, not the
    instance's rhythm) or it raised an alert against a known weekday.
    """
    gaps = list(watch.gaps)
    last, connection, connected_at = watch.last_activity, watch.connection, watch.connected_at
    events = sorted([(moment, None) for moment in activity] + [(moment, state) for moment, state in connections])
    for moment, state in events:
        if state is not None:
            connection = state
            connected_at = moment if state == "open" else connected_at
            continue
        if (
            last is not None
            and moment - last >= MIN_GAP
            and (connected_at is None or connected_at <= last)
            and (last != watch.alerted or _new_weekday(watch, moment))
        ):
            gaps.append((last, moment))
        last = moment
    horizon = now - (HISTORY_DAYS + 1) * DAY
    return replace(
        watch,
        last_activity=last,
        connection=connection,
        connected_at=connected_at,
        gaps=tuple(gap for gap in gaps if gap[1] > horizon),
    )


def _new_weekday(watch: Watch, moment: float) -> bool:
    """Whether this weekday was still unknown: a silence that alerted then (a shop's first closed Sunday) is its
    normal, and is learned; one that alerted against a known weekday was an outage, and is not."""
    return moment - 7 * DAY - WINDOW < watch.since


def normal_silence(watch: Watch, now: float) -> float | None:
    """The longest silence seen around this time of day on comparable known days; ``None`` if none is known."""
    weekly = [now - weeks * 7 * DAY for weeks in range(1, HISTORY_DAYS // 7 + 1)]
    daily = [now - days * DAY for days in range(1, 7)]
    for references in (weekly, daily):
        known = [moment for moment in references if moment - WINDOW >= watch.since]
        if known:
            return max(_silence_around(watch.gaps, moment) for moment in known)
    return None


def _silence_around(gaps: Iterable[tuple[float, float]], moment: float) -> float:
    """How long the longest silence overlapping ``moment ± WINDOW`` had lasted by the window's end."""
    start, end = moment - WINDOW, moment + WINDOW
    return max(
        (min(gap_end, end) - gap_start for gap_start, gap_end in gaps if gap_start < end and gap_end > start),
        default=0.0,
    )


def threshold(watch: Watch, now: float, floor: float) -> float:
    normal = normal_silence(watch, now)
    return max(floor, UNLEARNED if normal is None else MARGIN * normal)


def decide(watch: Watch, now: float, floor: float) -> Verdict:
    """Alert once when the silence passes the threshold; clear once activity is back (or the instance left)."""
    silence = now - watch.silent_since
    if floor <= 0 or not watch.watched:
        cleared = replace(watch, alerted=None)  # a disconnect has its own e-mail; an off alarm sends nothing
        return Verdict(cleared, None, silence, None)
    limit = threshold(watch, now, floor)
    if watch.alerted is None:
        if silence > limit:
            return Verdict(replace(watch, alerted=watch.silent_since), Change.ALERT, silence, limit)
        return Verdict(watch, None, silence, limit)
    if watch.silent_since != watch.alerted:  # messages arrived since the alert's silence began
        return Verdict(replace(watch, alerted=None), Change.CLEAR, silence, limit)
    return Verdict(watch, None, silence, limit)


def alert_text(verdict: Verdict, now: float) -> tuple[str, str]:
    """Subject and text of the alert or the all-clear e-mail (plain text; the instance name is the sender's)."""
    watch = verdict.watch
    name = printable(watch.instance)
    if verdict.change is Change.ALERT:
        normal = normal_silence(watch, now)
        subject = f"Webhook Hub: instance {name} is connected but silent"
        lines = [
            f"Instance {name} is connected but has sent no message for {duration(verdict.silence)}",
            f"(last message: {_when(watch.last_activity)}).",
            "",
            "Usual longest silence at this time of day: "
            + ("not learned yet" if normal is None else duration(normal))
            + f"; alert threshold: {duration(verdict.threshold or 0)}.",
            "",
            "Evolution sometimes stops sending messages.upsert while the instance stays connected. Check the",
            "instance in the Manager; restarting the Evolution server or the instance usually brings them back.",
            "This alert clears by itself when messages arrive again.",
        ]
    else:
        subject = f"Webhook Hub: instance {name} is receiving messages again"
        lines = [
            f"Instance {name} is sending messages again (latest: {_when(watch.last_activity)}).",
            "The silence alert is cleared.",
        ]
    return subject_line(subject), "\n".join(lines) + "\n"


def duration(seconds: float) -> str:
    """``3 h 05 min``, ``40 min``: for people."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _when(moment: float | None) -> str:
    return "never" if moment is None else datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
