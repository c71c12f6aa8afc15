"""samconfig.toml as `sam deploy --config-env ENV` reads it (stdlib only: used from both virtualenvs).

SAM takes a command's options from the environment's own ``global`` table, then its ``deploy``
table; it does not fall back to another environment.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tools.paths import ROOT

SAMCONFIG = ROOT / "samconfig.toml"


class SamConfigError(ValueError):
    pass


@dataclass(frozen=True)
class DeploySettings:
    stack_name: str
    region: str
    parameter_overrides: str

    @property
    def parameters(self) -> dict[str, str]:
        return parse_overrides(self.parameter_overrides)


def environments(path: Path = SAMCONFIG) -> list[str]:
    return sorted(name for name, table in tomllib.loads(path.read_text()).items() if isinstance(table, dict))


def deploy_settings(config_env: str, path: Path = SAMCONFIG) -> DeploySettings:
    config = tomllib.loads(path.read_text())
    if not isinstance(config.get(config_env), dict):
        raise SamConfigError(f"samconfig.toml has no environment {config_env!r}")
    merged: dict[str, str] = {}
    for section in ("global", "deploy"):
        merged.update(config[config_env].get(section, {}).get("parameters", {}))
    if "stack_name" not in merged:
        raise SamConfigError(f"samconfig.toml environment {config_env!r} names no stack_name")
    return DeploySettings(
        merged["stack_name"], merged.get("region", "us-east-1"), merged.get("parameter_overrides", "")
    )


def parse_overrides(text: str) -> dict[str, str]:
    """``"K=V K2=V2"`` (SAM's parameter_overrides) as a dict; an empty value stays empty."""
    values: dict[str, str] = {}
    for item in shlex.split(text):
        key, sep, value = item.partition("=")
        if not sep:
            raise SamConfigError(f"parameter override {item!r} is not KEY=VALUE")
        values[key.removeprefix("ParameterKey=")] = value
    return values
