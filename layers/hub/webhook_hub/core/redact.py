"""Redaction: the one function applied to a body before it is stored, published or logged.

It removes credentials: the instance token (``apikey``), the server's global key (``api_key`` on the errors
webhook, ``apikey`` on the v1 global webhook), JWTs, auth headers, WhatsApp media keys, and the secret path token
that ``destination`` echoes back, plus any caller-known secret wherever it appears as a substring.

It deliberately keeps two sensitive things, because subscribers need them: the QR login code
(``data.qrcode.code`` / ``base64``), which an app must show to be scanned, and inlined media
(``data.message.base64``) for subscribers that opted in. They stay in the stored and published payload (large
bodies go to S3) and never reach a log, because the pipeline logs no bodies at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

REDACTED = "[REDACTED]"

SECRET_KEYS = frozenset(
    {
        "apikey",
        "api_key",
        "jwt",
        "jwt_key",
        "authorization",
        "token",
        "access_token",
        "password",
        "secret",
        "mediakey",
        "messagesecret",
    }
)
"""Keys (compared in lower case, at any depth) whose non-null values are replaced; the key stays visible."""

URL_KEY = "destination"
"""Echo of the configured webhook URL: its path and query carry our secret token."""

_SECRET, _URL = "secret", "url"
_SPECIAL_KEYS = {**dict.fromkeys(SECRET_KEYS, _SECRET), URL_KEY: _URL}

MIN_SECRET_LENGTH = 8
"""Shorter ``secrets`` are ignored: replacing them would shred ordinary text."""


def redact(payload: Any, secrets: Iterable[str] = ()) -> Any:
    """A redacted copy of a JSON value; the input is left untouched.

    Walks with an explicit stack, so no nesting depth can exhaust the interpreter's recursion limit. Longer
    secrets are replaced first. A secret containing ``]`` could re-form across an inserted marker; tokens never do.
    """
    needles = sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    result: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(payload, result, 0)]  # (value to copy, container of the copy, slot)
    while stack:
        value, target, slot = stack.pop()
        if isinstance(value, dict):
            copy: dict[Any, Any] = {}
            for key, item in value.items():
                special = None
                name = key
                if isinstance(key, str):
                    special = _SPECIAL_KEYS.get(key.lower())
                    if needles:
                        name = _scrub(key, needles)
                if special == _SECRET and item is not None:
                    copy[name] = REDACTED
                elif special == _URL and isinstance(item, str):
                    copy[name] = _scrub(_redact_url(item), needles)
                elif isinstance(item, dict | list):
                    copy[name] = None  # placeholder keeps the key order
                    stack.append((item, copy, name))
                else:
                    copy[name] = _scrub(item, needles) if needles and isinstance(item, str) else item
            target[slot] = copy
        elif isinstance(value, list):
            items = list(value)
            for position, item in enumerate(value):
                if isinstance(item, dict | list):
                    stack.append((item, items, position))
                elif needles and isinstance(item, str):
                    items[position] = _scrub(item, needles)
            target[slot] = items
        else:
            target[slot] = _scrub(value, needles) if needles and isinstance(value, str) else value
    return result[0]


def _scrub(text: str, needles: list[str]) -> str:
    for needle in needles:
        if needle in text:
            text = text.replace(needle, REDACTED)
    return text


def _redact_url(url: str) -> str:
    """Scheme and host only; anything after them (path, query, user info) may hold a credential."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.scheme or not parts.netloc:
        return REDACTED if url else url
    host = parts.netloc.rpartition("@")[2]
    if parts.path in ("", "/") and not parts.query and not parts.fragment and host == parts.netloc:
        return url
    return f"{parts.scheme}://{host}/{REDACTED}"


_SECRET_FIELD = re.compile(
    r'("(?:apikey|api_key|jwt|jwt_key|token|access_token|authorization|password|secret|mediakey|messagesecret'
    r'|destination)"\s*:\s*")(?:[^"\\]|\\.)*("|\\?\Z)',
    re.IGNORECASE,
)
"""A secret field's string value, up to its closing quote, or to the end of a body cut off inside it: ``apikey`` is
the last key of Evolution's envelope, so that is where a truncated body ends."""


def redact_raw(text: str, secrets: Sequence[str] = ()) -> str:
    """Best-effort redaction of a body that is not JSON (cut off, mangled), before it is quarantined.

    Every secret field's value goes, to the end of the text when it never closes, and so does each known secret
    wherever it stands, or its beginning where the text ends inside it.
    """
    text = _SECRET_FIELD.sub(lambda match: match.group(1) + REDACTED + match.group(2), text)
    for secret in sorted((s for s in secrets if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        for length in range(len(secret) - 1, MIN_SECRET_LENGTH - 1, -1):
            if text.endswith(secret[:length]):
                text = text[:-length] + REDACTED
                break
    return text
