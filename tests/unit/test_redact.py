"""redact(): credentials go, what subscribers need stays, the input is never touched."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webhook_hub.core.classify import classify
from webhook_hub.core.redact import REDACTED, redact

Load = Callable[[str], dict[str, Any]]

TOKEN = "FAKE-INSTANCE-TOKEN-0000-0000-000000000000"


def test_instance_token_destination_and_media_keys(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-image-base64.json")
    redacted = redact(body)
    assert redacted["apikey"] == REDACTED
    assert redacted["destination"] == f"https://abc123def4.execute-api.sa-east-1.amazonaws.com/{REDACTED}"
    image = redacted["data"]["message"]["imageMessage"]
    assert image["mediaKey"] == REDACTED
    assert redacted["data"]["message"]["messageContextInfo"]["messageSecret"] == REDACTED
    assert redacted["data"]["message"]["base64"] == body["data"]["message"]["base64"], "opted-in media is kept"
    assert image["caption"] == "Segue a foto do produto"
    assert TOKEN not in json.dumps(redacted)


def test_qr_code_is_kept_for_the_app_that_shows_it(load_body: Load) -> None:
    body = load_body("reference/qrcode-updated.json")
    assert redact(body)["data"] == body["data"]


def test_global_key_of_the_errors_webhook(load_body: Load) -> None:
    redacted = redact(load_body("reference/error-webhook.json"))
    assert redacted["api_key"] == REDACTED
    assert redacted["data"]["message"] == ["number is not a valid WhatsApp number"]


def test_v1_jwt(load_body: Load) -> None:
    redacted = redact(load_body("new-jwt.json"))
    assert redacted["data"] == {"jwt": REDACTED, "instanceName": "loja-centro"}


@pytest.mark.parametrize(
    "key",
    [
        "apikey",
        "APIKEY",
        "apiKey",
        "api_key",
        "jwt",
        "jwt_key",
        "Authorization",
        "token",
        "access_token",
        "Password",
        "secret",
        "mediaKey",
        "messageSecret",
    ],
)
def test_secret_keys_at_any_depth_in_any_case(key: str) -> None:
    payload = {"a": [{"b": {key: "s3cr3t-value"}}], key: {"nested": "s3cr3t-value"}}
    redacted = redact(payload)
    assert redacted == {"a": [{"b": {key: REDACTED}}], key: REDACTED}


def test_null_secret_stays_null_and_other_keys_stay() -> None:
    payload = {"apikey": None, "tokens": "kept", "api": "kept", "secretary": "kept"}
    assert redact(payload) == payload


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://abc.execute-api.sa-east-1.amazonaws.com/prod/webhook/t0k3n",
            f"https://abc.execute-api.sa-east-1.amazonaws.com/{REDACTED}",
        ),
        ("https://hooks.example.test/?token=t0k3n", f"https://hooks.example.test/{REDACTED}"),
        ("https://user:pass@hooks.example.test", f"https://hooks.example.test/{REDACTED}"),
        ("https://hooks.example.test:8443/x#frag", f"https://hooks.example.test:8443/{REDACTED}"),
        ("https://hooks.example.test", "https://hooks.example.test"),
        ("https://hooks.example.test/", "https://hooks.example.test/"),
        ("not a url/with/t0k3n", REDACTED),
        ("http://[::1/broken", REDACTED),
        ("", ""),
    ],
)
def test_destination_keeps_scheme_and_host(url: str, expected: str) -> None:
    assert redact({"destination": url}) == {"destination": expected}
    assert redact({"data": {"Destination": url}}) == {"data": {"Destination": expected}}


def test_known_secrets_are_cut_out_of_any_string() -> None:
    path_token = "t0k3n-abcdefgh"
    payload = {
        "data": {"text": f"my key is {TOKEN}!", "list": ["x", f"{path_token}{path_token}"], f"k-{path_token}": 1},
        "destination": f"https://h.test/{path_token}",
        "short": "abc",
    }
    redacted = redact(payload, [TOKEN, path_token, "abc", ""])
    assert redacted["data"]["text"] == f"my key is {REDACTED}!"
    assert redacted["data"]["list"] == ["x", REDACTED + REDACTED]
    assert redacted["data"][f"k-{REDACTED}"] == 1
    assert redacted["short"] == "abc", "secrets shorter than 8 characters are ignored"
    assert path_token not in json.dumps(redacted)


def test_longer_secret_wins_over_its_prefix() -> None:
    assert redact("x-abcdefgh-ij", ["abcdefgh", "abcdefgh-ij"]) == f"x-{REDACTED}"


def test_scalars_and_top_level_strings() -> None:
    assert redact(None) is None
    assert redact(3.5) == 3.5
    assert redact("plain") == "plain"
    assert redact([TOKEN], [TOKEN]) == [REDACTED]


def test_input_is_untouched_and_output_shares_no_containers(load_body: Load) -> None:
    body = load_body("reference/messages-upsert-image-base64.json")
    before = copy.deepcopy(body)
    redacted = redact(body, [TOKEN])
    assert body == before
    redacted["data"]["key"]["id"] = "changed"
    redacted["data"]["message"]["messageContextInfo"]["deviceListMetadata"]["x"] = 1
    assert body == before


def test_deep_nesting_needs_no_recursion() -> None:
    depth = 50_000
    payload: Any = {"apikey": TOKEN}
    for _ in range(depth):
        payload = {"d": [payload]}
    node = redact(payload)
    for _ in range(depth):
        node = node["d"][0]
    assert node == {"apikey": REDACTED}


def test_summaries_of_the_samples_are_left_as_they_are(sample_path: Path) -> None:
    summary = classify(sample_path.read_bytes()).summary
    assert redact(summary, [TOKEN, "previous-token-1234"]) == summary


@pytest.mark.parametrize(
    ("value", "secrets", "expected"),
    [
        ({"text": f"my token is {TOKEN}"}, [TOKEN], {"text": f"my token is {REDACTED}"}),
        ({f"key{TOKEN}": 1}, [TOKEN], {f"key{REDACTED}": 1}),
        ({"presences": {"ApiKey": "x"}}, [], {"presences": {"ApiKey": REDACTED}}),
        (
            {"inner": [{"DESTINATION": "https://h.example/p"}]},
            [],
            {"inner": [{"DESTINATION": f"https://h.example/{REDACTED}"}]},
        ),
        ({"text": 'a "quoted" secret'}, ['"quoted"'], {"text": f"a {REDACTED} secret"}),
    ],
)
def test_what_a_summary_may_quote_is_redacted(value: Any, secrets: list[str], expected: Any) -> None:
    assert redact(value, secrets) == expected
