"""The webhook-hub command: inspect (files, stdin, rejects) and docs."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from webhook_hub.core.redact import REDACTED
from webhook_hub_cli.docs_cmd import generated
from webhook_hub_cli.main import main


def test_inspect_prints_one_json_line_per_file(bodies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [
        str(bodies_dir / "reference" / "messages-upsert-text-lid.json"),
        str(bodies_dir / "reference" / "unknown-future-event.json"),
    ]
    assert main(["inspect", *files]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["file"] for line in lines] == files
    first = lines[0]
    assert set(first) == {"file", "classification", "notification", "email", "attributes"}
    assert first["email"]["subject"] == "Webhook Hub: WhatsApp message received (loja-centro)"
    assert f"webhook-hub show {first['classification']['event_id']}" in first["email"]["text"]
    assert "payload" not in first["classification"]
    assert first["classification"]["event_type"] == "messages.upsert"
    assert first["classification"]["summary"]["phone_jid"] == "5511900000001@s.whatsapp.net"
    assert first["classification"]["summary"]["lid"] == "100000000000001@lid"
    assert first["classification"]["occurred_at"] == "2026-01-01T12:01:00.000Z"
    assert first["notification"]["payload"]["apikey"] == REDACTED
    assert first["notification"]["received_at"].endswith("Z")
    assert first["attributes"]["message_kind"] == "text"
    assert "FAKE-INSTANCE-TOKEN" not in out
    assert lines[1]["classification"]["topic_key"] == "Unclassified", "an unknown event still exits 0"


def test_inspect_reports_bad_input_and_goes_on(
    tmp_path: Path, bodies_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_json = tmp_path / "broken.json"
    not_json.write_text('{"apikey": "FAKE-INSTANCE-TOKEN", "event": ')
    no_event = tmp_path / "no-event.json"
    no_event.write_text('{"data": {}}')
    good = bodies_dir / "call.json"
    missing = tmp_path / "missing.json"
    assert main(["inspect", str(not_json), str(good), str(no_event), str(missing)]) == 2
    out, err = capsys.readouterr()
    assert [json.loads(line)["file"] for line in out.splitlines()] == [str(good)]
    errors = err.splitlines()
    assert len(errors) == 3
    assert errors[0].startswith(f"{not_json}: not valid JSON")
    assert errors[1] == f"{no_event}: the JSON object has no non-empty string 'event'"
    assert errors[2].startswith(f"{missing}: ")
    assert "FAKE-INSTANCE-TOKEN" not in err


def test_inspect_reads_stdin(
    bodies_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (bodies_dir / "reference" / "connection-update-close.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(body)))
    assert main(["inspect", "-"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["file"] == "-"
    assert line["attributes"]["needs_qr_scan"] == "true"


def test_inspect_with_suffix(bodies_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--suffix", "send-message", str(bodies_dir / "messages-upsert.json")]) == 0
    summary = json.loads(capsys.readouterr().out)["classification"]["summary"]
    assert summary["suffix_mismatch"] == "URL suffix names 'send.message' but body says 'messages.upsert'"


def test_docs_writes_the_generated_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--out", str(tmp_path / "docs")]) == 0
    for name, text in generated().items():
        assert (tmp_path / "docs" / name).read_text(encoding="utf-8") == text
    assert len(capsys.readouterr().out.splitlines()) == len(generated())


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
