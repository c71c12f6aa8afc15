"""Expand template.yaml (the SAM transform) to plain CloudFormation, offline, with samtranslator.

    .venv-sam/bin/expand-template [--config-env prod] [--template template.yaml]
        [--parameter-overrides "K=V K2=V2"] [--out expanded.json]

Runs in the SAM CLI's virtualenv (samtranslator lives there). Parameter values come from the
template's defaults, then the samconfig.toml environment's ``deploy.parameter_overrides``, then
``--parameter-overrides``. Used by the tests (moto's CloudFormation does not expand the transform) and
by `make expand`; `sam deploy` to moto deploys this expansion.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from tools.deploy.samconfig import SamConfigError, deploy_settings, parse_overrides
from tools.paths import ROOT

os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_REGION := "us-east-1")  # samtranslator asks boto for one
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NotificationARNs": [],
}


class OfflinePolicyLoader(ManagedPolicyLoader):  # type: ignore[misc]
    """The template names no managed policies by name, so nothing needs IAM."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def placeholder_artifacts(template: dict[str, Any]) -> None:
    """Local CodeUri/ContentUri (before `sam package`) become s3:// placeholders, as `sam validate` does."""
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            value = props.get(key)
            if isinstance(value, str) and not value.startswith("s3://"):
                props[key] = f"s3://local-artifacts/{value.strip('/')}"


def expand(template_path: Path, config_env: str, overrides_text: str = "") -> dict[str, Any]:
    template = yaml_parse(template_path.read_text())
    placeholder_artifacts(template)
    try:
        settings = deploy_settings(config_env)
        from_config, stack = settings.parameters, settings.stack_name
        extra = parse_overrides(overrides_text)
    except SamConfigError as exc:
        raise SystemExit(f"expand_template: {exc}") from None
    values: dict[str, Any] = {
        name: spec["Default"] for name, spec in template.get("Parameters", {}).items() if "Default" in spec
    }
    values.update(from_config)
    values.update(extra)
    unknown = set(values) - set(template.get("Parameters", {}))
    if unknown:
        raise SystemExit(f"expand_template: unknown parameters {sorted(unknown)}")
    values.update(PSEUDO)
    values["AWS::StackName"] = stack
    values["AWS::StackId"] = f"arn:aws:cloudformation:us-east-1:123456789012:stack/{stack}/0"
    expanded: dict[str, Any] = transform(template, values, OfflinePolicyLoader())
    expanded["Metadata"] = {**expanded.get("Metadata", {}), "ExpandedWith": {"ConfigEnv": config_env}}
    params = {k: v for k, v in values.items() if not k.startswith("AWS::")}
    expanded["Metadata"]["ExpandedWith"]["Parameters"] = params
    return expanded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--config-env", default="default")
    parser.add_argument("--parameter-overrides", default="")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    expanded = expand(args.template, args.config_env, args.parameter_overrides)
    text = json.dumps(expanded, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
