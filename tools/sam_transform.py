"""Writes template.yaml as CloudFormation sees it after the SAM transform, for cfn-lint (and review).

cfn-lint 1.x no longer runs the SAM transform: it validates ``AWS::Serverless::*`` resources against
SAM's own schemas and never sees the IAM role, Lambda permissions, API stage and routes that SAM
generates. This script runs the transform with the same ``samtranslator`` that ``sam deploy``
uses, so ``cfn-lint`` can check what CloudFormation will really create.

Run it with the SAM virtualenv (``.venv-sam/bin/python tools/sam_transform.py [template] [output]``):
samtranslator lives there, not in the dev virtualenv. It needs no network and no AWS account:
local ``CodeUri``/``ContentUri`` folders are replaced by placeholder S3 locations (what ``sam
package`` would put there), pseudo parameters get fixed values, and managed policy names, which
the template does not use, fail the transform instead of calling IAM.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform  # type: ignore[import-not-found]
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
PSEUDO_PARAMETERS = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012"}
_LOCAL_ARTIFACTS = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class NoManagedPolicies:
    """Stands in for samtranslator's IAM-backed loader: the template names no AWS managed policy."""

    def load(self) -> dict[str, str]:
        raise RuntimeError("the template names an AWS managed policy; write the statements out instead")


def with_placeholder_artifacts(template: dict[str, Any]) -> dict[str, Any]:
    """Local code folders replaced by S3 locations, as ``sam package`` would do."""
    for logical_id, resource in template.get("Resources", {}).items():
        key = _LOCAL_ARTIFACTS.get(resource.get("Type", ""))
        properties = resource.get("Properties", {})
        if key and isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
            properties[key] = f"s3://placeholder-artifacts/{logical_id}.zip"
    return template


def transformed(path: Path) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])
    template = with_placeholder_artifacts(yaml_parse(path.read_text(encoding="utf-8")))
    result: dict[str, Any] = transform(template, dict(PSEUDO_PARAMETERS), NoManagedPolicies())
    return result


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    target = Path(argv[2]) if len(argv) > 2 else ROOT / ".aws-sam" / "transformed.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(transformed(source), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{source.name} transformed by samtranslator -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
