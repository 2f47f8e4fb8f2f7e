"""5. Secrets and authentication, through the local hub over HTTP, with its logs captured.

Canaries ride in every place a secret travels: the body's ``apikey``, the errors webhook's ``api_key``,
``new.jwt``'s ``data.jwt``, the ``destination`` echo of the webhook URL, the path token, the token headers
(``x-webhook-token``, ``Authorization: Bearer``, Evolution's signed JWT), and other headers. None may appear in
the table, in S3 (offloaded and quarantined bodies), in any notification (the hub's stdout is a subscriber of
every topic), in the function's logs (the hub's stderr: each container prints Powertools' JSON logs and metrics
there) or in an HTTP answer. The in-process side of authentication is in tests/integration/test_auth_and_routes.py;
this module runs it over HTTP, against the hub's own containers, during a token rotation.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from webhook_hub.record import item_text, summary_of
from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import LambdaContext

from .harness import HubAnswer, LocalHub, api_event, receive_all, s3_objects, sample, scan_items, subscribe_all

CANARY = f"CANARY{uuid.uuid4().hex[:8].upper()}"
APIKEY = f"{CANARY}-APIKEY-0000-4000-8000-000000000001"
GLOBAL_KEY = f"{CANARY}-GLOBALKEY-0000-4000-8000-000000000002"
BODY_JWT = f"eyJhbGciOiJIUzI1NiJ9.{CANARY}JWTPAYLOAD.{CANARY}JWTSIGNATURE"
OTHER_HEADER = f"{CANARY}-COOKIE-SESSION"
NEW_TOKEN = f"rotated{uuid.uuid4().hex}"

USER_URL_LINES = ("Webhook URL: ", "Inspector: ")


@pytest.fixture(scope="module")
def rotating_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A hub of its own whose token is rotated before its containers first read it: ``current`` is new,
    ``previous`` the one it started with, so both must work (containers cache the secret for 5 minutes)."""
    hub = LocalHub(tmp_path_factory.mktemp("secrets-hub"), containers=2)
    try:
        hub.set_tokens(current=NEW_TOKEN, previous=hub.token)
        yield hub
    finally:
        hub.stop()


def _evolution_jwt(key: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook", **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="HS256")


def _with_canaries(name: str, instance: str) -> dict[str, Any]:
    body = sample(name)
    body["instance"] = instance
    if "apikey" in body:
        body["apikey"] = APIKEY
    if "api_key" in body:
        body["api_key"] = GLOBAL_KEY
    if isinstance(body.get("data"), dict) and "jwt" in body["data"]:
        body["data"]["jwt"] = BODY_JWT
    return body


def test_no_secret_reaches_items_objects_notifications_logs_or_answers(rotating_hub: LocalHub) -> None:
    hub = rotating_hub
    old = hub.token
    instance = f"secrets-{uuid.uuid4().hex[:8]}"
    signed = _evolution_jwt(NEW_TOKEN)
    upsert = _with_canaries("reference/messages-upsert-text.json", instance)
    upsert["destination"] = f"https://hub.example.test/webhook/{NEW_TOKEN}"
    upsert["data"]["message"]["conversation"] = f"my token is {NEW_TOKEN} and the old one {old}"
    large = _with_canaries("reference/messages-upsert-image-base64.json", instance)
    large["data"]["message"]["base64"] = base64.b64encode(b"\x89PNG" * 60_000).decode()
    errors = _with_canaries("error.json", instance)
    del errors["instance"]  # the errors webhook is the server's: it names no instance
    calls: list[tuple[bytes, str | None, dict[str, str]]] = [
        (json.dumps(upsert).encode(), None, {"cookie": f"session={OTHER_HEADER}"}),
        (json.dumps(large).encode(), f"webhook/{old}/messages-upsert", {"x-api-key": OTHER_HEADER}),
        (json.dumps(_with_canaries("new-jwt.json", instance)).encode(), "webhook", {"x-webhook-token": NEW_TOKEN}),
        (json.dumps(errors).encode(), "webhook", {"authorization": f"Bearer {old}"}),
        (
            json.dumps(_with_canaries("connection-update.json", instance)).encode(),
            "webhook",
            {"authorization": f"Bearer {signed}"},
        ),
        (
            b'{"event": "messages.upsert", "apikey": "'
            + APIKEY.encode()
            + b'", "token": "'
            + NEW_TOKEN.encode()
            + b'", oops',
            f"webhook/{NEW_TOKEN}",
            {},
        ),
        (json.dumps(upsert).encode(), f"webhook/{NEW_TOKEN}x", {"x-webhook-token": old + "x"}),
        (json.dumps(upsert).encode(), "webhook", {"authorization": f"Bearer {_evolution_jwt(NEW_TOKEN + 'x')}"}),
    ]
    answers: list[HubAnswer] = []
    for body, path, headers in calls:
        answers.append(hub.post(body, path=path if path is not None else f"webhook/{NEW_TOKEN}", headers=headers))

    assert [a.status for a in answers] == [200, 200, 200, 200, 200, 400, 401, 401], answers
    published = hub.wait_for_notifications(lambda n: n["notification"]["instance"] == instance, 4)
    errors_published = hub.wait_for_notifications(lambda n: n["notification"]["event_type"] == "error", 1, quiet=0)
    secrets = [APIKEY, GLOBAL_KEY, BODY_JWT, OTHER_HEADER, NEW_TOKEN, old, signed, CANARY]
    objects = s3_objects(hub.endpoint_url, hub.bucket_name)
    places: dict[str, str] = {
        "items": "\n".join(item_text(item) for item in scan_items(hub.endpoint_url, hub.table_name)),
        "objects": "\n".join(v.decode("utf-8", "replace") for v in objects.values()),
        "notifications": json.dumps([*published, *errors_published]),
        "answers": json.dumps([[a.status, a.body, a.headers] for a in answers]),
        # The two startup lines that hand the user the token-bearing URLs (the webhook's and the inspector's) are
        # the only place the hub prints it, by design; nothing else may.
        "logs": "\n".join(line for line in hub.log().splitlines() if not line.startswith(USER_URL_LINES)),
    }
    assert '"webhook handled"' in places["logs"]
    assert '"webhook rejected"' in places["logs"]
    assert any(key.startswith("quarantine/") for key in objects)
    assert any(key.startswith("payloads/") for key in objects)
    assert "[REDACTED]" in places["objects"]
    assert "[REDACTED]" in places["notifications"]
    for place, text in places.items():
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"{leaked} found in {place}: {_where(text, leaked[0])}"


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(lambda token: ("webhook", {}), id="missing"),
        pytest.param(lambda token: (f"webhook/{token}x", {}), id="wrong-path-token"),
        pytest.param(lambda token: (f"webhook/{token.swapcase()}", {}), id="path-token-in-wrong-case"),
        pytest.param(lambda token: ("webhook", {"x-webhook-token": token[:-1]}), id="wrong-header-token"),
        pytest.param(lambda token: ("webhook", {"authorization": f"Bearer {token}junk"}), id="bearer-with-junk"),
        pytest.param(
            lambda token: ("webhook", {"authorization": "Bearer " + jwt.encode(_claims(), "", algorithm="none")}),
            id="jwt-alg-none",
        ),
        pytest.param(
            lambda token: ("webhook", {"authorization": "Bearer " + jwt.encode(_claims(), token, algorithm="HS384")}),
            id="jwt-other-algorithm",
        ),
        pytest.param(
            lambda token: ("webhook", {"authorization": f"Bearer {_evolution_jwt(token + 'x')}"}),
            id="jwt-bad-signature",
        ),
        pytest.param(
            lambda token: ("webhook", {"authorization": f"Bearer {_evolution_jwt(token, exp=int(time.time()) - 120)}"}),
            id="jwt-expired",
        ),
        pytest.param(
            lambda token: (
                "webhook",
                {"authorization": f"Bearer {_evolution_jwt(token, iat=int(time.time()) + 3_000)}"},
            ),
            id="jwt-issued-in-the-future",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_bad_credentials_answer_401_over_http_and_store_nothing(rotating_hub: LocalHub, credential: Any) -> None:
    instance = f"denied-{uuid.uuid4().hex[:8]}"
    body = json.dumps(_with_canaries("reference/messages-upsert-text.json", instance)).encode()

    path, headers = credential(NEW_TOKEN)
    answer = rotating_hub.post(body, path=path, headers=headers)

    assert (answer.status, answer.body) == (401, {"error": "unauthorized", "reason": "missing or invalid credentials"})
    assert rotating_hub.items_of_instance(instance) == []
    assert rotating_hub.wait_for_notifications(lambda n: n["notification"]["instance"] == instance, 0, quiet=0) == []


def _claims() -> dict[str, int]:
    now = int(time.time())
    return {"iat": now, "exp": now + 600}


@pytest.mark.parametrize("which", ["current", "previous"])
@pytest.mark.parametrize("how", ["path", "header", "bearer", "jwt"])
def test_both_rotation_tokens_work_over_http(rotating_hub: LocalHub, which: str, how: str) -> None:
    token = NEW_TOKEN if which == "current" else rotating_hub.token
    instance = f"rotation-{uuid.uuid4().hex[:8]}"
    body = json.dumps(_with_canaries("reference/messages-upsert-text.json", instance)).encode()
    path, headers = {
        "path": (f"webhook/{token}", {}),
        "header": ("webhook", {"x-webhook-token": token}),
        "bearer": ("webhook", {"authorization": f"Bearer {token}"}),
        "jwt": ("webhook", {"authorization": f"Bearer {_evolution_jwt(token)}"}),
    }[how]

    answer = rotating_hub.post(body, path=path, headers=headers)

    assert (answer.status, answer.body["status"]) == (200, "accepted")
    assert len(rotating_hub.items_of_instance(instance)) == 1


def _where(text: str, secret: str) -> str:
    at = text.find(secret)
    return text[max(0, at - 200) : at + 50]


def test_tokens_quoted_in_a_message_are_scrubbed_from_its_summary(in_process: local_aws.LocalStack) -> None:
    """Regression: the summary (item and notification) quoted a message's text as received, live tokens included;
    only the payload was redacted. Someone sending the webhook URL over WhatsApp published it to every subscriber."""
    import app

    queue_url = subscribe_all(in_process, "all")
    body = sample("reference/messages-upsert-text.json")
    body["data"]["message"]["conversation"] = f"the hub: https://hub.example.test/webhook/{in_process.token}"

    response = app.lambda_handler(api_event(f"/webhook/{in_process.token}", json.dumps(body).encode()), LambdaContext())

    assert response["statusCode"] == 200
    (item,) = scan_items(in_process.endpoint_url, in_process.table_name)
    (message,) = receive_all(in_process.endpoint_url, queue_url)
    assert summary_of(item)["text"] == "the hub: https://hub.example.test/webhook/[REDACTED]"
    assert in_process.token not in item_text(item)
    assert in_process.token not in message["Body"]
