"""`model-ops plan` through the operator CLI's main(): output keys, bad input (exit 2, one line), samconfig."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.tools.plan.conftest import EXAMPLE
from tools.deploy import samconfig
from tools.operate import ops
from tools.paths import ROOT
from tools.plan.command import PROFILE

STRATEGY_KEYS = {
    "mean_concurrency", "peak_concurrency", "cold_starts", "cold_start_share", "throttled_share", "p99_ms",
    "monthly_cost_usd", "provisioned_concurrency",
}  # fmt: skip
COST_KEYS = {"total", "requests", "compute", "provisioned", "api_gateway", "snapstart"}


def plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = ops.main(["plan", "--profile", str(EXAMPLE), *args])
    out, err = capsys.readouterr()
    return code, out, err


def curve(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "traffic.csv"
    path.write_text(text)
    return path


def test_default_profile_is_bench_profile_json() -> None:
    assert PROFILE == ROOT / "bench" / "profile.json"


def test_json_has_the_issues_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    traffic = curve(tmp_path, "second,rps\n0,0\n30,500\n300,50\n599,50\n")
    code, out, _ = plan(capsys, "--traffic", str(traffic), "--p99-ms", "100", "--memory-mb", "1769", "--json")
    assert code == 0
    data = json.loads(out)
    inputs = data["inputs"]
    assert {"rps", "memory_mb", "architecture", "profile", "warm_duration_ms", "init_duration_ms"} <= set(inputs)
    assert set(inputs["warm_duration_ms"]) == {"p50", "mean", "p99"}
    assert "p50" in inputs["init_duration_ms"]
    assert inputs["profile"]["measured_at"] == "2026-12-01"
    assert set(data["strategies"]) == {"on-demand", "provisioned", "snapstart"}
    for figures in data["strategies"].values():
        assert set(figures) >= STRATEGY_KEYS
        assert set(figures["monthly_cost_usd"]) == COST_KEYS
    assert data["recommended"] in data["strategies"]
    assert data["samconfig_overrides"]["FunctionMemory"] == 1769


def test_text_names_the_profile_and_the_recommendation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(capsys, "--rps", "20", "--p99-ms", "100", "--memory-mb", "1769")
    assert code == 0
    assert "measured 2026-12-01 on x86_64" in out
    assert "recommended: on-demand at 1769 MB" in out


def test_arm64_says_it_assumes_the_x86_64_durations(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = plan(capsys, "--rps", "20", "--p99-ms", "100", "--memory-mb", "1769", "--architecture", "arm64")
    assert code == 0
    assert "durations on arm64 are the ones measured on x86_64" in out
    assert "samconfig_overrides leave it out" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("second,rps\n0,10\n60,-5\n", "line 3: the rate -5 is not a request rate"),
        ("second,rps\n0,10\n60,lots\n", "line 3: '60,lots' is not two numbers"),
        ("0,10\n60,5,7\n", "line 2: expected 'second,rps'"),
        ("0,10\n0,20\n", "line 2: second 0 does not come after second 0"),
    ],
)
def test_bad_traffic_file_exits_2_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    code, out, err = plan(capsys, "--traffic", str(curve(tmp_path, text)), "--p99-ms", "100")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert message in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rps", "10", "--p99-ms", "0.9"], "unreachable: the warm handler alone has a p99 of 1.3 ms"),
        (["--rps", "10", "--p99-ms", "100", "--memory-mb", "100"], "Lambda does not offer 100 MB"),
        (["--rps", "-3", "--p99-ms", "100"], "--rps must be a number of requests per second, 0 or more"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, out, err = plan(capsys, *args)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert message in err


def test_non_numeric_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        ops.main(["plan", "--rps", "many", "--p99-ms", "100"])
    assert exit_info.value.code == 2
    assert "--rps: invalid float value: 'many'" in capsys.readouterr().err


def test_a_missing_profile_says_how_to_make_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = ops.main(["plan", "--rps", "10", "--p99-ms", "100", "--profile", str(tmp_path / "none.json")])
    assert code == 2
    assert "run `make bench` or pass --profile" in capsys.readouterr().err


def test_write_samconfig_to_an_unknown_environment_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = plan(capsys, "--rps", "20", "--p99-ms", "100", "--write-samconfig", "staging")
    assert (code, out) == (2, "")
    assert "samconfig.toml has no environment 'staging'" in err


def test_write_samconfig_sets_the_overrides_and_keeps_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "samconfig.toml"
    shutil.copy(samconfig.SAMCONFIG, config)
    monkeypatch.setattr(samconfig, "SAMCONFIG", config)
    before = samconfig.deploy_settings("prod", config).parameters
    code, _, err = plan(capsys, "--rps", "20", "--p99-ms", "100", "--memory-mb", "1024", "--write-samconfig", "prod")
    assert code == 0, err
    after = samconfig.deploy_settings("prod", config).parameters
    # prod's reserved concurrency (100) is what the plan assumed and keeps
    assert [after[k] for k in ("ColdStartStrategy", "FunctionMemory", "ReservedConcurrency")] == ["none", "1024", "100"]
    changed = ("ColdStartStrategy", "ReservedConcurrency", "FunctionMemory")
    assert {k: v for k, v in after.items() if k not in changed} == {k: v for k, v in before.items() if k not in changed}
    original = ROOT / "samconfig.toml"
    assert samconfig.deploy_settings("default", config) == samconfig.deploy_settings("default", original)
    assert config.read_text().splitlines()[:4] == original.read_text().splitlines()[:4]  # comments kept


def test_overrides_are_template_parameters_within_their_bounds(capsys: pytest.CaptureFixture[str]) -> None:
    from cfnlint.decode import cfn_yaml

    parameters = cfn_yaml.load(str(ROOT / "template.yaml"))["Parameters"]
    code, out, _ = plan(capsys, "--rps", "0.01", "--p99-ms", "50", "--reserved", "40", "--json")  # provisioned
    assert code == 0
    overrides = json.loads(out)["samconfig_overrides"]
    assert overrides["ColdStartStrategy"] == "provisioned"
    for key, value in overrides.items():
        spec = parameters[key]
        if "AllowedValues" in spec:
            assert str(value) in {str(allowed) for allowed in spec["AllowedValues"]}, key
        if spec["Type"] == "Number":
            assert float(spec.get("MinValue", -1e9)) <= float(value) <= float(spec.get("MaxValue", 1e9)), key
    assert overrides["ProvisionedMax"] <= overrides["ReservedConcurrency"] == 40
