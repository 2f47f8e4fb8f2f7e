"""The recovery sweep: publish events that were stored but never published, and give up on poison ones.

The ingest path publishes right after the write and a redelivery publishes what an earlier delivery could not,
but a sender that gives up (v1 and Evolution <= 2.2.0 never retry; 2.3 stops after about 20 minutes) would leave
such an event unpublished. The sweep runs on a schedule and closes that gap under the same publish lease as the
ingest path, so an event is still published once.

Each event carries its own next try (``sweep_at``, the ``Pending`` index's sort key) and attempt count: a claim
pushes ``sweep_at`` out by an exponential backoff, so events that keep failing (a topic whose policy or key is
broken) fall behind healthy ones instead of blocking them, and after ``max_attempts`` they move to ``failed``.
The shards are swept in parallel, each lease is taken with the clock read at its claim, and the sweep stops
while the function still has time to finish the event in hand.

An event enters ``Pending`` only when a delivery did not finish it (record.py), so first the sweep checks the events
received since its last run, through the catalog's ``ByTypeDay`` partitions: any still ``stored`` and not in
``Pending`` (its function died between the write and the publication, and the sender did not retry) is put there.
That check reads, and writes only for such an event; the common event costs the sweep no write at all.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from webhook_hub.aws.event_store import EventStore, PendingEntry
from webhook_hub.aws.publisher import Publisher
from webhook_hub.budget import Budget
from webhook_hub.core.catalog import EVENT_TYPES
from webhook_hub.core.values import from_iso, iso_utc, utc_days
from webhook_hub.delivery import AwsError, deliver, delivery_of
from webhook_hub.errors import PublishFailed
from webhook_hub.record import PENDING_SHARDS

PER_SHARD_LIMIT = 250
"""Events one sweep tries per shard (2,000 a sweep): bounds one run; the backoff keeps the rest moving."""
CALLS_PER_EVENT = 3
"""Claim, publish, mark: an event is started only when all three fit in the time left."""
CHECK_LAG = 120
"""Seconds behind now the check of recent events reads: by then every delivery received earlier has written its item
and its first lease has run out (the ingest function's timeout is 20 s, the lease 30 s), and the index has caught up."""
FIRST_CHECK = 3_600
"""How far back the first run checks."""
CHECK_SLICE = 300
"""Received seconds checked per step; the cursor is saved after each, so a run cut short loses nothing."""
CHECK_SLICES_PER_RUN = 12
"""At most an hour of received time checked per run (runs are 5 minutes apart): after a pause the check catches
up at twelve times real time, and the shards' sweep still gets its turn."""


@dataclass(frozen=True, slots=True)
class SweepPolicy:
    lease_seconds: int = 30
    max_attempts: int = 10
    """Publish attempts (the ingest path's count too) before an event is ``failed``: about 22 h at the defaults."""
    backoff_seconds: int = 300
    """Wait after the first failed attempt, doubled after each one."""
    max_backoff_seconds: int = 21_600

    def next_try(self, attempt: int) -> int:
        """Seconds from attempt number ``attempt`` to the one after it."""
        return int(min(self.backoff_seconds * 2 ** max(0, attempt - 1), self.max_backoff_seconds))


@dataclass
class SweepReport:
    published: list[str] = field(default_factory=list)
    busy: int = 0
    """Held by an in-flight delivery's lease, or published meanwhile: nothing to do."""
    failed_attempts: int = 0
    """Publish attempts that failed this sweep; those events are tried again after their backoff."""
    gave_up: list[str] = field(default_factory=list)
    """Moved to ``failed`` this sweep."""
    pending: int = 0
    """Events waiting to be published when the sweep looked (not counting ``failed`` ones)."""
    oldest_pending_seconds: int = 0
    stopped_early: bool = False
    """The function's time ran short; the next sweep carries on."""
    found_unfinished: list[str] = field(default_factory=list)
    """Stored, not published and not in ``Pending`` when the check of recent events found them: put there."""

    def add(self, other: SweepReport) -> None:
        self.published += other.published
        self.busy += other.busy
        self.failed_attempts += other.failed_attempts
        self.gave_up += other.gave_up
        self.pending += other.pending
        self.oldest_pending_seconds = max(self.oldest_pending_seconds, other.oldest_pending_seconds)
        self.stopped_early = self.stopped_early or other.stopped_early
        self.found_unfinished += other.found_unfinished


def sweep(
    store: EventStore,
    publisher: Publisher,
    *,
    clock: Callable[[], float],
    budget: Budget,
    policy: SweepPolicy,
) -> SweepReport:
    """Check the recent events, then try every event whose ``sweep_at`` has come, earliest first, at most
    ``PER_SHARD_LIMIT`` per shard."""
    started = clock()
    report = SweepReport()
    report.found_unfinished, caught_up = check_recent(store, started, budget)
    report.stopped_early = not caught_up
    sweeper = _Sweeper(store, publisher, clock, budget, policy, started=started)
    with ThreadPoolExecutor(max_workers=PENDING_SHARDS) as pool:
        for shard_report in pool.map(sweeper.sweep_shard, (str(shard) for shard in range(PENDING_SHARDS))):
            report.add(shard_report)
    return report


def check_recent(store: EventStore, now: float, budget: Budget) -> tuple[list[str], bool]:
    """Put the events received since the last check that no delivery finished into ``Pending``, due now.

    Returns them, and whether the check caught up with ``now - CHECK_LAG`` (else the next run carries on from the
    last slice it finished: a slice cut short is read again, which changes nothing).
    """
    until = int(now) - CHECK_LAG
    after = store.recovery_cursor.read()
    if after is None:
        after = until - FIRST_CHECK
    found: list[str] = []
    for _ in range(CHECK_SLICES_PER_RUN):
        if after >= until:
            return found, True
        end = min(after + CHECK_SLICE, until)
        received = _received_between(store, after, end, budget)
        if received is None or not budget.allows(2):
            return found, False
        for event_id in store.unpublished(received):
            if not budget.allows():
                return found, False
            store.enter_pending(event_id, int(now))
            found.append(event_id)
        store.recovery_cursor.save(end)
        after = end
    return found, after >= until


def _received_between(store: EventStore, after: float, until: float, budget: Budget) -> list[str] | None:
    """Ids of the events of every catalog type received in (``after``, ``until``]; ``None`` if time ran short."""
    start, end = datetime.fromtimestamp(after, UTC), datetime.fromtimestamp(until, UTC)
    found: list[str] = []
    for day in utc_days(start, end):
        for event_type in EVENT_TYPES:
            if not budget.allows():
                return None
            found += [entry["pk"]["S"] for entry in store.of_type(event_type.name, day, iso_utc(start), iso_utc(end))]
    return found


@dataclass(frozen=True, slots=True)
class _Sweeper:
    store: EventStore
    publisher: Publisher
    clock: Callable[[], float]
    budget: Budget
    policy: SweepPolicy
    started: float
    """When the sweep began: the events due then are this sweep's."""

    def sweep_shard(self, shard: str) -> SweepReport:
        report = SweepReport()
        started = self.started
        entries = list(self.store.pending_entries(shard))  # small entries (keys, received_at, attempts)
        report.pending = len(entries)
        received = (from_iso(entry.received_at) for entry in entries)
        oldest = min((at.timestamp() for at in received if at is not None), default=started)
        report.oldest_pending_seconds = max(0, int(started - oldest))
        due = (entry for entry in entries if entry.sweep_at <= started)  # the index keeps them earliest first
        for entry in islice(due, PER_SHARD_LIMIT):
            if not self.budget.allows(CALLS_PER_EVENT):
                report.stopped_early = True
                break
            self._try(entry, report)
        return report

    def _try(self, entry: PendingEntry, report: SweepReport) -> None:
        now = int(self.clock())  # per event: a lease taken late in a long sweep is still a whole lease
        try:
            item = self.store.claim_publish(
                entry.event_id, now, now + self.policy.lease_seconds, now + self.policy.next_try(entry.attempts + 1)
            )
        except AwsError:
            report.failed_attempts += 1
            return
        if item is None:
            report.busy += 1
            return
        try:
            deliver(self.store, self.publisher, delivery_of(item), self.budget, int(item["sweep_at"]["N"]))
        except (PublishFailed, *AwsError):
            report.failed_attempts += 1
            if int(item["attempts"]["N"]) >= self.policy.max_attempts and _give_up(self.store, entry.event_id, now):
                report.gave_up.append(entry.event_id)
            return
        report.published.append(entry.event_id)


def _give_up(store: EventStore, event_id: str, now: int) -> bool:
    try:
        store.mark_failed(event_id, iso_utc(datetime.fromtimestamp(now, UTC)), now)
    except AwsError:
        return False  # still pending: the next sweep gives up on it
    return True
