"""What the local hub shows of a request: the terminal line and the inspector's rows (no AWS here)."""

from __future__ import annotations

from webhook_hub_cli.activity import answer_of, describe
from webhook_hub_cli.inspector import Feed, masked, session_value

TOKEN = "tok3nXYZtok3nXYZtok3nXYZ"


def _row(status: str, **fields: object) -> dict[str, object]:
    return {
        "time": "12:00:00",
        "answer": answer_of(200, f'{{"status": "{status}", "event_id": "e1"}}'),
        "event_id": "e1",
        "event_type": "messages.upsert",
        "instance": "loja",
        "direction": "inbound",
        "chat": "5511@s.whatsapp.net",
        "text": "Olá",
        "summary": {"text": "Olá"},
        **fields,
    }


def test_a_line_ends_with_the_answer() -> None:
    assert (
        describe(_row("accepted")) == '12:00:00  messages.upsert  loja  inbound  5511@s.whatsapp.net  "Olá"  accepted'
    )
    assert describe(_row("duplicate", replay_of=3)).endswith("duplicate (sent again from #3)")
    unclassified = _row("unclassified", valid=False, reasons=["unknown event 'x'"], text=None, summary={})
    assert describe(unclassified).endswith("unclassified (unknown event 'x')")


def test_a_rejected_line_has_our_reason_only() -> None:
    rejected = {"time": "12:00:01", "answer": answer_of(401, '{"error": "unauthorized", "reason": "no match"}')}
    retried = {"time": "12:00:02", "answer": answer_of(503, '{"error": "store_unavailable", "reason": "x"}')}
    no_body = {"time": "12:00:03", "answer": answer_of(404, '{"message":"Not Found"}')}

    assert describe(rejected) == "12:00:01  rejected  401 unauthorized: no match"
    assert describe(retried) == "12:00:02  not accepted (the sender retries)  503 store_unavailable: x"
    assert describe(no_body) == "12:00:03  rejected  404 rejected: Not Found"


def test_a_notification_joins_the_row_that_published_it_whichever_comes_first() -> None:
    feed = Feed()
    early = {"event_id": "e1", "n": 1}
    feed.notified("e1", early)  # the hub publishes before it answers
    accepted = feed.add(_row("accepted"))
    duplicate = feed.add(_row("duplicate"))
    late_row = feed.add(_row("accepted", event_id="e2"))
    feed.notified("e2", {"event_id": "e2"})
    feed.notified("e1", {"event_id": "e1", "n": 2})  # a republication: no row published it, none gets it

    assert accepted["notification"] == early
    assert feed.get(duplicate["id"])["notification"] is None  # type: ignore[index]
    assert feed.get(late_row["id"])["notification"] == {"event_id": "e2"}  # type: ignore[index]
    changed, version = feed.changed_since(0, timeout=0)
    assert [row["id"] for row in changed] == [accepted["id"], duplicate["id"], late_row["id"]]
    assert feed.changed_since(version, timeout=0) == ([], version)


def test_the_feed_keeps_the_newest_rows() -> None:
    feed = Feed(limit=2)
    ids = [feed.add(_row("accepted", event_id=f"e{n}"))["id"] for n in range(3)]

    assert feed.get(ids[0]) is None
    assert feed.get(ids[2]) is not None


def test_the_page_never_gets_the_token() -> None:
    assert TOKEN not in session_value(TOKEN)
    assert session_value(TOKEN) == session_value(TOKEN), "the same cookie after a restart"
    assert session_value(TOKEN) != session_value(TOKEN + "x")
    assert (
        masked(f"http://127.0.0.1:8000/webhook/{TOKEN}")
        == "http://127.0.0.1:8000/webhook/\u2022\u2022\u2022\u2022\u2022\u2022"
    )
