"""The handler and the recovery sweep run with the permissions the template gives them, and no others.

The roles are built from the SAM-transformed template (``tools/sam_transform.py`` with the translator of
``.venv-sam``, as ``sam deploy`` transforms it), their ``Ref``/``GetAtt``/``Sub`` resolved to this stack's
resources on moto's account and region. The functions' own code then runs with the credentials of those roles
against a moto server that enforces IAM (``INITIAL_NO_AUTH_ACTION_COUNT`` 0): a call its role does not allow
is denied and the handler answers 5xx, which these tests see.

Two halves, because moto authorises DynamoDB, SNS and Secrets Manager calls against the resource ``*`` (only
S3, SQS, IAM and STS name the resource): moto checks the actions, with those services' statements widened to
``*``; the resources of every call the functions make (recorded from botocore's own events, not patched) are
checked here against the statements as the template writes them, IAM's wildcards and all.

moto's enforcement is a process-wide setting, so this module runs its own moto server in a child process; the
session's emulator, shared by the other tests, never enforces anything.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from webhook_hub.aws import clients, secrets
from webhook_hub.core.classify import classify
from webhook_hub.record import build_item
from webhook_hub_cli import local_aws
from webhook_hub_cli import template as stack_template
from webhook_hub_cli.apigw import LambdaContext

from .conftest import invoke, sample

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
RESOURCE_STAR_SERVICES = {"dynamodb", "sns", "secretsmanager", "kms"}
"""Services whose calls moto authorises against the resource ``*`` (moto/core/responses.py ``call_action``)."""
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
SERVE = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the test process closes it
server.stop()
"""

Statement = dict[str, Any]


@pytest.fixture(scope="module")
def transformed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """template.yaml as CloudFormation gets it after the SAM transform (the roles SAM generates)."""
    if not SAM_PYTHON.exists():
        pytest.fail(f"{SAM_PYTHON} is missing: `make .venv-sam/.installed` (make unit depends on it)")
    target = tmp_path_factory.mktemp("sam") / "transformed.json"
    subprocess.run(
        [str(SAM_PYTHON), str(ROOT / "tools" / "sam_transform.py"), str(ROOT / "template.yaml"), str(target)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    document: dict[str, Any] = json.loads(target.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def enforcing_moto() -> Iterator[str]:
    """A moto server of its own (a child process, stopped when its stdin closes); enforcement starts later."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},  # the roles' AWS managed policies
    )
    assert process.stdout is not None
    assert process.stdin is not None
    port = int(process.stdout.readline())
    yield f"http://127.0.0.1:{port}"
    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def resolve(node: Any, names: dict[str, str], arns: dict[str, str]) -> Any:
    """``Ref``, ``Fn::GetAtt ... Arn`` and ``Fn::Sub`` with this stack's names, ARNs and pseudo parameters."""
    if isinstance(node, list):
        return [resolve(value, names, arns) for value in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"}:
        return names[node["Ref"]]
    if set(node) == {"Fn::GetAtt"}:
        logical_id, attribute = node["Fn::GetAtt"]
        assert attribute == "Arn", node
        return arns[logical_id]
    if set(node) == {"Fn::Sub"}:
        variables = {**names, **{f"{logical_id}.Arn": arn for logical_id, arn in arns.items()}}
        return re.sub(r"\$\{([^}]+)\}", lambda match: variables[match.group(1)], node["Fn::Sub"])
    return {key: resolve(value, names, arns) for key, value in node.items()}


@dataclass
class Role:
    name: str
    statements: list[Statement]
    """The inline statements exactly as the transformed template gives them, resolved for this stack."""
    credentials: dict[str, str] = field(default_factory=dict)


@dataclass
class Hub:
    stack: local_aws.LocalStack
    admin: tuple[str, str]
    """Access key id and secret of a user allowed everything: the tests' own looks at the stack."""
    roles: dict[str, Role]
    queue_url: str

    def client(self, service: str) -> Any:
        key_id, secret = self.admin
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.stack.endpoint_url,
            region_name=local_aws.REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def grant(self, role: Role, statements: list[Statement]) -> None:
        """The role's inline policy as moto enforces it: statements of resource-``*`` services widened."""
        enforced = copy.deepcopy(statements)
        for statement in enforced:
            if {action.split(":")[0] for action in as_list(statement["Action"])} <= RESOURCE_STAR_SERVICES:
                statement["Resource"] = "*"
        document = {"Version": "2012-10-17", "Statement": enforced}
        self.client("iam").put_role_policy(
            RoleName=role.name, PolicyName=f"{role.name}Policy0", PolicyDocument=json.dumps(document)
        )

    def messages(self) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", []):
            found += batch
            for message in batch:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def hub(enforcing_moto: str, transformed: dict[str, Any]) -> Hub:
    """The stack on the enforcing server, one role per function, an admin for the tests' own looks; then IAM on."""
    stack = local_aws.provision(enforcing_moto, "permissions", tap=False)
    queue_url = local_aws.subscribe_queue(stack, "permissions-subscriber", list(stack.topic_arns), raw=True)
    iam, sts = local_aws.client("iam", enforcing_moto), local_aws.client("sts", enforcing_moto)
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    admin = (key["AccessKeyId"], key["SecretAccessKey"])
    names = {
        "AWS::Partition": "aws",
        "AWS::Region": local_aws.REGION,
        "AWS::AccountId": local_aws.ACCOUNT_ID,
        "AWS::StackName": stack.stack_name,
        "WebhookToken": stack.environment["TOKEN_SECRET_ID"],
    }
    arns = {
        "EventsTable": f"arn:aws:dynamodb:{local_aws.REGION}:{local_aws.ACCOUNT_ID}:table/{stack.table_name}",
        "PayloadBucket": f"arn:aws:s3:::{stack.bucket_name}",
    }
    roles: dict[str, Role] = {}
    for function in ("IngestFunction", "RecoverFunction"):
        properties = transformed["Resources"][f"{function}Role"]["Properties"]
        (policy,) = properties["Policies"]
        role = Role(f"{function}Role", resolve(policy["PolicyDocument"]["Statement"], names, arns))
        iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"]))
        for managed in properties["ManagedPolicyArns"]:  # logs and X-Ray only; the code calls neither
            iam.attach_role_policy(RoleName=role.name, PolicyArn=managed)
        arn = f"arn:aws:iam::{local_aws.ACCOUNT_ID}:role/{role.name}"
        assumed = sts.assume_role(RoleArn=arn, RoleSessionName=function)["Credentials"]
        role.credentials = {
            "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
            "AWS_SESSION_TOKEN": assumed["SessionToken"],
        }
        roles[function] = role
    found = Hub(stack, admin, roles, queue_url)
    for role in roles.values():
        found.grant(role, role.statements)
    reset_auth = f"{enforcing_moto}/moto-api/reset-auth"  # the test's own server, on loopback
    enforce = urllib.request.Request(reset_auth, data=b"0", headers={"content-type": "text/plain"})  # noqa: S310
    urllib.request.urlopen(enforce, timeout=10).close()  # noqa: S310
    with pytest.raises(Exception, match=r"InvalidClientTokenId|AccessDenied|security token"):
        local_aws.client("dynamodb", enforcing_moto).list_tables()  # enforcement is on: unknown keys are refused
    return found


def SWEEP_CONTEXT() -> LambdaContext:
    return LambdaContext("recover", timeout_seconds=stack_template.function_timeout("RecoverFunction"))


@dataclass
class Call:
    action: str
    resource: str


def resource_of(service: str, operation: str, params: dict[str, Any]) -> str:
    """The ARN IAM authorises a call against (the calls the functions make)."""
    prefix = f"arn:aws:{service}:{local_aws.REGION}:{local_aws.ACCOUNT_ID}"
    if service == "dynamodb":
        (name,) = params["RequestItems"] if operation == "BatchGetItem" else (params["TableName"],)
        table = f"{prefix}:table/{name}"
        return f"{table}/index/{params['IndexName']}" if "IndexName" in params else table
    if service == "sns" and operation == "Publish":
        return str(params["TopicArn"])
    if service == "secretsmanager" and operation == "GetSecretValue":
        return str(params["SecretId"])
    if service == "s3" and operation == "PutObject":
        return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"
    raise AssertionError(f"a call this test cannot place: {service}:{operation}; add its resource here")


def allows(statements: list[Statement], call: Call) -> bool:
    """IAM's rule for Allow statements without conditions or Deny: some statement matches action and resource."""

    def matches(patterns: Any, value: str) -> bool:
        return any(fnmatch.fnmatchcase(value, pattern) for pattern in as_list(patterns))

    return any(
        statement["Effect"] == "Allow"
        and "Condition" not in statement
        and matches(statement["Action"], call.action)
        and matches(statement["Resource"], call.resource)
        for statement in statements
    )


@pytest.fixture
def run_as(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Switches the functions' AWS clients to a role's credentials on the enforcing server; records their calls."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "WebhookHub")  # read when the handlers are imported
    import recover  # noqa: F401 - imported with the namespace set, as on Lambda

    import app

    calls: list[Call] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.signing_name
        calls.append(Call(f"{service}:{model.name}", resource_of(service, model.name, params)))

    def switch(role: Role) -> list[Call]:
        for name, value in {**hub.stack.environment, **role.credentials}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", hub.stack.endpoint_url)
        monkeypatch.setenv("AWS_DEFAULT_REGION", local_aws.REGION)
        monkeypatch.setenv("RECOVERY_MIN_AGE_SECONDS", "0")
        for cached in (clients._client, clients._session, secrets._provider, app._ingest):
            cached.cache_clear()
        clients._session().register("before-parameter-build", record)
        calls.clear()
        return calls

    yield switch
    for cached in (clients._client, clients._session, secrets._provider, app._ingest):
        cached.cache_clear()  # the next test's clients are made from its own environment


def offloaded_upsert() -> dict[str, Any]:
    body = sample("reference/messages-upsert-image-base64.json")
    body["data"]["message"]["base64"] = "A" * 400_000  # over the inline limit: the body goes to S3
    return body


def test_the_ingest_function_does_everything_with_its_own_permissions(hub: Hub, run_as: Any) -> None:
    role = hub.roles["IngestFunction"]
    calls = run_as(role)

    answers = [invoke(hub.stack, sample("reference/call.json")), invoke(hub.stack, offloaded_upsert())]
    rejected = invoke(hub.stack, "{not json")

    assert [(a.status, a.body["status"]) for a in answers] == [(200, "accepted"), (200, "accepted")]
    assert (rejected.status, rejected.body["error"]) == (400, "not_json"), "quarantined in S3 first"
    assert len(hub.messages()) == 2
    made = {call.action for call in calls}
    assert {"secretsmanager:GetSecretValue", "dynamodb:PutItem", "sns:Publish", "s3:PutObject"} <= made, made
    assert [call for call in calls if not allows(role.statements, call)] == []


def test_the_recovery_sweep_publishes_with_its_own_permissions(
    hub: Hub, run_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recover

    import app

    monkeypatch.setenv("RECOVERY_DELAY_SECONDS", "0")  # the failed event is due for the sweep at once
    monkeypatch.setenv("PUBLISH_LEASE_SECONDS", "0")
    app._ingest.cache_clear()
    ingest = hub.roles["IngestFunction"]
    hub.grant(ingest, [s for s in ingest.statements if s.get("Sid") != "PublishEvents"])
    try:
        run_as(ingest)
        answer = invoke(hub.stack, sample("reference/connection-update-open.json"))
    finally:
        hub.grant(ingest, ingest.statements)

    assert (answer.status, answer.body["error"]) == (503, "publish_failed"), "denied sns:Publish: stored, not sent"
    assert hub.messages() == []
    # And one whose function died after writing it, ten minutes ago: the sweep's check of recent events finds it.
    died = classify(json.dumps(sample("reference/connection-update-open.json") | {"instance": "loja-antiga"}))
    received = datetime.fromtimestamp(time.time() - 600, UTC)
    item = build_item(
        died, received_at=received, payload_json="{}", payload_ref=None, lease_until=0, sweep_at=0, retention_days=1
    )
    hub.client("dynamodb").put_item(TableName=hub.stack.table_name, Item=item)
    sweeper = hub.roles["RecoverFunction"]
    calls = run_as(sweeper)
    time.sleep(1.01)  # sweep_at, whole seconds, has passed
    report = recover.lambda_handler({}, SWEEP_CONTEXT())

    assert (report["published"], report["failed_attempts"]) == (2, 0), report
    assert [json.loads(m["Body"])["event_type"] for m in hub.messages()] == ["connection.update"] * 2
    made = {call.action for call in calls}
    assert {"dynamodb:Query", "dynamodb:UpdateItem", "sns:Publish", "dynamodb:BatchGetItem"} <= made, made
    assert {"dynamodb:GetItem", "dynamodb:PutItem"} <= made, made  # the check's cursor
    assert [call for call in calls if not allows(sweeper.statements, call)] == []


@pytest.mark.parametrize(
    ("sid", "error"),
    [
        ("PublishEvents", "publish_failed"),
        ("StoreEvents", "store_unavailable"),
        ("ReadWebhookToken", "token_misconfigured"),  # AccessDenied on the secret: ours to fix, alarmed
    ],
)
def test_removing_one_statement_of_the_ingest_role_fails_the_delivery(
    hub: Hub, run_as: Any, sid: str, error: str
) -> None:
    role = hub.roles["IngestFunction"]
    remaining = [s for s in role.statements if s.get("Sid") != sid]
    assert len(remaining) == len(role.statements) - 1, f"no statement {sid} in the template"
    hub.grant(role, remaining)
    try:
        run_as(role)
        answer = invoke(hub.stack, sample("reference/presence-update.json"))
    finally:
        hub.grant(role, role.statements)
    hub.messages()

    assert (answer.status, answer.body["error"]) == (503, error)
    assert answer.headers.get("retry-after"), "our misconfiguration: the sender must retry"


def test_removing_the_index_queries_fails_the_sweep(hub: Hub, run_as: Any) -> None:
    import recover

    role = hub.roles["RecoverFunction"]
    hub.grant(role, [s for s in role.statements if s.get("Sid") != "FindPendingAndRecentEvents"])
    try:
        run_as(role)
        with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
            recover.lambda_handler({}, SWEEP_CONTEXT())
    finally:
        hub.grant(role, role.statements)


def test_a_resource_outside_the_statement_is_caught_by_the_resource_check(hub: Hub) -> None:
    statements = hub.roles["IngestFunction"].statements
    topic = hub.stack.topic_arns["Call"]

    assert allows(statements, Call("sns:Publish", topic))
    assert not allows(statements, Call("sns:Publish", topic.replace(hub.stack.stack_name, "another-stack")))
    assert not allows(statements, Call("s3:PutObject", f"arn:aws:s3:::{hub.stack.bucket_name}/elsewhere/x"))
    assert not allows(
        statements, Call("dynamodb:DeleteItem", resource_of("dynamodb", "DeleteItem", {"TableName": "t"}))
    )
