"""Reads template.yaml, the single source of truth for what the stack creates.

The local runner and the tests build the table, topics and secret from here, so they cannot drift
from what ``sam deploy`` creates.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (``!Ref x`` becomes ``{"Ref": "x"}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)  # type: ignore[no-untyped-call]


@cache
def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    return document


def resources(template: dict[str, Any]) -> dict[str, Any]:
    return dict(template["Resources"])


TOPIC_SUFFIX = "Topic"
_BEGIN = "  # BEGIN GENERATED TOPICS"
_END = "  # END GENERATED TOPICS"


def topic_keys(template: dict[str, Any]) -> list[str]:
    """The topic keys of the template's event topics (``<key>Topic`` named ``<stack>-event-<key>``)."""
    keys = []
    for logical_id, resource in template["Resources"].items():
        key = logical_id.removesuffix(TOPIC_SUFFIX)
        name = resource.get("Properties", {}).get("TopicName")
        if resource.get("Type") == "AWS::SNS::Topic" and name == {"Fn::Sub": f"${{AWS::StackName}}-event-{key}"}:
            keys.append(key)
    return keys


def topics_block(keys: list[str]) -> str:
    """The generated resources, one line per topic, between the markers in template.yaml."""
    lines = [
        f"  {key}{TOPIC_SUFFIX}: {{ Type: AWS::SNS::Topic, Properties: "
        f'{{ TopicName: !Sub "${{AWS::StackName}}-event-{key}", KmsMasterKeyId: alias/aws/sns }} }}'
        for key in keys
    ]
    return "\n".join(lines)


_BEGIN_SUBSCRIPTIONS = "  # BEGIN GENERATED DESTINATION SUBSCRIPTIONS"
_END_SUBSCRIPTIONS = "  # END GENERATED DESTINATION SUBSCRIPTIONS"
INTAKE_QUEUE = "DestinationIntakeQueue"


def subscriptions_block(keys: list[str]) -> str:
    """The destinations' intake queue subscribed, raw, to every event topic."""
    return "\n".join(
        f"  {key}IntakeSubscription: {{ Type: AWS::SNS::Subscription, Properties: "
        f"{{ TopicArn: !Ref {key}{TOPIC_SUFFIX}, Protocol: sqs, Endpoint: !GetAtt {INTAKE_QUEUE}.Arn, "
        "RawMessageDelivery: true } }"
        for key in keys
    )


def _with_block(text: str, begin: str, end: str, block: str) -> str:
    head, rest = text.split(begin, 1)
    begin_line, rest = rest.split("\n", 1)
    _old, tail = rest.split(end, 1)
    return f"{head}{begin}{begin_line}\n{block}\n{end}{tail}"


def with_topics(text: str, keys: list[str]) -> str:
    """The template text with its generated blocks (topics, destination subscriptions) rewritten for ``keys``."""
    text = _with_block(text, _BEGIN, _END, topics_block(keys))
    return _with_block(text, _BEGIN_SUBSCRIPTIONS, _END_SUBSCRIPTIONS, subscriptions_block(keys))


def table_definition(template: dict[str, Any], table_name: str, logical_id: str = "EventsTable") -> dict[str, Any]:
    """``create_table`` arguments for a table (the events table by default), as declared."""
    properties = template["Resources"][logical_id]["Properties"]
    definition = {
        "TableName": table_name,
        "BillingMode": properties["BillingMode"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "SSESpecification": {"Enabled": properties["SSESpecification"]["SSEEnabled"]},
    }
    if "GlobalSecondaryIndexes" in properties:
        definition["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute(template: dict[str, Any]) -> str:
    return str(template["Resources"]["EventsTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"])


def function_environment(template: dict[str, Any], logical_id: str = "IngestFunction") -> dict[str, Any]:
    """A function's environment (the ingest function's by default) as declared (values may be intrinsics)."""
    return dict(template["Resources"][logical_id]["Properties"]["Environment"]["Variables"])


def function_dir(logical_id: str = "IngestFunction") -> Path:
    """A function's code folder (its ``CodeUri``), where its handler module lives."""
    return TEMPLATE_PATH.parent / str(load()["Resources"][logical_id]["Properties"]["CodeUri"])


def function_timeout(logical_id: str) -> int:
    """A function's timeout in seconds: its own, or the template's global one."""
    document = load()
    own = document["Resources"][logical_id]["Properties"].get("Timeout")
    return int(own if own is not None else document["Globals"]["Function"]["Timeout"])


def sweep_interval_seconds() -> int:
    """The recovery function's schedule, ``rate(N minutes)``, in seconds."""
    events = load()["Resources"]["RecoverFunction"]["Properties"]["Events"]
    (schedule,) = (event["Properties"]["ScheduleExpression"] for event in events.values())
    count, unit = str(schedule).removeprefix("rate(").removesuffix(")").split()
    return int(count) * {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}[unit]


def parameter_default(template: dict[str, Any], name: str) -> str:
    return str(template["Parameters"][name]["Default"])
