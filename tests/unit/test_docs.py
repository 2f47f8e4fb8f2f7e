"""The generated documents in docs/ are current: regenerate in memory and compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from webhook_hub.core.catalog import EVENT_TYPES
from webhook_hub.core.notification import notification_json_schema
from webhook_hub_cli.docs_cmd import EVENTS_FILE, SCHEMA_FILE, events_markdown, generated

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", [EVENTS_FILE, SCHEMA_FILE])
def test_generated_document_is_current(name: str) -> None:
    on_disk = (DOCS / name).read_text(encoding="utf-8")
    assert on_disk == generated()[name], f"docs/{name} is stale: run `webhook-hub docs`"


def test_schema_file_is_the_model_schema() -> None:
    assert json.loads((DOCS / SCHEMA_FILE).read_text(encoding="utf-8")) == notification_json_schema()


def test_catalog_table_lists_every_event_type() -> None:
    text = events_markdown()
    for event_type in EVENT_TYPES:
        assert f"| `{event_type.name}` | `{event_type.config_name}` |" in text
        assert f"`{event_type.topic_key}`" in text
    assert "## Secrets and sensitive fields" in text
