"""``webhook-hub destinations``: your own HTTP servers as destinations (add, list, remove, test, enable, disable,
parked, redrive), on the local hub or a deployed stack (``--stack``), without a redeploy.

A destination's signing secret and static headers go to Secrets Manager (one secret per destination, named under
the stack's prefix); the table holds the rest. ``add`` prints the signing secret once, for the receiver to verify
``webhook-signature`` with.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from webhook_hub.aws.destination_store import DestinationSecrets, DestinationStore
from webhook_hub.aws.task_queue import TaskQueue
from webhook_hub.core.catalog import lookup
from webhook_hub.core.destinations import (
    ANY_EVENT,
    FORMAT_EVOLUTION,
    FORMATS,
    AttemptResult,
    Destination,
    DestinationFilter,
    DestinationSecret,
    new_secret,
    signature_headers,
)
from webhook_hub.core.url_safety import UnsafeUrl
from webhook_hub.destinations import http_post
from webhook_hub.destinations.forward import USER_AGENT, is_reserved_header
from webhook_hub.destinations.parked import list_parked, parked_summary, redrive
from webhook_hub_cli import local_aws
from webhook_hub_cli.local_state import LocalHubState

DESTINATION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


class DestinationError(ValueError):
    """A request the command refuses, with the reason to print."""


@dataclass(frozen=True)
class Hub:
    """Where the destinations of one hub (local or deployed) live, with the clients to reach them."""

    resources: local_aws.DestinationResources
    dynamodb: Any
    secretsmanager: Any
    sqs: Any
    private_network: bool
    """The local hub forwards to private addresses; a deployed one only for destinations marked internal."""

    def store(self) -> DestinationStore:
        return DestinationStore(self.resources.table_name, self.dynamodb)

    def secrets(self) -> DestinationSecrets:
        return DestinationSecrets(self.secretsmanager)

    def queue(self) -> TaskQueue:
        return TaskQueue(self.sqs, self.resources.delivery_queue_url, self.resources.parked_queue_url)


def local_hub(endpoint_url: str, stack_name: str) -> Hub:
    return Hub(
        local_aws.local_destination_resources(endpoint_url, stack_name),
        local_aws.client("dynamodb", endpoint_url),
        local_aws.client("secretsmanager", endpoint_url),
        local_aws.client("sqs", endpoint_url),
        private_network=True,
    )


def deployed_hub(stack_name: str) -> Hub:
    import boto3  # noqa: PLC0415

    stack = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    resources = local_aws.DestinationResources(
        outputs["DestinationsTableName"],
        outputs["DestinationSecretPrefix"],
        outputs["DeliveryQueueUrl"],
        outputs["ParkedQueueUrl"],
    )
    return Hub(
        resources,
        boto3.client("dynamodb"),
        boto3.client("secretsmanager"),
        boto3.client("sqs"),
        private_network=False,
    )


def event_type_name(spelling: str) -> str:
    """Any spelling of a catalog type (``MESSAGES_UPSERT``, ``messages.upsert``, ``MessagesUpsert``) as the
    notification names it; an unknown one as given (it may be a topic key such as ``Unclassified``)."""
    known = lookup(spelling)
    return known.name if known else spelling.strip()


def add_destination(
    hub: Hub,
    destination_id: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    chosen: DestinationFilter = ANY_EVENT,
    body_format: str = FORMAT_EVOLUTION,
    internal: bool = False,
) -> tuple[Destination, str]:
    """Create the destination and its secret; returns it and the signing secret (shown to the user once)."""
    if not DESTINATION_ID.match(destination_id):
        raise DestinationError("a destination id is 1-48 lower-case letters, digits and dashes")
    if body_format not in FORMATS:
        raise DestinationError(f"the format is one of {', '.join(FORMATS)}")
    headers = dict(headers or {})
    reserved = sorted(name for name in headers if is_reserved_header(name))
    if reserved:
        raise DestinationError(f"these headers are set by the hub: {', '.join(reserved)}")
    try:
        http_post.safe_addresses(url, allow_private=hub.private_network or internal)
    except UnsafeUrl as refused:
        raise DestinationError(f"refused: {refused}") from refused
    except OSError:
        pass  # not resolvable yet (a tunnel not up): tried at each delivery, retried until it resolves
    store = hub.store()
    if store.get(destination_id) is not None:
        raise DestinationError(f"destination {destination_id} exists; remove it first")
    signing_secret = new_secret(secrets.token_bytes(32))
    secret_id = hub.secrets().create(
        hub.resources.secret_prefix + destination_id, DestinationSecret(signing_secret, headers)
    )
    destination = Destination(
        destination_id,
        url.strip(),
        secret_id,
        filter=chosen,
        header_names=tuple(sorted(headers)),
        body_format=body_format,
        internal=internal,
    )
    store.put(destination)
    return destination, signing_secret


def remove_destination(hub: Hub, destination_id: str) -> None:
    store = hub.store()
    destination = store.get(destination_id)
    if destination is None:
        raise DestinationError(f"no destination {destination_id}")
    store.delete(destination_id)
    hub.secrets().delete(destination.secret_id)


def send_test(hub: Hub, destination_id: str) -> AttemptResult:
    """One signed test POST now, from this machine, under the same URL guard as the hub's."""
    destination = hub.store().get(destination_id)
    if destination is None:
        raise DestinationError(f"no destination {destination_id}")
    secret = hub.secrets().get(destination.secret_id)
    now = datetime.now(UTC)
    body = json.dumps(
        {"event": "webhook-hub.test", "destination": destination_id, "date_time": now.isoformat()}
    ).encode()
    headers = {name: value for name, value in secret.headers.items() if not is_reserved_header(name)}
    headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
    headers |= signature_headers(secret.signing_secret, f"test_{uuid.uuid4().hex}", int(now.timestamp()), body)
    return http_post.post(destination.url, body, headers, allow_private=hub.private_network or destination.internal)


def describe(destination: Destination) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": destination.destination_id,
        "url": destination.url,
        "format": destination.body_format,
        "enabled": destination.enabled,
        "internal": destination.internal,
        "filter": destination.filter.as_lists(),
        "headers": list(destination.header_names),
    }
    if destination.disabled_reason:
        row["disabled_reason"] = destination.disabled_reason
    return row


def delivery_states(hub: Hub) -> list[dict[str, Any]]:
    """Each destination with its delivery state: enabled (or why not) and how many deliveries are parked.

    What ``destinations list`` prints, and what an inspector page can show per destination.
    """
    parked = Counter(p.task.destination_id for p in list_parked(hub.queue()))
    return [
        {**describe(destination), "parked": parked[destination.destination_id]} for destination in hub.store().all()
    ]


# --- the command -----------------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("destinations", help="forward events to your own HTTP servers")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--stack", metavar="NAME", help="a deployed stack (your AWS credentials) instead of the local hub"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a destination (prints its signing secret once)", parents=[where])
    add.add_argument("destination_id", metavar="ID", help="a short name: lower-case letters, digits, dashes")
    add.add_argument("url", help="http(s) URL that gets a POST per event")
    add.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'", help="static header (repeat)")
    add.add_argument("--event", action="append", default=[], help="only this event type, any spelling (repeat)")
    add.add_argument("--instance", action="append", default=[], help="only this instance (repeat)")
    add.add_argument("--direction", action="append", default=[], choices=["inbound", "outbound"])
    add.add_argument("--chat-type", action="append", default=[], help="direct, group, broadcast, newsletter...")
    add.add_argument("--kind", action="append", default=[], help="message kind: text, image, audio... (repeat)")
    add.add_argument("--format", choices=FORMATS, default=FORMAT_EVOLUTION, help="body (default: evolution)")
    add.add_argument("--internal", action="store_true", help="may reach private addresses (your VPC) on AWS")
    actions.add_parser("list", help="list destinations with their delivery state", parents=[where])
    for name, text in (
        ("remove", "remove a destination and its secret"),
        ("test", "send a signed test POST now and print the answer"),
        ("enable", "enable a destination (after a 410 Gone, once the URL is fixed)"),
        ("disable", "stop forwarding to a destination (its queued events are parked)"),
    ):
        actions.add_parser(name, help=text, parents=[where]).add_argument("destination_id", metavar="ID")
    for name, text in (
        ("parked", "list parked deliveries (retry window over, 410 Gone, refused URL)"),
        ("redrive", "send parked deliveries again, each with a new retry window"),
    ):
        actions.add_parser(name, help=text, parents=[where]).add_argument(
            "--destination", metavar="ID", help="only this one's"
        )
    parser.set_defaults(func=destinations)


def hub_of(args: argparse.Namespace) -> Hub | None:
    """The destinations of ``--stack``, else of the running local hub; ``None`` (and a message) when neither."""
    if args.stack:
        return deployed_hub(args.stack)
    state = LocalHubState.load()
    if state is None:
        print("webhook-hub: no local hub is running; start one with `webhook-hub run` or give --stack", file=sys.stderr)
        return None
    return local_hub(state.endpoint_url, local_aws.stack_name_of(state.table_name))


def _headers(pairs: list[str]) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        name, separator, value = pair.partition(":")
        if not separator or not name.strip():
            raise DestinationError(f"a header is 'Name: value', not {pair!r}")
        headers[name.strip()] = value.strip()
    return headers


def destinations(args: argparse.Namespace) -> int:
    hub = hub_of(args)
    if hub is None:
        return 2
    try:
        return _act(hub, args)
    except DestinationError as refused:
        print(f"webhook-hub: {refused}", file=sys.stderr)
        return 2


def _act(hub: Hub, args: argparse.Namespace) -> int:
    if args.action == "add":
        chosen = DestinationFilter(
            event_types=frozenset(event_type_name(name) for name in args.event),
            instances=frozenset(args.instance),
            directions=frozenset(args.direction),
            chat_types=frozenset(args.chat_type),
            message_kinds=frozenset(args.kind),
        )
        destination, signing_secret = add_destination(
            hub,
            args.destination_id,
            args.url,
            headers=_headers(args.header),
            chosen=chosen,
            body_format=args.format,
            internal=args.internal,
        )
        print(json.dumps(describe(destination), ensure_ascii=False))
        print(f"Signing secret (shown once; verify webhook-signature with it): {signing_secret}")
    elif args.action == "list":
        for row in delivery_states(hub):
            print(json.dumps(row, ensure_ascii=False))
    elif args.action == "remove":
        remove_destination(hub, args.destination_id)
    elif args.action == "test":
        result = send_test(hub, args.destination_id)
        print(("ok " if result.ok else "failed ") + result.reason() + f" ({result.elapsed_ms} ms)")
        return 0 if result.ok else 1
    elif args.action in ("enable", "disable"):
        if hub.store().get(args.destination_id) is None:
            raise DestinationError(f"no destination {args.destination_id}")
        hub.store().set_enabled(args.destination_id, args.action == "enable", "disabled by its owner")
    elif args.action == "parked":
        for parked in list_parked(hub.queue(), args.destination):
            print(json.dumps(parked_summary(parked), ensure_ascii=False))
    elif args.action == "redrive":
        queued = redrive(hub.queue(), now=time.time(), destination_id=args.destination)
        print(f"{len(queued)} parked deliveries queued again")
    return 0
