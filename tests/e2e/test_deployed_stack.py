"""`webhook-hub run --stack NAME` and `events --stack NAME`: the local API in front of a deployed stack.

The "deployed" stack lives on moto: a CloudFormation stack with the template's outputs, the ingest
function's configuration, and the table, bucket, secret and topics made from template.yaml.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator

import pytest

from webhook_hub_cli import local_aws
from webhook_hub_cli.send_cmd import SAMPLES_DIR, post

from .test_local_hub import CLI, START_TIMEOUT, free_port

STACK = "deployed-hub"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deployed() -> Iterator[tuple[dict[str, str], local_aws.LocalStack]]:
    server, endpoint_url = local_aws.start_emulator()
    try:
        stack = local_aws.provision(endpoint_url, STACK, tap=False)
        role = local_aws.client("iam", endpoint_url).create_role(
            RoleName="ingest", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
        function = local_aws.client("lambda", endpoint_url).create_function(
            FunctionName=f"{STACK}-IngestFunction",
            Runtime="python3.13",
            Role=role,
            Handler="app.lambda_handler",
            Code={"ZipFile": _zip()},
            Environment={"Variables": {**stack.environment, "ALLOWED_INSTANCES": "loja-centro"}},
        )
        outputs = {
            "IngestFunctionName": function["FunctionName"],
            "TokenSecretArn": stack.environment["TOKEN_SECRET_ID"],
            "EventsTableName": stack.table_name,
            "TopicArnPrefix": stack.environment["TOPIC_ARN_PREFIX"],
        }
        template = {
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
        local_aws.client("cloudformation", endpoint_url).create_stack(
            StackName=STACK, TemplateBody=json.dumps(template)
        )
        environment = {
            **os.environ,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": local_aws.REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        yield environment, stack
    finally:
        server.stop()


def test_run_stack_serves_the_real_handler_with_the_deployed_configuration(
    deployed: tuple[dict[str, str], local_aws.LocalStack], tmp_path: os.PathLike[str]
) -> None:
    environment, stack = deployed
    environment = {**environment, "WEBHOOK_HUB_STATE": os.path.join(tmp_path, "state.json")}
    process = subprocess.Popen(
        [CLI, "run", "--stack", STACK, "--port", str(free_port()), "--containers", "1", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().removeprefix("Webhook URL: ").strip()
        body = (SAMPLES_DIR / "reference" / "messages-upsert-text.json").read_bytes()
        other_instance = json.dumps({**json.loads(body), "instance": "filial"}).encode()

        accepted = post(url, body)
        refused = post(url, other_instance)  # the deployed function's allow-list applies
        listed = subprocess.run(
            [CLI, "events", "--stack", STACK, "--json"],
            capture_output=True,
            text=True,
            env=environment,
            timeout=START_TIMEOUT,
            check=False,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)

    assert url.endswith(f"/webhook/{stack.token}")
    assert (accepted[0], json.loads(accepted[1])["status"]) == (200, "accepted")
    assert (refused[0], json.loads(refused[1])["error"]) == (403, "instance_not_allowed")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["event_id"] for row in rows] == [json.loads(accepted[1])["event_id"]]
    assert rows[0]["state"] == "published"
