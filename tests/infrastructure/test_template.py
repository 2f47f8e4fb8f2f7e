"""What template.yaml must guarantee, read from the template itself (no network, no AWS, no SAM CLI).

The security properties here are the ones a reviewer checks by eye: least-privilege IAM, encryption
of every store, retention, alarms, no secret in the access log, only the routes the handler knows.
Each checker is also run against a deliberately broken copy of the template, so a checker that
cannot fail would fail its own test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from webhook_hub.core import catalog
from webhook_hub.core.destinations import RetryPolicy
from webhook_hub.errors import PublishFailed
from webhook_hub.recovery import CHECK_LAG, CHECK_SLICE, CHECK_SLICES_PER_RUN, SweepPolicy
from webhook_hub_cli import template as stack_template

Template = dict[str, Any]

ALLOWED_ROUTES = {("POST", "/webhook"), ("POST", "/webhook/{proxy+}"), ("GET", "/health")}
ENCRYPTED_S3_ALGORITHMS = {"AES256", "aws:kms", "aws:kms:dsse"}
UNENCRYPTED_TOPICS = {"AlertsTopic"}
"""CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key (checkov skip in place)."""
STORE_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::SecretsManager::Secret",
    "AWS::Logs::LogGroup",
}
"""Every resource type of the stack that holds data; a new kind of store must be added (with its rule)."""
SQS_EVENT_SOURCES = ({"Fn::GetAtt": ["DestinationIntakeQueue", "Arn"]}, {"Fn::GetAtt": ["DeliveryQueue", "Arn"]})


@pytest.fixture
def template() -> Template:
    """A private copy of the parsed template (``load()`` is cached; tests may mutate their copy)."""
    return copy.deepcopy(stack_template.load())


def resources_of(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res.get("Type") == resource_type}


def properties(template: Template, logical_id: str) -> dict[str, Any]:
    return dict(template["Resources"][logical_id].get("Properties", {}))


def refers_to(value: Any, logical_id: str) -> bool:
    return value in ({"Ref": logical_id}, {"Fn::GetAtt": [logical_id, "Arn"]})


# --- IAM -----------------------------------------------------------------------------------------


def policy_statements(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement anywhere in the template, with where it is (walks the whole document)."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if isinstance(statements, list):
            for index, statement in enumerate(statements):
                if isinstance(statement, dict):
                    yield f"{where}/Statement/{index}", statement
        elif isinstance(statements, dict):
            yield f"{where}/Statement", statements
        for key, value in node.items():
            yield from policy_statements(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from policy_statements(value, f"{where}/{index}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_grants(template: Template) -> list[str]:
    """Allow statements whose actions contain ``*`` (or use NotAction, which allows everything else)."""
    found = []
    for where, statement in policy_statements(template["Resources"]):
        if statement.get("Effect") == "Deny":
            continue
        if "NotAction" in statement:
            found.append(f"{where}: NotAction")
        found.extend(f"{where}: {action}" for action in as_list(statement.get("Action", [])) if "*" in str(action))
    return found


def non_inline_function_policies(template: Template) -> list[str]:
    """SAM function ``Policies`` that are not written-out statements (managed names, policy templates)."""
    found = []
    for name, function in resources_of(template, "AWS::Serverless::Function").items():
        for policy in as_list(function.get("Properties", {}).get("Policies", [])):
            if not (isinstance(policy, dict) and set(policy) <= {"Version", "Statement"} and "Statement" in policy):
                found.append(f"{name}: {policy}")
    return found


def test_iam_statements_are_found_in_function_policies_and_bucket_policy(template: Template) -> None:
    sids = {statement.get("Sid") for _where, statement in policy_statements(template["Resources"])}

    assert {"ReadWebhookToken", "StoreEvents", "PublishEvents", "DenyInsecureTransport"} <= sids


def test_no_iam_statement_allows_an_action_with_a_wildcard(template: Template) -> None:
    assert wildcard_grants(template) == []


def test_the_wildcard_check_catches_allow_star_anywhere(template: Template) -> None:
    broken = copy.deepcopy(template)
    function_policy = broken["Resources"]["IngestFunction"]["Properties"]["Policies"][0]
    function_policy["Statement"][0]["Action"] = ["secretsmanager:*"]
    broken["Resources"]["ExtraRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {"Policies": [{"PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "*"}}}]},
    }
    bucket_statement = broken["Resources"]["PayloadBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    bucket_statement["Effect"] = "Allow"

    grants = wildcard_grants(broken)

    assert any("secretsmanager:*" in grant for grant in grants)
    assert any("ExtraRole" in grant for grant in grants)
    assert any("PayloadBucketPolicy" in grant and "s3:*" in grant for grant in grants)


def test_function_policies_are_written_out_statements_only(template: Template) -> None:
    assert non_inline_function_policies(template) == []
    broken = copy.deepcopy(template)
    broken["Resources"]["IngestFunction"]["Properties"]["Policies"].append("AmazonDynamoDBFullAccess")
    assert non_inline_function_policies(broken) == ["IngestFunction: AmazonDynamoDBFullAccess"]


def test_no_resource_creates_an_iam_user_or_access_key(template: Template) -> None:
    kinds = {resource["Type"] for resource in template["Resources"].values()}

    assert not kinds & {"AWS::IAM::User", "AWS::IAM::AccessKey", "AWS::IAM::Group"}


# --- Encryption and retention of every store -----------------------------------------------------


def unencrypted_stores(template: Template) -> list[str]:
    """Every data-holding resource that is not encrypted at rest by its type's rule."""
    found = []
    for name, resource in template["Resources"].items():
        kind, props = resource.get("Type"), resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            ok = props.get("SSESpecification", {}).get("SSEEnabled") is True
        elif kind == "AWS::S3::Bucket":
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            algorithms = {rule.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for rule in rules}
            ok = bool(algorithms) and algorithms <= ENCRYPTED_S3_ALGORITHMS
        elif kind == "AWS::SNS::Topic":
            ok = bool(props.get("KmsMasterKeyId")) or name in UNENCRYPTED_TOPICS
        elif kind == "AWS::SQS::Queue":
            ok = bool(props.get("KmsMasterKeyId")) or props.get("SqsManagedSseEnabled") is True
        elif kind in ("AWS::SecretsManager::Secret", "AWS::Logs::LogGroup"):
            ok = True  # always encrypted at rest by the service
        else:
            continue
        if not ok:
            found.append(name)
    return found


def test_every_store_is_encrypted(template: Template) -> None:
    kinds = {resource["Type"] for resource in template["Resources"].values()}
    data_kinds = {kind for kind in kinds if kind.split("::")[1] in {"DynamoDB", "S3", "SNS", "SQS", "Kinesis", "EFS"}}
    data_kinds -= {"AWS::S3::BucketPolicy", "AWS::SNS::Subscription", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"}

    assert data_kinds <= STORE_TYPES, f"a new kind of store needs an encryption rule here: {data_kinds - STORE_TYPES}"
    assert unencrypted_stores(template) == []


def test_the_encryption_check_catches_each_kind_of_store(template: Template) -> None:
    broken = copy.deepcopy(template)
    broken["Resources"]["EventsTable"]["Properties"]["SSESpecification"]["SSEEnabled"] = False
    del broken["Resources"]["PayloadBucket"]["Properties"]["BucketEncryption"]
    del broken["Resources"]["MessagesUpsertTopic"]["Properties"]["KmsMasterKeyId"]
    broken["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {"SqsManagedSseEnabled": False}}

    assert sorted(unencrypted_stores(broken)) == ["EventsTable", "MessagesUpsertTopic", "PayloadBucket", "Queue"]


def test_every_event_topic_uses_kms(template: Template) -> None:
    for key in stack_template.topic_keys(template):
        assert properties(template, f"{key}Topic").get("KmsMasterKeyId") == "alias/aws/sns", key


def test_the_token_is_a_generated_secrets_manager_secret(template: Template) -> None:
    secret_ref = stack_template.function_environment(template)["TOKEN_SECRET_ID"]
    secret = template["Resources"][secret_ref["Ref"]]

    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"], "the token must be generated at deploy time, never written"
    assert secret["Properties"]["GenerateSecretString"]["GenerateStringKey"] == "current"


def test_events_table_has_point_in_time_recovery_and_ttl(template: Template) -> None:
    table = properties(template, "EventsTable")

    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["TimeToLiveSpecification"]["Enabled"] is True
    assert stack_template.ttl_attribute(template) == "expires_at"  # written by webhook_hub.record.build_item
    assert template["Resources"]["EventsTable"]["DeletionPolicy"] == "Retain"


def test_bucket_blocks_public_access_and_expires_with_the_retention(template: Template) -> None:
    bucket = properties(template, "PayloadBucket")
    rules = bucket["LifecycleConfiguration"]["Rules"]

    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert any(
        rule["Status"] == "Enabled" and rule["ExpirationInDays"] == {"Ref": "RetentionDays"} and "Prefix" not in rule
        for rule in rules
    ), rules
    assert stack_template.function_environment(template)["RETENTION_DAYS"] == {"Ref": "RetentionDays"}


def test_bucket_policy_refuses_plain_http(template: Template) -> None:
    policy = properties(template, "PayloadBucketPolicy")
    (statement,) = policy["PolicyDocument"]["Statement"]

    assert refers_to(policy["Bucket"], "PayloadBucket")
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_log_group_has_retention_and_the_function_and_api_log_to_them(template: Template) -> None:
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    function_log_group = properties(template, "IngestFunction")["LoggingConfig"]["LogGroup"]
    access_log_destination = properties(template, "HttpApi")["AccessLogSettings"]["DestinationArn"]

    assert log_groups, "no log group: Lambda would create one that keeps logs forever"
    for name, log_group in log_groups.items():
        assert log_group["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"}, name
    assert any(refers_to(function_log_group, name) for name in log_groups), function_log_group
    assert any(refers_to(access_log_destination, name) for name in log_groups), access_log_destination


# --- Alarms ---------------------------------------------------------------------------------------


def alarm_for(template: Template, namespace: str, metric: str, function: str | None = None) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        alarm["Properties"]
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == namespace
        and alarm["Properties"].get("MetricName") == metric
        and (function is None or alarm["Properties"]["Dimensions"][0]["Value"] == {"Ref": function})
    ]
    assert len(matches) == 1, f"expected one alarm on {namespace} {metric}, found {len(matches)}"
    alarm = matches[0]
    assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
    assert alarm["Threshold"] >= 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    return alarm


def test_alarms_cover_api_5xx_function_errors_and_throttles(template: Template) -> None:
    api = alarm_for(template, "AWS/ApiGateway", "5xx")
    errors = alarm_for(template, "AWS/Lambda", "Errors", "IngestFunction")
    throttles = alarm_for(template, "AWS/Lambda", "Throttles")
    recovery_errors = alarm_for(template, "AWS/Lambda", "Errors", "RecoverFunction")

    assert api["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    assert (
        errors["Dimensions"]
        == throttles["Dimensions"]
        == [{"Name": "FunctionName", "Value": {"Ref": "IngestFunction"}}]
    )
    assert recovery_errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RecoverFunction"}}]


def test_publish_failed_alarm_watches_the_metric_the_function_emits(template: Template) -> None:
    environment = stack_template.function_environment(template)
    alarm = alarm_for(template, environment["POWERTOOLS_METRICS_NAMESPACE"], PublishFailed.__name__)

    assert alarm["Dimensions"] == [{"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}]


def test_the_alarm_check_fails_when_an_alarm_is_missing(template: Template) -> None:
    broken = copy.deepcopy(template)
    del broken["Resources"]["FunctionThrottlesAlarm"]

    with pytest.raises(AssertionError, match="Throttles"):
        alarm_for(broken, "AWS/Lambda", "Throttles")


# --- The API: access log and routes ---------------------------------------------------------------


def access_log_variables(template: Template) -> list[str]:
    log_format = properties(template, "HttpApi")["AccessLogSettings"]["Format"]
    fields: dict[str, str] = json.loads(log_format)
    return list(fields.values())


def test_access_log_never_records_the_path(template: Template) -> None:
    variables = access_log_variables(template)

    assert "$context.routeKey" in variables
    assert "$context.requestId" in variables
    assert not [variable for variable in variables if "path" in variable.lower()], variables
    assert "$context.path" not in properties(template, "HttpApi")["AccessLogSettings"]["Format"]


def test_the_access_log_check_sees_the_path(template: Template) -> None:
    broken = copy.deepcopy(template)
    settings = broken["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]
    settings["Format"] = json.dumps({"requestId": "$context.requestId", "path": "$context.path"})

    assert "$context.path" in access_log_variables(broken)


def function_routes(template: Template) -> list[tuple[str, str, Any]]:
    """``(method, path, api)`` of every event of every function but schedules (other events give their type)."""
    routes = []
    for function in resources_of(template, "AWS::Serverless::Function").values():
        for event in function["Properties"].get("Events", {}).values():
            props = event.get("Properties", {})
            if event.get("Type") == "ScheduleV2":
                continue  # the recovery sweep's timer, not a route
            if event.get("Type") == "SQS" and props.get("Queue") in SQS_EVENT_SOURCES:
                continue  # the destinations' queues, not routes
            if event.get("Type") != "HttpApi":
                routes.append((str(event.get("Type")), "", None))
                continue
            routes.append((str(props.get("Method", "")).upper(), str(props.get("Path", "")), props.get("ApiId")))
    return routes


def test_every_function_route_is_one_the_handler_serves(template: Template) -> None:
    routes = function_routes(template)

    assert {(method, path) for method, path, _api in routes} == ALLOWED_ROUTES
    assert len(routes) == len(ALLOWED_ROUTES)
    assert all(api == {"Ref": "HttpApi"} for _method, _path, api in routes)
    assert "FunctionUrlConfig" not in properties(template, "IngestFunction"), "a function URL bypasses the API"


def test_the_route_check_sees_an_extra_route(template: Template) -> None:
    broken = copy.deepcopy(template)
    events = broken["Resources"]["IngestFunction"]["Properties"]["Events"]
    events["Anything"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "HttpApi"}, "Method": "ANY", "Path": "/{x+}"},
    }

    assert ("ANY", "/{x+}", {"Ref": "HttpApi"}) in function_routes(broken)


# --- Topics generated from the catalog, and justified scanner skips --------------------------------


def test_event_topics_are_exactly_the_catalog_topics(template: Template) -> None:
    assert stack_template.topic_keys(template) == list(catalog.topic_keys())
    assert catalog.UNCLASSIFIED_TOPIC_KEY in stack_template.topic_keys(template)


def test_generated_topics_block_is_current() -> None:
    text = stack_template.TEMPLATE_PATH.read_text(encoding="utf-8")

    assert stack_template.with_topics(text, list(catalog.topic_keys())) == text
    assert stack_template.with_topics(text, list(catalog.topic_keys())[:-1]) != text


def test_every_checkov_skip_is_justified_in_place(template: Template) -> None:
    skips = [
        (name, skip)
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    assert skips, "the template's checkov skips were not found"
    for name, skip in skips:
        assert str(skip.get("id", "")).startswith("CKV"), (name, skip)
        assert len(str(skip.get("comment", "")).strip()) >= 20, f"{name} skips {skip.get('id')} without a reason"


# --- Destinations: forwarding to the users' servers ------------------------------------------------


def intake_subscriptions(template: Template) -> dict[str, dict[str, Any]]:
    """Topic logical id -> properties of its subscription of the destinations' intake queue."""
    return {
        props["TopicArn"]["Ref"]: props
        for props in (res["Properties"] for res in resources_of(template, "AWS::SNS::Subscription").values())
        if props.get("Endpoint") == {"Fn::GetAtt": ["DestinationIntakeQueue", "Arn"]}
    }


def test_the_intake_queue_gets_every_event_topic_raw(template: Template) -> None:
    subscriptions = intake_subscriptions(template)

    assert set(subscriptions) == {f"{key}Topic" for key in stack_template.topic_keys(template)}
    assert all(props["Protocol"] == "sqs" and props["RawMessageDelivery"] is True for props in subscriptions.values())
    broken = copy.deepcopy(template)
    del broken["Resources"]["CallIntakeSubscription"]
    assert "CallTopic" not in intake_subscriptions(broken)


def test_only_the_stacks_event_topics_may_send_to_the_intake_queue(template: Template) -> None:
    (statement,) = properties(template, "DestinationIntakeQueuePolicy")["PolicyDocument"]["Statement"]

    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(":${AWS::StackName}-event-*")


def test_forwarding_is_ordered_per_group_and_outlives_the_longest_retry_window(template: Template) -> None:
    tasks = properties(template, "DeliveryQueue")
    longest_window = template["Parameters"]["DestinationRetryHours"]["MaxValue"] * 3600
    forward = properties(template, "ForwardFunction")

    assert tasks["FifoQueue"] is True
    assert tasks["FifoThroughputLimit"] == "perMessageGroupId"
    for queue in ("DeliveryQueue", "ParkedQueue", "DestinationIntakeQueue"):
        assert properties(template, queue)["MessageRetentionPeriod"] > longest_window, queue
    assert tasks["VisibilityTimeout"] >= 6 * forward["Timeout"]
    assert forward["Environment"]["Variables"]["RETRY_WINDOW_HOURS"] == {"Ref": "DestinationRetryHours"}
    for function in ("ForwardFunction", "DispatchFunction"):
        (event,) = properties(template, function)["Events"].values()
        assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], function


def statement_named(template: Template, function: str, sid: str) -> dict[str, Any]:
    (policy,) = properties(template, function)["Policies"]
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == sid]
    return dict(statement)


def test_the_forward_function_reads_only_the_destinations_secrets(template: Template) -> None:
    secrets = statement_named(template, "ForwardFunction", "ReadDestinationSecrets")
    readers = [
        where
        for where, statement in policy_statements(template["Resources"])
        if "secretsmanager:GetSecretValue" in as_list(statement.get("Action", []))
    ]

    assert secrets["Action"] == ["secretsmanager:GetSecretValue"]
    assert secrets["Resource"]["Fn::Sub"].endswith(":secret:${AWS::StackName}/destinations/*")
    assert len(readers) == 2, readers  # the ingest function's token, and this
    outputs = template["Outputs"]
    assert outputs["DestinationSecretPrefix"]["Value"] == {"Fn::Sub": "${AWS::StackName}/destinations/"}


def queue_alarms(template: Template) -> dict[str, dict[str, Any]]:
    """Queue logical id -> properties of the alarm on its visible messages."""
    return {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: alarm["Properties"]
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }


def test_parked_and_dead_lettered_deliveries_raise_an_alarm(template: Template) -> None:
    alarms = queue_alarms(template)

    assert set(alarms) == {"ParkedQueue", "DeliveryDeadLetterQueue"}
    for alarm in alarms.values():
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]
        assert alarm["Threshold"] == 1


def test_the_dead_letter_queue_only_takes_what_the_function_never_settles(template: Template) -> None:
    """A task is received once per retry of its group's head (its own, or the one it waits behind: the group is
    locked meanwhile), so the retries of the longest window at the shortest jitter bound its receives."""
    redrive = properties(template, "DeliveryQueue")["RedrivePolicy"]
    window = template["Parameters"]["DestinationRetryHours"]["MaxValue"] * 3600
    policy = RetryPolicy(window_seconds=window)
    elapsed, attempts = 0, 0
    while elapsed < window:
        attempts += 1
        elapsed += policy.backoff(attempts, lambda: 0.0)

    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeliveryDeadLetterQueue", "Arn"]}
    assert properties(template, "DeliveryDeadLetterQueue")["FifoQueue"] is True
    assert attempts + 10 < redrive["maxReceiveCount"]


def test_the_sweep_checks_recent_events_only_once_their_first_delivery_is_over() -> None:
    """The check's lag must outlast the ingest function's timeout plus the first publish lease: a longer timeout in
    the template must move it."""
    ingest_timeout = stack_template.function_timeout("IngestFunction")
    assert ingest_timeout + SweepPolicy().lease_seconds <= CHECK_LAG
    assert stack_template.sweep_interval_seconds() < CHECK_SLICE * CHECK_SLICES_PER_RUN  # it catches up
