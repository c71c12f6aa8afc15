"""samconfig.toml as `sam deploy --config-env ENV` reads it (stdlib only: used from both virtualenvs).

SAM takes a command's options from the environment's own ``global`` table, then its ``deploy``
table; it does not fall back to another environment.
"""

from __future__ import annotations

import json
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


def format_overrides(values: dict[str, str]) -> str:
    """The inverse of parse_overrides: ``K=V`` items, quoted where a value needs it."""
    return " ".join(f"{key}={shlex.quote(value) if value else ''}" for key, value in values.items())


def set_overrides(config_env: str, values: dict[str, str], path: Path = SAMCONFIG) -> dict[str, str]:
    """Sets ``values`` in the environment's ``deploy.parameters.parameter_overrides`` (other parameters, other
    keys, comments and other environments are kept as they are); returns the environment's overrides after."""
    deploy_settings(config_env, path)  # the environment exists and names its stack
    lines = path.read_text().splitlines(keepends=True)
    header = f"[{config_env}.deploy.parameters]"
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == header)
    except StopIteration:
        raise SamConfigError(f"samconfig.toml environment {config_env!r} has no {header} table") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    table = tomllib.loads("".join(lines[start:end]))
    current = table[config_env]["deploy"]["parameters"].get("parameter_overrides", "")
    merged = {**parse_overrides(current), **values}
    line = f"parameter_overrides = {json_string(format_overrides(merged))}\n"
    found = [i for i in range(start + 1, end) if lines[i].lstrip().startswith("parameter_overrides")]
    if found:
        lines[found[0]] = line
    else:
        lines.insert(end if lines[end - 1].strip() else end - 1, line)
    path.write_text("".join(lines))
    return deploy_settings(config_env, path).parameters


def json_string(text: str) -> str:
    """A TOML basic string (TOML's escapes for quotes and backslashes are JSON's)."""
    return json.dumps(text)
