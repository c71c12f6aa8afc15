"""`sam build` + `sam deploy` rehearsed on a moto server, and the operator CLI against the result."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.integration.conftest import ModelLayer
from tests.utils import served_by
from tools.deploy import deploy_rehearsal, samconfig
from tools.operate import ops

pytestmark = [pytest.mark.build, pytest.mark.sam]

FAKE = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with served_by(*deploy_rehearsal.start_moto()) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("expanded")


@pytest.fixture(scope="module", params=["default", "prod"])
def deployed(request: pytest.FixtureRequest, built: Path, moto: str, kept: Path) -> dict[str, Any]:
    return deploy_rehearsal.rehearse(request.param, built, moto, keep=kept)


def test_sam_deploy_completes_on_moto(deployed: dict[str, Any]) -> None:
    assert deployed["status"] == "CREATE_COMPLETE"
    for kind in (
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Deployment",
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Dashboard",
    ):
        assert kind in deployed["resources"], kind
    expected_auth = "API_KEY" if deployed["stack"].endswith("prod") else "NONE"
    assert deployed["parameters"]["AuthMode"] == expected_auth


@pytest.fixture(scope="module")
def aws(moto: str) -> Iterator[dict[str, str]]:
    saved = dict(os.environ)
    os.environ.update({**FAKE, "AWS_ENDPOINT_URL": moto, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"})
    yield {"endpoint": moto}
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def ops_stack(aws: dict[str, str], built: Path, moto: str, kept: Path) -> dict[str, Any]:
    """The prod expansion created with CreateStack (moto fills Outputs then), plus what CloudFormation
    would have made on AWS and moto skips: the function's layer, the live alias, the autoscaling target."""
    if not (kept / "prod.json").is_file():
        deploy_rehearsal.rehearse("prod", built, moto, keep=kept)
    prod = samconfig.deploy_settings("prod").parameters
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in prod.items()]
    cfn = boto3.client("cloudformation")
    cfn.create_stack(
        StackName="ops-test", TemplateBody=(kept / "prod.json").read_text(), Parameters=parameters,
        Capabilities=["CAPABILITY_IAM"],
    )  # fmt: skip
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="ops-test")["Stacks"][0]["Outputs"]
    }
    function = outputs["PredictFunctionName"]
    lam = boto3.client("lambda")
    # moto resolves Ref of a LayerVersion to an object, not its ARN, so the function lacks its layer
    (layer,) = [item for item in lam.list_layers()["Layers"] if item["LayerName"].startswith("ops-test-")]
    lam.update_function_configuration(FunctionName=function, Layers=[layer["LatestMatchingVersion"]["LayerVersionArn"]])
    version = lam.publish_version(FunctionName=function)["Version"]
    lam.create_alias(FunctionName=function, Name="live", FunctionVersion=version)
    boto3.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="lambda", ResourceId=f"function:{function}:live",
        ScalableDimension="lambda:function:ProvisionedConcurrency", MinCapacity=2, MaxCapacity=20,
    )  # fmt: skip
    return {"outputs": outputs, "function": function}


def run_ops(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = ops.main(list(argv))
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err


def test_ops_endpoint(ops_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_ops(capsys, "endpoint", "--stack", "ops-test")
    assert code == 0
    assert out["ApiUrl"].startswith("https://")
    assert out["ApiUrl"].endswith(".execute-api.us-east-1.amazonaws.com/prod/")
    assert out["PredictUrl"] == out["ApiUrl"] + "predict"
    assert out["AuthMode"] == "API_KEY"
    # (moto's CloudFormation creates no AWS::ApiGateway::ApiKey, so the ApiKeyId output is absent here)


def test_ops_missing_stack_and_bad_arguments(aws: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_ops(capsys, "endpoint", "--stack", "no-such-stack")
    assert code == 2
    assert "stack 'no-such-stack' not found in us-east-1" in err
    with pytest.raises(SystemExit) as exited:
        ops.main(["scaling", "set", "--stack", "x", "--reserved", "-1"])
    assert exited.value.code == 2
    assert "must be 0 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ops.main(["scaling", "set", "--stack", "x", "--reserved", "3", "--unreserved"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_ops_scaling_show_and_set(ops_stack: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, shown, _ = run_ops(capsys, "scaling", "show", "--stack", "ops-test")
    assert code == 0
    assert shown["reserved_concurrency"] == 100  # from the prod parameters, set by CloudFormation
    assert shown["autoscaling"] == [{"min": 2, "max": 20}]
    code, changed, _ = run_ops(
        capsys, "scaling", "set", "--stack", "ops-test", "--reserved", "60", "--min", "3", "--max", "12",
        "--schedule", "weekend", "cron(0 8 ? * SAT *)", "1", "4",
    )  # fmt: skip
    assert code == 0
    assert changed["reserved_concurrency"] == 60
    assert changed["autoscaling"] == [{"min": 3, "max": 12}]
    assert {"name": "weekend", "schedule": "cron(0 8 ? * SAT *)", "min": 1, "max": 4} in changed["schedules"]
    code, _, err = run_ops(capsys, "scaling", "set", "--stack", "ops-test", "--min", "9", "--max", "5")
    assert code == 2
    assert "--min 9 is above --max 5" in err
    code, removed, _ = run_ops(
        capsys, "scaling", "set", "--stack", "ops-test", "--unreserved", "--remove-schedule", "weekend"
    )
    assert code == 0
    assert removed["reserved_concurrency"] == "unreserved"
    assert all(s["name"] != "weekend" for s in removed["schedules"])


@pytest.fixture(params=["iris", "sklearn"])
def published(request: pytest.FixtureRequest, iris_bundle: Path, sklearn_bundle: Path) -> Path:
    """A user's classifier (RUNTIME=auto: ONNX Runtime) and the default model served by scikit-learn."""
    return iris_bundle if request.param == "iris" else sklearn_bundle


def test_ops_publish_model(
    ops_stack: dict[str, Any], model_layers: dict[str, ModelLayer], published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = json.loads((published / "manifest.json").read_text())
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="model-bundles")
    code, out, err = run_ops(
        capsys, "publish-model", "--stack", "ops-test", "--bucket", "model-bundles", "--bundle", str(published),
        "--layer-python", str(model_layers[local["runtime"]].path / "python"),
    )  # fmt: skip
    assert code == 0, err
    assert (out["model_version"], out["runtime"]) == (local["version"], local["runtime"])
    lam = boto3.client("lambda")
    config = lam.get_function_configuration(FunctionName=ops_stack["function"])
    assert [layer["Arn"] for layer in config["Layers"]] == [out["layer_version_arn"]]
    alias = lam.get_alias(FunctionName=ops_stack["function"], Name="live")
    assert alias["FunctionVersion"] == out["function_version"]
    key = f"ops-test/{local['name']}/{local['version']}/manifest.json"
    assert out["manifest"] == f"s3://model-bundles/{key}"
    assert json.loads(s3.get_object(Bucket="model-bundles", Key=key)["Body"].read())["sha256"] == local["sha256"]
    print(f"\npublished {local['runtime']} layer: {out['layer_unzipped_bytes']:,} bytes unzipped")


def test_ops_publish_refuses_a_layer_built_for_the_other_runtime(
    ops_stack: dict[str, Any], model_layers: dict[str, ModelLayer], published: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = json.loads((published / "manifest.json").read_text())["runtime"]
    other = "sklearn" if runtime == "onnx" else "onnx"  # a layer without the bundle's runtime
    code, _, err = run_ops(
        capsys, "publish-model", "--stack", "ops-test", "--bucket", "model-bundles", "--bundle", str(published),
        "--layer-python", str(model_layers[other].path / "python"),
    )  # fmt: skip
    assert code == 2
    assert f"the bundle's runtime is {runtime}" in err
    assert f"holds the {other}" in err


def test_ops_publish_refuses_a_tampered_bundle(
    ops_stack: dict[str, Any], built: Path, default_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    bad = Path(shutil.copytree(default_bundle, tmp_path / "model"))
    (bad / json.loads((bad / "manifest.json").read_text())["artifact"]).write_bytes(b"tampered")
    code, _, err = run_ops(
        capsys, "publish-model", "--stack", "ops-test", "--bucket", "model-bundles", "--bundle", str(bad),
        "--layer-python", str(built / "ModelLayer" / "python"),
    )  # fmt: skip
    assert code == 2
    assert "sha256 mismatch" in err
