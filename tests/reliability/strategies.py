"""Hypothesis strategies for hostile webhook calls, derived from the real sample bodies in events/bodies.

Each strategy draws a ``Call``: the bytes API Gateway hands the function, how they are framed (content type,
base64), the credential and path, and what the answer must be (``expect``: an exact status, or ``None`` where
either answer is right, e.g. a percent-encoded token that API Gateway would decode and the local one does not).
The expectation is an oracle written from the contract (status table in README.md), not from the handler.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from hypothesis import strategies as st

from webhook_hub.core.catalog import EVENT_TYPES

from .harness import sample, sample_names

LAMBDA_LIMIT = 6_291_456
SAMPLES: list[tuple[str, dict[str, Any]]] = [(name, sample(name)) for name in sample_names()]
SPELLINGS = sorted({s for t in EVENT_TYPES for s in (t.name, t.config_name, t.suffix) if s})
SUFFIXES = sorted({t.suffix for t in EVENT_TYPES if t.suffix})

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Call:
    """One hostile request; ``render`` turns the credential into path and headers with the stack's token."""

    label: str
    body: bytes
    content_type: str = "application/json"
    base64_mode: str = "auto"
    """``auto``: as API Gateway frames it; ``valid``: base64 even for a text type; ``invalid``: not base64."""
    credential: str = "path"
    suffix: str = ""
    expect: int | None = 200


def _check_body(body: bytes) -> int:
    """The contract's answer to an authenticated body: 200 for an event object, 413 over 6 MB, else 400."""
    if len(body) > LAMBDA_LIMIT:
        return 413
    try:
        text = body.decode("utf-8")

        def finite(number: str) -> float:
            value = float(number)
            if value in (float("inf"), float("-inf")):
                raise ValueError("not finite")
            return value

        def constant(name: str) -> Any:
            raise ValueError(name)

        parsed = json.JSONDecoder(parse_float=finite, parse_constant=constant).decode(text)
    except (ValueError, RecursionError):
        return 400
    if not isinstance(parsed, dict):
        return 400
    event = parsed.get("event")
    return 200 if isinstance(event, str) and event.strip() else 400


def _encode(document: Any, ascii_only: bool = False, indent: int | None = None) -> bytes:
    text = json.dumps(document, ensure_ascii=ascii_only, indent=indent, allow_nan=False)
    return text.encode("utf-8", "surrogatepass")


# --- values ------------------------------------------------------------------------------------------------

ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "null",
        "{}",
        "[]",
        "\x00",
        "\ufeff",
        "\uffff",
        "\U0001d54f",
        "ção",
        "../../etc/passwd",
        "%00%2e%2e",
        "${jndi:ldap://127.0.0.1/x}",
        "<script>alert(1)</script>",
        "'; DROP TABLE events; --",
        "\u202eRTL",
        "A" * 1_000,
        "5511900000001@s.whatsapp.net",
        "120363000000000000@g.us",
        "status@broadcast",
        "123@lid",
    ]
)
ODD_NUMBERS = st.sampled_from(
    [0, -1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 2**64, 10**30, 10**300, 1e308, -1e308, 5e-324, -0.0, 0.1]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    ODD_NUMBERS,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    ODD_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=8,
)
EVENT_NAMES = st.one_of(
    st.sampled_from(SPELLINGS),
    st.sampled_from(SPELLINGS).map(str.swapcase),
    st.sampled_from(SPELLINGS).map(lambda name: f"  {name}\t"),
    st.sampled_from(["", "   ", "group.join-request", "x" * 300, "messages..upsert", "MESSAGES-UPSERT"]),
    st.text(max_size=30),
    SCALARS,
)


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every location inside a JSON value (not the root itself)."""
    found: list[Path] = []
    items: list[tuple[str | int, Any]] = (
        list(value.items()) if isinstance(value, dict) else list(enumerate(value)) if isinstance(value, list) else []
    )
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def _parent(document: Any, path: Path) -> Any:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


def _mutate(draw: st.DrawFn, document: dict[str, Any]) -> str:
    """One mutation at a drawn location; returns its name (for the call's label)."""
    locations = paths(document)
    operation = draw(st.sampled_from(["remove", "retype", "string", "add", "event", "ids"]))
    if operation == "event":
        document["event"] = draw(EVENT_NAMES)
        return operation
    if operation == "ids":
        stamp = draw(st.integers(0, 10**9))
        for location in locations:
            if location[-1] in ("id", "keyId", "messageId", "remoteJid", "date_time"):
                parent = _parent(document, location)
                value = parent[location[-1]]
                if isinstance(value, str):
                    parent[location[-1]] = f"{value[:40]}-{stamp}"
        return operation
    if not locations:
        return "none"
    location = draw(st.sampled_from(locations))
    parent = _parent(document, location)
    key = location[-1]
    if operation == "remove":
        del parent[key]
    elif operation == "retype":
        parent[key] = draw(VALUES.filter(lambda v: type(v) is not type(parent[key])))
    elif operation == "string":
        current = parent[key]
        text = current if isinstance(current, str) else json.dumps(current)
        parent[key] = draw(
            st.sampled_from([text.upper(), text[: len(text) // 2], text + "\u0000junk", text * 3, ""]) | ODD_STRINGS
        )
    else:
        target = parent[key] if isinstance(parent[key], dict) else parent if isinstance(parent, dict) else document
        target[draw(st.text(max_size=12))] = draw(VALUES)
    return operation


@st.composite
def mutated_documents(draw: st.DrawFn, max_mutations: int = 4) -> tuple[str, Any]:
    """A sample body with up to ``max_mutations`` fields removed, retyped, rewritten or added."""
    name, original = draw(st.sampled_from(SAMPLES))
    document = copy.deepcopy(original)
    done = [_mutate(draw, document) for _ in range(draw(st.integers(0, max_mutations)))]
    return f"{name}:{'+'.join(done) or 'as-is'}", document


# --- 1. body mutations -------------------------------------------------------------------------------------


@st.composite
def mutated_calls(draw: st.DrawFn) -> Call:
    label, document = draw(mutated_documents())
    body = _encode(document, ascii_only=draw(st.booleans()), indent=draw(st.sampled_from([None, None, 2])))
    return Call(label, body, expect=_check_body(body))


# --- 2. encodings, framing, content types -------------------------------------------------------------------

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/JSON",
        "text/plain",
        "text/html; charset=iso-8859-1",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "image/png",
        "",
        "application/xml",
    ]
)


def _corrupt(draw: st.DrawFn, body: bytes, document: Any) -> tuple[str, bytes]:
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "truncated",
                "invalid-utf8",
                "bom",
                "utf16",
                "latin1",
                "not-object",
                "no-event",
                "garbage",
                "empty",
                "form",
                "nan",
                "trailing",
                "concatenated",
                "duplicate-key",
                "comment",
                "surrogate-escape",
            ]
        )
    )
    text = body.decode("utf-8", "surrogatepass")
    if kind == "truncated":
        return kind, body[: draw(st.integers(0, max(0, len(body) - 1)))]
    if kind == "invalid-utf8":
        at = draw(st.integers(0, len(body)))
        return kind, body[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80"])) + body[
            at:
        ]
    if kind == "bom":
        return kind, b"\xef\xbb\xbf" + body
    if kind == "utf16":
        return kind, text.encode("utf-16", "surrogatepass")
    if kind == "latin1":
        return kind, text.encode("latin-1", "replace")
    if kind == "not-object":
        return kind, _encode(draw(st.one_of(st.lists(VALUES, max_size=3), SCALARS)))
    if kind == "no-event":
        stripped = dict(document) if isinstance(document, dict) else {}
        stripped.pop("event", None)
        if draw(st.booleans()):
            stripped["event"] = draw(st.sampled_from([None, 1, "", "   ", [], {}, True]))
        return kind, _encode(stripped)
    if kind == "garbage":
        return kind, draw(st.binary(max_size=200))
    if kind == "empty":
        return kind, b""
    if kind == "form":
        return kind, b"event=messages.upsert&instance=x&data=%7B%7D"
    if kind == "nan":
        return kind, body.replace(b":", b":NaN,", 1) if b":" in body else b'{"event":"call","x":NaN}'
    if kind == "trailing":
        return kind, body + draw(st.sampled_from([b" \n\t", b"x", b"}", b"\x00"]))
    if kind == "concatenated":
        return kind, body + body
    if kind == "duplicate-key":
        return kind, b'{"event": 42, ' + body[1:] if body.startswith(b"{") else body
    if kind == "comment":
        return kind, b"// webhook\n" + body
    if kind == "surrogate-escape":
        return kind, b'{"event": "messages.upsert", "instance": "x\\ud83d", "data": {"t": "\\udc00"}}'
    return kind, body


@st.composite
def encoded_calls(draw: st.DrawFn) -> Call:
    label, document = draw(mutated_documents(max_mutations=1))
    body = _encode(document, ascii_only=draw(st.booleans()))
    kind, body = _corrupt(draw, body, document)
    mode = draw(st.sampled_from(["auto", "auto", "valid", "invalid"]))
    expect = 400 if mode == "invalid" else _check_body(body)
    return Call(f"{label}:{kind}:{mode}", body, draw(CONTENT_TYPES), mode, expect=expect)


# --- 3. credentials, paths and headers ----------------------------------------------------------------------

GOOD_CREDENTIALS = [
    "path",
    "path-double-slash",
    "path-trailing-slash",
    "path-suffix",
    "path-double-slash-suffix",
    "header",
    "header-padded",
    "bearer",
    "bearer-lowercase",
    "bearer-double-space",
    "jwt",
    "wrong-path-good-header",
    "good-path-wrong-header",
]
BAD_CREDENTIALS = [
    "none",
    "path-swapcase",
    "path-prefix",
    "path-truncated",
    "path-second-segment",
    "header-swapcase",
    "header-junk",
    "header-wrong-name",
    "header-twice",
    "bearer-junk",
    "bearer-jwt-shaped-junk",
    "bearer-alone",
    "bearer-twice",
    "basic",
    "token-scheme",
    "jwt-alg-none",
    "jwt-hs512",
    "jwt-bad-signature",
    "jwt-expired",
    "jwt-future-iat",
    "jwt-no-exp",
    "jwt-long-lived",
]
EITHER_CREDENTIALS = ["path-percent-encoded", "path-dot-segments"]
"""API Gateway decodes path parameters and the local gateway does not: 200 or 401 are both right."""


@st.composite
def credential_calls(draw: st.DrawFn) -> Call:
    label, document = draw(mutated_documents(max_mutations=1))
    body = _encode(document)
    credential = draw(st.sampled_from(GOOD_CREDENTIALS + BAD_CREDENTIALS + EITHER_CREDENTIALS))
    suffix = draw(st.sampled_from([*SUFFIXES[:6], "..", "%2e%2e/x", "a/b/c", "MESSAGES_UPSERT"]))
    body_answer = _check_body(body)
    if credential in GOOD_CREDENTIALS:
        expect: int | None = body_answer
    elif credential in BAD_CREDENTIALS:
        expect = 413 if body_answer == 413 else 401
    else:
        expect = None
    return Call(f"{label}:{credential}", body, credential=credential, suffix=suffix, expect=expect)


def _jwt(key: str, algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook", **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key if algorithm != "none" else "", algorithm=algorithm)


def render(call: Call, token: str, header_name: str = "x-webhook-token") -> tuple[str, list[tuple[str, str]]]:
    """Path and headers of ``call`` for a stack whose live token is ``token``."""
    c, suffix = call.credential, call.suffix
    headers: list[tuple[str, str]] = []
    paths_by_credential: dict[str, str] = {
        "path": f"/webhook/{token}",
        "path-double-slash": f"/webhook//{token}",
        "path-trailing-slash": f"/webhook/{token}/",
        "path-suffix": f"/webhook/{token}/{suffix}",
        "path-double-slash-suffix": f"/webhook/{token}//{suffix}",
        "path-swapcase": f"/webhook/{token.swapcase()}",
        "path-prefix": f"/webhook/{token}x",
        "path-truncated": f"/webhook/{token[:-1]}",
        "path-second-segment": f"/webhook/{suffix.split('/')[0] or 'x'}/{token}",
        "path-percent-encoded": f"/webhook/%{ord(token[0]):02X}{token[1:]}",
        "path-dot-segments": f"/webhook/x/../{token}",
        "wrong-path-good-header": "/webhook/not-the-token",
        "good-path-wrong-header": f"/webhook/{token}",
    }
    path = paths_by_credential.get(c, "/webhook")
    bearer: dict[str, Callable[[], str]] = {
        "bearer": lambda: f"Bearer {token}",
        "bearer-lowercase": lambda: f"bearer {token}",
        "bearer-double-space": lambda: f"Bearer  {token}",
        "jwt": lambda: f"Bearer {_jwt(token)}",
        "bearer-junk": lambda: f"Bearer {token[::-1]}",
        "bearer-jwt-shaped-junk": lambda: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln\u00e9",
        "bearer-alone": lambda: "Bearer",
        "basic": lambda: "Basic " + base64.b64encode(f"user:{token}".encode()).decode(),
        "token-scheme": lambda: f"Token {token}",
        "jwt-alg-none": lambda: f"Bearer {_jwt(token, 'none')}",
        "jwt-hs512": lambda: f"Bearer {_jwt(token, 'HS512')}",
        "jwt-bad-signature": lambda: f"Bearer {_jwt(token + 'x')}",
        "jwt-expired": lambda: f"Bearer {_jwt(token, exp=int(time.time()) - 120)}",
        "jwt-future-iat": lambda: f"Bearer {_jwt(token, iat=int(time.time()) + 3_000)}",
        "jwt-no-exp": lambda: f"Bearer {_jwt(token, exp=None)}",
        "jwt-long-lived": lambda: f"Bearer {_jwt(token, exp=int(time.time()) + 86_400)}",
    }
    if c in bearer:
        headers.append(("authorization", bearer[c]()))
    elif c == "bearer-twice":
        headers += [("authorization", f"Bearer {token}"), ("authorization", "Bearer junk")]
    elif c in ("header", "wrong-path-good-header"):
        headers.append((header_name, token))
    elif c == "header-padded":
        headers.append((header_name, f"  {token} "))
    elif c == "header-swapcase":
        headers.append((header_name, token.swapcase()))
    elif c == "header-junk":
        headers.append((header_name, token + "junk"))
    elif c == "header-wrong-name":
        headers.append((header_name + "s", token))
    elif c == "header-twice":
        headers += [(header_name, token), (header_name.upper(), token)]
    elif c == "good-path-wrong-header":
        headers.append((header_name, "wrong"))
    return path, headers


# --- 4. extremes: nesting, numbers, huge strings, oversize ---------------------------------------------------


def _nest(depth: int, as_list: bool) -> str:
    return ("[" * depth + "]" * depth) if as_list else ('{"a":' * depth + "1" + "}" * depth)


@st.composite
def extreme_calls(draw: st.DrawFn) -> Call:
    kind = draw(
        st.sampled_from(["deep-ok", "deep-too-deep", "big-int", "huge-int", "float", "huge-string", "many", "oversize"])
    )
    name, original = draw(st.sampled_from(SAMPLES))
    document = copy.deepcopy(original)
    head = f'{{"event": {json.dumps(document.get("event", "call"))}, "instance": "x", "data": '
    if kind == "deep-ok":
        depth = draw(st.integers(1, 500))
        body = (head + _nest(depth, draw(st.booleans())) + "}").encode()
    elif kind == "deep-too-deep":
        depth = draw(st.integers(2_000, 50_000))
        body = (head + _nest(depth, draw(st.booleans())) + "}").encode()
    elif kind in ("big-int", "huge-int"):
        digits = draw(st.integers(20, 4_300) if kind == "big-int" else st.integers(4_301, 20_000))
        body = (head + '{"messageTimestamp": ' + "9" * digits + "}}").encode()
    elif kind == "float":
        number = draw(st.sampled_from(["1e400", "-1e400", "1e-400", "1.7976931348623157e308", "-0.0", "1E+2"]))
        body = (head + '{"n": ' + number + "}}").encode()
    elif kind == "many":
        count = draw(st.sampled_from([1_000, 10_000, 50_000]))
        if draw(st.booleans()):
            body = (head + json.dumps({f"k{i}": i for i in range(count)}) + "}").encode()
        else:
            body = (head + json.dumps(list(range(count))) + "}").encode()
    elif kind == "huge-string":
        size = draw(st.sampled_from([10_000, 150_000, 210_000, 270_000, 420_000, 1_000_000]))
        locations = [p for p in paths(document) if not isinstance(_parent(document, p)[p[-1]], dict | list)]
        location = draw(st.sampled_from([("instance",), ("event",), *locations]))
        parent = _parent(document, location)
        if isinstance(parent, list) and isinstance(location[-1], int) and location[-1] >= len(parent):
            location = ("instance",)
            parent = document
        char = draw(st.sampled_from(["a", "ç", "\U0001f600", "\\", '"']))
        parent[location[-1]] = char * (size // len(json.dumps(char, ensure_ascii=False).encode()) + 1)
        body = _encode(document)
        name = f"{name}:{'.'.join(map(str, location))}"
    else:
        over = draw(st.integers(1, 100_000))
        valid = draw(st.booleans())
        filler = "x" * (LAMBDA_LIMIT + over)
        body = (head + json.dumps(filler) + "}").encode() if valid else filler.encode()
        body = body[: LAMBDA_LIMIT + over]
    return Call(f"{name}:{kind}", body, expect=_check_body(body))
