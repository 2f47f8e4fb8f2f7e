"""Property tests: classification never raises on well-formed JSON; redaction never lets a secret through."""

from __future__ import annotations

import copy
import json
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from webhook_hub.core.catalog import EVENT_TYPES, UNCLASSIFIED_TOPIC_KEY, lookup
from webhook_hub.core.classify import (
    MAX_REASON_LENGTH,
    MAX_REASONS,
    UNKNOWN_SUFFIX_NOTE,
    Classification,
    RejectedBody,
    classify,
)
from webhook_hub.core.dedup import MAX_KEY_LENGTH
from webhook_hub.core.notification import Notification, build_notification, message_attributes
from webhook_hub.core.redact import REDACTED, SECRET_KEYS, URL_KEY, redact, redact_raw
from webhook_hub.core.values import compact_json
from webhook_hub.delivery import build_delivery, delivery_of
from webhook_hub.record import build_item

PROPERTY = settings(max_examples=400, deadline=None)


def _json(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
        max_leaves=30,
    )


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
"""Any code point, lone surrogates included (JSON can escape them)."""
PLAIN_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters='"\\'), max_size=12)
"""Text that json.dumps(ensure_ascii=False) writes verbatim, so a substring search on the output is exact."""
JSON_VALUES = _json(ANY_TEXT)
PLAIN_JSON = _json(PLAIN_TEXT)

SPELLINGS = sorted({s for t in EVENT_TYPES for s in (t.name, t.config_name, t.suffix) if s})
EVENT_NAMES = st.sampled_from(SPELLINGS) | st.sampled_from(SPELLINGS).map(str.swapcase) | ANY_TEXT
ENVELOPE = st.dictionaries(
    st.sampled_from(["instance", "date_time", "sender", "server_url", "destination", "apikey", "isLatest"]),
    JSON_VALUES | st.text(max_size=30),
)
SECRETS = st.text(string.ascii_letters + string.digits + "-_", min_size=8, max_size=32).filter(
    lambda secret: any(char.isalpha() and char not in "eE" for char in secret)
)
"""Token-like secrets; a letter other than e keeps them from matching a number in the JSON output."""
SECRET_KEY_NAMES = st.sampled_from(sorted(SECRET_KEYS)).flatmap(
    lambda key: st.lists(st.booleans(), min_size=len(key), max_size=len(key)).map(
        lambda upper: "".join(char.upper() if flag else char for char, flag in zip(key, upper, strict=True))
    )
)
RECEIVED = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _check(c: Classification) -> None:
    """Invariants every classification keeps, whatever the body."""
    if c.known:
        event_type = lookup(c.event_type)
        assert event_type is not None
        assert event_type.name == c.event_type
        assert c.topic_key == (event_type.topic_key if c.valid else UNCLASSIFIED_TOPIC_KEY)
    else:
        assert not c.valid
        assert c.topic_key == UNCLASSIFIED_TOPIC_KEY
        assert c.reasons[0].startswith("unknown event ")
    assert c.valid == (not c.reasons)
    assert len(c.reasons) <= MAX_REASONS
    assert all(len(reason) <= MAX_REASON_LENGTH for reason in c.reasons)
    assert 0 < len(c.event_type) <= 100
    assert re.fullmatch(r"[0-9a-f]{32}", c.event_id)
    assert len(c.dedup_key) <= MAX_KEY_LENGTH
    assert c.occurred_at is None or c.occurred_at.utcoffset() is not None
    json.dumps(c.summary, allow_nan=False)
    Notification.model_validate(build_notification(c, received_at=RECEIVED, payload=redact(c.payload)))
    attributes = message_attributes(c)
    assert len(attributes) <= 10
    assert all(0 < len(value) <= 256 for value in attributes.values())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@PROPERTY
@given(JSON_VALUES)
def test_compact_json_is_json_dumps(value: Any) -> None:
    assert compact_json(value) == _dumps(value)


@PROPERTY
@given(EVENT_NAMES.filter(str.strip), JSON_VALUES, ENVELOPE, st.booleans())
def test_a_stored_item_rebuilds_the_bytes_first_published(
    event: str, data: Any, envelope: dict[str, Any], offloaded: bool
) -> None:
    """A redelivery and the recovery sweep publish what ``delivery_of`` rebuilds from the item: the same bytes as
    the first delivery, for any body (the item holds the ``compact_json`` text, which parses back to the same)."""
    c = classify(json.dumps(envelope | {"event": event, "data": data}))
    payload = redact(c.payload)
    ref = {"bucket": "b", "key": "k", "size": 1, "sha256": "0" * 64} if offloaded else None
    inline = None if offloaded else payload
    first = build_delivery(c, received_at=RECEIVED, payload=inline, payload_ref=ref)
    item = build_item(
        c,
        received_at=RECEIVED,
        payload_json=None if inline is None else compact_json(inline),
        payload_ref=ref,
        lease_until=0,
        sweep_at=0,
        retention_days=30,
    )
    assert delivery_of(item) == first


def _classify_or_reject(body: bytes | str, suffix: str | None = None) -> None:
    try:
        c = classify(body, suffix)
    except RejectedBody as rejected:
        reason: str = rejected.reason
    else:
        _check(c)
        return
    assert reason in {"not_json", "not_object", "no_event"}


@PROPERTY
@given(JSON_VALUES)
def test_any_json_value(value: Any) -> None:
    _classify_or_reject(json.dumps(value))


@PROPERTY
@given(st.binary(max_size=200))
def test_any_bytes(body: bytes) -> None:
    _classify_or_reject(body)


@PROPERTY
@given(EVENT_NAMES, JSON_VALUES, ENVELOPE, st.none() | st.sampled_from(SPELLINGS) | ANY_TEXT)
def test_any_object_with_an_event(event: str, data: Any, envelope: dict[str, Any], suffix: str | None) -> None:
    body = envelope | {"event": event, "data": data}
    if event.strip():
        _check(classify(json.dumps(body), suffix))
    else:
        _classify_or_reject(json.dumps(body), suffix)


def _mutate(data: st.DataObject, node: Any) -> Any:
    """A copy of ``node`` with one field somewhere removed or replaced by arbitrary JSON."""
    if isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(list(node)))
        action = data.draw(st.sampled_from(["descend", "remove", "replace"]))
        if action == "remove":
            return {name: value for name, value in node.items() if name != key}
        return {**node, key: _mutate(data, node[key]) if action == "descend" else data.draw(JSON_VALUES)}
    if isinstance(node, list) and node:
        index = data.draw(st.integers(0, len(node) - 1))
        if data.draw(st.booleans()):
            return node[:index] + node[index + 1 :]
        return [*node[:index], _mutate(data, node[index]), *node[index + 1 :]]
    return data.draw(JSON_VALUES)


@PROPERTY
@given(st.data())
def test_mutated_real_samples(samples: list[dict[str, Any]], data: st.DataObject) -> None:
    body: Any = data.draw(st.sampled_from(samples))
    for _ in range(data.draw(st.integers(1, 3))):
        body = _mutate(data, body)
    _classify_or_reject(json.dumps(body))


@PROPERTY
@given(st.data(), ANY_TEXT)
def test_samples_under_any_suffix_keep_their_classification(
    samples: list[dict[str, Any]], data: st.DataObject, suffix: str
) -> None:
    body = json.dumps(data.draw(st.sampled_from(samples)))
    plain, suffixed = classify(body), classify(body, suffix)
    assert (suffixed.event_type, suffixed.valid, suffixed.dedup_key) == (plain.event_type, plain.valid, plain.dedup_key)


def _plant(data: st.DataObject, tree: Any, planted: Callable[[Any], Any]) -> Any:
    """A copy of ``tree`` where one randomly chosen node is replaced by ``planted(node)``."""
    if isinstance(tree, dict) and tree and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(list(tree)))
        return {**tree, key: _plant(data, tree[key], planted)}
    if isinstance(tree, list) and tree and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(tree) - 1))
        return [*tree[:index], _plant(data, tree[index], planted), *tree[index + 1 :]]
    return planted(tree)


def _redacted_text(tree: Any, secrets: list[str]) -> str:
    before = copy.deepcopy(tree)
    text = json.dumps(redact(tree, secrets), ensure_ascii=False)
    assert tree == before, "redact() must not touch its input"
    return text


@PROPERTY
@given(st.data(), PLAIN_JSON, SECRET_KEY_NAMES, SECRETS)
def test_secret_under_a_secret_key_never_survives(data: st.DataObject, tree: Any, key: str, secret: str) -> None:
    assume(secret not in json.dumps(tree, ensure_ascii=False) and secret not in REDACTED)
    value = data.draw(st.sampled_from([secret, [secret], {"inner": secret}]))
    planted = _plant(data, tree, lambda node: {key: value, "sibling": node})
    assert secret in json.dumps(planted, ensure_ascii=False)
    assert secret not in _redacted_text(planted, [])


@PROPERTY
@given(st.data(), PLAIN_JSON, SECRETS, PLAIN_TEXT, PLAIN_TEXT)
def test_known_secret_never_survives_anywhere(
    data: st.DataObject, tree: Any, secret: str, prefix: str, suffix: str
) -> None:
    assume(secret not in REDACTED)
    text = f"{prefix}{secret}{suffix}"
    shapes: list[Callable[[Any], Any]] = [lambda _: text, lambda node: {text: node}, lambda node: [node, text]]
    planted = _plant(data, tree, data.draw(st.sampled_from(shapes)))
    assert secret not in _redacted_text(planted, [secret])


@PROPERTY
@given(_json(PLAIN_TEXT.filter(lambda key: key.lower() not in SECRET_KEYS | {URL_KEY})))
def test_redaction_leaves_everything_else_equal(tree: Any) -> None:
    assert redact(tree) == tree


# --- Secrets at rest: cut-off bodies and leftover path segments (issue: lossless at the seams) ------------------

HEX_SECRETS = st.text("0123456789abcdef", min_size=20, max_size=40)
WORDS = st.text("ghijklmnopqrstuvwxyz çãé😀", max_size=40)
"""Body text that never holds eight characters of a hex secret."""


def _windows(secret: str, size: int = 8) -> set[str]:
    return {secret[start : start + size] for start in range(len(secret) - size + 1)}


@PROPERTY
@given(HEX_SECRETS, HEX_SECRETS, WORDS, st.booleans(), st.data())
def test_a_body_cut_anywhere_keeps_no_secret_when_quarantined(
    apikey: str, token: str, text: str, quoted: bool, data: st.DataObject
) -> None:
    """Regression: a body cut inside its ``apikey`` value (the envelope's last key) was quarantined with the key."""
    body = json.dumps(
        {
            "event": "messages.upsert",
            "instance": "loja",
            "data": {"message": {"conversation": f"{text} {token} {text}" if quoted else text}},
            "destination": f"https://hub.example.test/webhook/{token}",
            "date_time": "2026-01-01T09:00:00.000Z",
            "apikey": apikey,
        },
        ensure_ascii=False,
    )
    cut = body[: data.draw(st.integers(0, len(body)))]
    kept = redact_raw(cut, [token])
    assert not any(window in kept for window in _windows(apikey) | _windows(token)), kept


IDLESS_EVENTS = st.sampled_from(["connection.update", "presence.update", "labels.association", "groups.update"])
STAMPS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1)).map(
    lambda moment: moment.isoformat(timespec="milliseconds") + "Z"
)


@PROPERTY
@given(IDLESS_EVENTS, PLAIN_JSON, STAMPS, STAMPS, PLAIN_JSON)
def test_distinct_events_never_share_a_key(event: str, data: Any, stamp: str, other_stamp: str, other: Any) -> None:
    """Two id-less events differ in content or in the sender's ``date_time`` (built once per event): never merged,
    even within one minute; a byte-identical retry always gets the same key."""
    first = {"event": event, "instance": "loja", "data": data, "date_time": stamp}
    second = {"event": event, "instance": "loja", "data": other, "date_time": other_stamp}
    body = json.dumps(first)
    assert classify(body).dedup_key == classify(body).dedup_key
    if (data, stamp) != (other, other_stamp) and json.dumps(data, sort_keys=True) != json.dumps(other, sort_keys=True):
        assert classify(json.dumps(second)).dedup_key != classify(body).dedup_key
    if stamp != other_stamp:
        assert classify(json.dumps(first | {"date_time": other_stamp})).dedup_key != classify(body).dedup_key


@PROPERTY
@given(st.data(), st.text(string.ascii_letters + string.digits + "-_", min_size=12, max_size=40))
def test_a_suffix_that_names_no_event_is_never_stored_or_published(
    samples: list[dict[str, Any]], data: st.DataObject, leftover: str
) -> None:
    """Regression: with header/JWT auth, an old token left in the URL was stored and published as the suffix."""
    assume(lookup(leftover) is None)
    body = json.dumps(data.draw(st.sampled_from(samples)))

    def notification(suffix: str | None) -> str:
        c = classify(body, suffix)
        return compact_json(build_notification(c, received_at=RECEIVED, payload=redact(c.payload)))

    assume(leftover not in notification(None))
    # The one thing the suffix adds is the fixed note ``"suffix_mismatch":"URL suffix names no known event"``.
    assert leftover not in notification(leftover).replace(f'"suffix_mismatch":"{UNKNOWN_SUFFIX_NOTE}"', "")
