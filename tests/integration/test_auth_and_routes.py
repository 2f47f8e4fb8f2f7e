"""Authentication (path, bearer, header, Evolution's jwt_key JWT, rotation) and the routes."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

from webhook_hub_cli import local_aws

from .conftest import invoke, sample, scan_items


def _set_tokens(stack: local_aws.LocalStack, current: str, previous: str) -> None:
    """Rotate as a user would, then start a new container (the old one caches the secret for 5 minutes)."""
    import app

    local_aws.client("secretsmanager", stack.endpoint_url).put_secret_value(
        SecretId=stack.environment["TOKEN_SECRET_ID"],
        SecretString=json.dumps({"current": current, "previous": previous}),
    )
    app._ingest.cache_clear()
    from webhook_hub.aws import secrets

    secrets._provider.cache_clear()


def _evolution_jwt(key: str, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iat": now, "exp": now + 600, "app": "evolution", "action": "webhook", **overrides}
    return jwt.encode(claims, key, algorithm="HS256")


def test_token_in_a_header_or_as_a_bearer_is_accepted(stack: local_aws.LocalStack) -> None:
    upsert = sample("reference/messages-upsert-text.json")
    update = sample("reference/messages-update-read.json")

    by_header = invoke(stack, upsert, path="/webhook", headers={"x-webhook-token": stack.token})
    by_bearer = invoke(stack, update, path="/webhook", headers={"authorization": f"Bearer {stack.token}"})

    assert (by_header.status, by_header.body["status"]) == (200, "accepted")
    assert (by_bearer.status, by_bearer.body["status"]) == (200, "accepted")
    assert len(scan_items(stack)) == 2


def test_by_events_suffix_works_with_path_token_and_with_header_auth(stack: local_aws.LocalStack) -> None:
    with_path_token = invoke(
        stack, sample("reference/messages-upsert-text.json"), path=f"/webhook/{stack.token}/messages-upsert"
    )
    trailing_slash = invoke(stack, sample("reference/call.json"), path=f"/webhook/{stack.token}//call")
    header_auth = invoke(
        stack,
        sample("reference/presence-update.json"),
        path="/webhook/presence-update",
        headers={"x-webhook-token": stack.token},
    )

    assert [answer.status for answer in (with_path_token, trailing_slash, header_auth)] == [200, 200, 200]
    assert header_auth.body["event_type"] == "presence.update"


def test_evolution_jwt_is_verified(stack: local_aws.LocalStack) -> None:
    answer = invoke(
        stack,
        sample("reference/messages-upsert-text.json"),
        path="/webhook",
        headers={"authorization": f"Bearer {_evolution_jwt(stack.token)}"},
    )

    assert (answer.status, answer.body["status"]) == (200, "accepted")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token: _evolution_jwt(token + "wrong"), id="bad-signature"),
        pytest.param(lambda token: _evolution_jwt(token, exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda token: _evolution_jwt(token, iat=int(time.time()) + 3_000), id="issued-in-the-future"),
        pytest.param(lambda token: _evolution_jwt(token, exp=int(time.time()) + 86_400), id="too-long-lived"),
        pytest.param(
            lambda token: jwt.encode(
                {"iat": int(time.time()), "exp": int(time.time()) + 600}, token, algorithm="HS512"
            ),
            id="other-algorithm",
        ),
        pytest.param(
            lambda token: jwt.encode({"iat": int(time.time()), "exp": int(time.time()) + 600}, "", algorithm="none"),
            id="alg-none",
        ),
        pytest.param(
            lambda token: jwt.encode({"iat": int(time.time())}, token, algorithm="HS256"),
            id="no-exp",
        ),
    ],
)
def test_forged_or_stale_jwts_answer_401_and_store_nothing(stack: local_aws.LocalStack, forge: Any) -> None:
    answer = invoke(
        stack,
        sample("reference/messages-upsert-text.json"),
        path="/webhook",
        headers={"authorization": f"Bearer {forge(stack.token)}"},
    )

    assert answer.status == 401
    assert scan_items(stack) == []


def test_both_tokens_work_during_rotation_and_the_old_one_stops_after(stack: local_aws.LocalStack) -> None:
    old, new = stack.token, "rotated-token-0123456789abcdefghij"
    _set_tokens(stack, current=new, previous=old)

    with_new = invoke(stack, sample("reference/messages-upsert-text.json"), path=f"/webhook/{new}")
    with_old = invoke(stack, sample("reference/messages-update-read.json"), path=f"/webhook/{old}")
    _set_tokens(stack, current=new, previous="")
    old_after_rotation = invoke(stack, sample("reference/call.json"), path=f"/webhook/{old}")

    assert (with_new.status, with_old.status, old_after_rotation.status) == (200, 200, 401)


def test_instance_allow_list_refuses_other_instances(
    stack: local_aws.LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app

    monkeypatch.setenv("ALLOWED_INSTANCES", "matriz, filial")
    app._ingest.cache_clear()
    refused = invoke(stack, sample("reference/messages-upsert-text.json"))
    allowed_body = {**sample("reference/messages-upsert-text.json"), "instance": "filial"}
    allowed = invoke(stack, allowed_body)
    server_errors = invoke(stack, sample("reference/error-webhook.json"))  # the server's, no instance
    no_instance = invoke(stack, {**allowed_body, "instance": None})

    assert (refused.status, refused.body["error"]) == (403, "instance_not_allowed")
    assert (no_instance.status, no_instance.body["error"]) == (403, "instance_not_allowed")
    assert allowed.status == 200
    assert (server_errors.status, server_errors.body["event_type"]) == (200, "error")
    assert sorted(item["instance_pk"]["S"] for item in scan_items(stack)) == ["(none)", "filial"]


def test_health_touches_no_aws_and_other_routes_are_refused(stack: local_aws.LocalStack) -> None:
    import app
    from webhook_hub_cli.apigw import LambdaContext, http_api_event

    health = http_api_event("GET", "/health", [], b"")
    get_webhook = http_api_event("GET", "/webhook", [], b"")
    other_path = http_api_event("POST", "/webhooks/t0k3n", [], b"")

    assert health is not None
    assert get_webhook is None  # API Gateway itself answers 404: no GET route on /webhook
    assert other_path is None  # nor any route but /webhook… and /health: the function never sees them
    response = app.lambda_handler(health, LambdaContext())
    assert (response["statusCode"], json.loads(response["body"])) == (200, {"status": "ok"})
    assert scan_items(stack) == []


def test_base64_encoded_body_is_decoded(stack: local_aws.LocalStack) -> None:
    answer = invoke(
        stack,
        json.dumps(sample("reference/messages-upsert-text.json")).encode(),
        headers={"content-type": "application/octet-stream"},
    )

    assert (answer.status, answer.body["status"]) == (200, "accepted")
