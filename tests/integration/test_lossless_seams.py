"""Where the real sender and real failures meet the hub: late JWT retries, our own misconfiguration, concurrent
copies, secrets at rest, and a hung dependency. Each would lose or leak an event on the code before."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from webhook_hub.aws import clients
from webhook_hub.budget import Budget
from webhook_hub.record import item_text, summary_of
from webhook_hub_cli import local_aws
from webhook_hub_cli.apigw import LambdaContext

from .conftest import invoke, receive_all, sample, scan_items

TOKEN_IN_BODY = "FAKE-INSTANCE-TOKEN-0000-0000-000000000000"


def _subscribe_all(stack: local_aws.LocalStack) -> str:
    return local_aws.subscribe_queue(stack, f"{stack.stack_name}-all", list(stack.topic_arns), raw=True)


def _new_container() -> None:
    """What a new Lambda container would not have: the wiring, the clients, the cached token."""
    import app
    from webhook_hub.aws import secrets

    app._ingest.cache_clear()
    clients._client.cache_clear()
    secrets._provider.cache_clear()


# --- 1. Evolution's jwt_key token is signed once and re-sent on all 10 tries ----------------------------------


def _evolution_jwt(key: str, issued_at: float) -> str:
    claims = {"iat": int(issued_at), "exp": int(issued_at) + 600, "app": "evolution", "action": "webhook"}
    return jwt.encode(claims, key, algorithm="HS256")


def test_the_tenth_try_with_the_first_tries_token_is_accepted(stack: local_aws.LocalStack) -> None:
    """Regression: tries 8-10 carry an expired token; the hub answered 401 and Evolution dropped the event."""
    signed_at = time.time()
    token = _evolution_jwt(stack.token, signed_at)
    body = sample("reference/messages-upsert-text.json")
    headers = {"authorization": f"Bearer {token}"}

    tenth = invoke(stack, body, path="/webhook", headers=headers, at=signed_at + 1_215)
    two_hours_late = invoke(stack, body, path="/webhook", headers=headers, at=signed_at + 7_200)

    assert (tenth.status, tenth.body["status"]) == (200, "accepted")
    assert (two_hours_late.status, two_hours_late.body["error"]) == (401, "unauthorized")
    assert len(scan_items(stack)) == 1


# --- 2. a secret with no usable token is our misconfiguration: 503, never a drop code ---------------------------


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param({"curent": "typo-in-the-key-0123456789"}, id="wrong-json-key"),
        pytest.param({"current": "", "previous": ""}, id="emptied"),
        pytest.param("not json at all", id="not-json"),
        pytest.param(["a", "list"], id="not-an-object"),
    ],
)
def test_a_secret_without_a_usable_token_answers_503_and_loses_nothing(
    stack: local_aws.LocalStack, secret: Any
) -> None:
    """Regression: a rotation typo made every call 401, so the sender dropped every event at once."""
    secrets = local_aws.client("secretsmanager", stack.endpoint_url)
    secret_id = stack.environment["TOKEN_SECRET_ID"]
    secrets.put_secret_value(SecretId=secret_id, SecretString=secret if isinstance(secret, str) else json.dumps(secret))
    _new_container()
    body = sample("reference/messages-upsert-text.json")

    refused = invoke(stack, body)

    assert (refused.status, refused.body["error"]) == (503, "token_misconfigured")
    assert int(refused.headers["retry-after"]) > 0
    assert stack.token not in json.dumps(refused.body)
    assert scan_items(stack) == []
    secrets.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"current": stack.token, "previous": ""}))
    _new_container()
    assert invoke(stack, body).body["status"] == "accepted"  # the sender's retry, once it is fixed


def test_a_secret_the_function_cannot_read_answers_503(stack: local_aws.LocalStack) -> None:
    local_aws.client("secretsmanager", stack.endpoint_url).delete_secret(
        SecretId=stack.environment["TOKEN_SECRET_ID"], ForceDeleteWithoutRecovery=True
    )
    _new_container()

    refused = invoke(stack, sample("reference/call.json"))

    assert (refused.status, refused.body["error"]) == (503, "token_misconfigured")


def test_a_stranger_still_gets_401(stack: local_aws.LocalStack) -> None:
    assert invoke(stack, sample("reference/call.json"), path="/webhook/not-the-token").status == 401


# --- 3. a copy that finds its event being published is answered 2xx -------------------------------------------


def test_a_copy_arriving_while_another_publishes_gets_200_pending(stack: local_aws.LocalStack) -> None:
    """Regression: it got 503 ``in_progress``, firing the 5xx alarm on ordinary local+global traffic."""
    queue = _subscribe_all(stack)
    body = sample("reference/messages-upsert-text.json")
    first = invoke(stack, body)
    local_aws.client("dynamodb", stack.endpoint_url).update_item(  # the first copy's publish "in flight"
        TableName=stack.table_name,
        Key={"pk": {"S": first.body["event_id"]}},
        UpdateExpression="SET #s = :stored, lease_until = :far",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":stored": {"S": "stored"}, ":far": {"N": str(int(time.time()) + 600)}},
    )
    receive_all(stack, queue)

    copy = invoke(stack, body)

    assert (copy.status, copy.body["status"], copy.body["event_id"]) == (200, "pending", first.body["event_id"])
    assert receive_all(stack, queue) == []


# --- 7. secrets at rest ------------------------------------------------------------------------------------------


def test_an_old_token_left_in_a_header_auth_url_is_not_stored_or_published(stack: local_aws.LocalStack) -> None:
    """Regression: the leftover path segment was stored and published as the by-events suffix."""
    queue = _subscribe_all(stack)
    old_token = "old-path-token-Qw3rTy0123456789abcdef"

    answer = invoke(
        stack,
        sample("reference/messages-upsert-text.json"),
        path=f"/webhook/{old_token}",
        headers={"x-webhook-token": stack.token},
    )

    assert answer.status == 200
    (item,) = scan_items(stack)
    (message,) = receive_all(stack, queue)
    assert summary_of(item)["suffix_mismatch"] == "URL suffix names no known event"
    for stored in (item_text(item), json.dumps(message)):
        assert old_token not in stored


def test_a_body_cut_inside_its_apikey_is_quarantined_without_it(stack: local_aws.LocalStack) -> None:
    """Regression: the raw redaction needed the value's closing quote; a truncated body kept the key."""
    whole = json.dumps(sample("reference/messages-upsert-text.json"))
    assert whole.rstrip("}").endswith(f'"apikey": "{TOKEN_IN_BODY}"')
    cut = whole[: whole.index(TOKEN_IN_BODY) + 20]

    answer = invoke(stack, cut)

    assert (answer.status, answer.body["error"]) == (400, "not_json")
    s3 = local_aws.client("s3", stack.endpoint_url)
    (quarantined,) = s3.list_objects_v2(Bucket=stack.bucket_name, Prefix="quarantine/")["Contents"]
    kept = s3.get_object(Bucket=stack.bucket_name, Key=quarantined["Key"])["Body"].read().decode()
    assert TOKEN_IN_BODY[:20] not in kept
    assert kept.endswith('"apikey": "[REDACTED]')


# --- 9. a hung dependency is answered 503 within the function's time ---------------------------------------------


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung AWS endpoint)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.parametrize(("service", "error"), [("dynamodb", "store_unavailable"), ("sns", "publish_failed")])
def test_a_hung_dependency_answers_503_before_the_lambda_timeout(
    stack: local_aws.LocalStack, hung_endpoint: str, monkeypatch: pytest.MonkeyPatch, service: str, error: str
) -> None:
    """Regression: botocore's timeouts and retries (up to 4 tries of 2 s + 5 s a call) outlived the 20 s timeout,
    so Lambda cut the function off mid-call; now one call's worst case is budgeted and every call fits."""
    monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service.upper()}", hung_endpoint)
    _new_container()
    context = LambdaContext(timeout_seconds=20)
    started = time.monotonic()

    answer = invoke(stack, sample("reference/call.json"), context=context)

    elapsed = time.monotonic() - started
    assert (answer.status, answer.body["error"]) == (503, error)
    assert answer.headers["retry-after"]
    assert elapsed < context.timeout_seconds - 1, elapsed
    monkeypatch.delenv(f"AWS_ENDPOINT_URL_{service.upper()}")
    _new_container()


def test_the_budget_refuses_a_call_that_would_not_fit() -> None:
    left = [30_000]
    budget = Budget(lambda: left[0])
    assert budget.allows(3)
    left[0] = clients.CALL_BUDGET_SECONDS * 1_000
    assert not budget.allows()
    assert Budget().allows(1_000)
