"""samconfig.set_overrides: one environment's parameter_overrides changed, everything else kept."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tools.deploy.samconfig import SamConfigError, deploy_settings, set_overrides

CONFIG = """# a comment that stays
version = 0.1

[dev.global.parameters]
stack_name = "s-dev"

[dev.deploy.parameters]
region = "eu-west-1"
parameter_overrides = "EnvironmentName=dev CorsAllowOrigins= FunctionMemory=1769"

[bare.global.parameters]
stack_name = "s-bare"

[bare.deploy.parameters]
region = "us-east-1"

[other.global.parameters]
stack_name = "s-other"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "samconfig.toml"
    path.write_text(CONFIG)
    return path


def test_values_are_merged_into_the_existing_overrides(config: Path) -> None:
    after = set_overrides("dev", {"FunctionMemory": "512", "ColdStartStrategy": "none"}, config)
    expected = {"EnvironmentName": "dev", "CorsAllowOrigins": "", "FunctionMemory": "512", "ColdStartStrategy": "none"}
    assert after == expected
    assert deploy_settings("dev", config).region == "eu-west-1"
    assert config.read_text().startswith("# a comment that stays\n")
    assert tomllib.loads(config.read_text())["other"] == tomllib.loads(CONFIG)["other"]


def test_an_environment_without_overrides_gets_the_line(config: Path) -> None:
    assert set_overrides("bare", {"ReservedConcurrency": "50"}, config) == {"ReservedConcurrency": "50"}
    assert deploy_settings("bare", config).region == "us-east-1"


def test_an_environment_without_a_deploy_table_is_refused(config: Path) -> None:
    with pytest.raises(SamConfigError, match=r"has no \[other.deploy.parameters\] table"):
        set_overrides("other", {"ReservedConcurrency": "50"}, config)
    with pytest.raises(SamConfigError, match="no environment 'nope'"):
        set_overrides("nope", {}, config)
