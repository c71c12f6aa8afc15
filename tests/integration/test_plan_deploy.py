"""`model-ops plan`'s samconfig_overrides are template parameters: they expand with template.yaml (samtranslator)
into what each strategy needs, and the expansion is created as a stack on a moto server."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT
from tests.integration.cfn import Evaluated
from tests.unit.tools.plan.conftest import EXAMPLE
from tests.utils import served_by
from tools.deploy import deploy_rehearsal
from tools.operate import ops

pytestmark = [pytest.mark.sam]

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
# a request every 100 s (the objective decides), and steady traffic (on-demand is cheapest)
CASES = {
    "provisioned": ["--rps", "0.01", "--p99-ms", "50"],
    "on-demand": ["--rps", "20", "--p99-ms", "100", "--reserved", "50"],
}


def planned(capsys: pytest.CaptureFixture[str], args: list[str]) -> dict[str, Any]:
    assert ops.main(["plan", "--profile", str(EXAMPLE), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def expanded(overrides: dict[str, Any]) -> dict[str, Any]:
    text = " ".join(f"{key}={value}" for key, value in overrides.items())
    cmd = [str(SAM_PYTHON), "-m", "tools.deploy.expand_template", "--config-env", "default", "--parameter-overrides"]
    result = subprocess.run([*cmd, text], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with served_by(*deploy_rehearsal.start_moto()) as endpoint:
        yield endpoint


def create_on_moto(template: dict[str, Any], endpoint: str, name: str) -> str:
    """The expansion as a stack: the code and layer placeholders (s3://local-artifacts/...) hold a small zip."""
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    s3, cfn = session.client("s3", endpoint_url=endpoint), session.client("cloudformation", endpoint_url=endpoint)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    s3.create_bucket(Bucket="local-artifacts")
    for key in ("functions/predict", "layers/model"):
        s3.put_object(Bucket="local-artifacts", Key=key, Body=buffer.getvalue())
    parameters = template["Metadata"]["ExpandedWith"]["Parameters"]
    cfn.create_stack(
        StackName=name,
        TemplateBody=json.dumps(deploy_rehearsal.moto_compat(template)),
        Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    return str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


@pytest.mark.parametrize("strategy", list(CASES))
def test_overrides_expand_and_deploy_on_moto(capsys: pytest.CaptureFixture[str], moto: str, strategy: str) -> None:
    plan = planned(capsys, CASES[strategy])
    assert plan["recommended"] == strategy
    overrides = plan["samconfig_overrides"]
    template = expanded(overrides)
    params = template["Metadata"]["ExpandedWith"]["Parameters"]
    assert {key: str(params[key]) for key in overrides} == {key: str(value) for key, value in overrides.items()}
    t = Evaluated(template, params)
    function = t.resources["PredictFunction"]["Properties"]
    assert function["MemorySize"] == str(overrides["FunctionMemory"])
    targets = t.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    if strategy == "provisioned":
        props = t.one("AWS::ApplicationAutoScaling::ScalableTarget")["Properties"]
        assert (props["MinCapacity"], props["MaxCapacity"]) == (
            str(overrides["ProvisionedMin"]),
            str(overrides["ProvisionedMax"]),
        )
    else:
        assert not targets
        assert function["ReservedConcurrentExecutions"] == "50"
    assert create_on_moto(template, moto, f"plan-{strategy}") == "CREATE_COMPLETE"
