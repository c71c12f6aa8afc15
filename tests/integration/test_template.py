"""template.yaml expanded with samtranslator for every samconfig environment, then evaluated with that
environment's parameters: what CloudFormation will create (moto's CloudFormation cannot expand it)."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.cfn import Evaluated
from tests.integration.conftest import run_sam
from tools.build.lambda_platform import RUNTIME
from tools.deploy import samconfig

pytestmark = [pytest.mark.sam]

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
ENVIRONMENTS = samconfig.environments()


def expand(config_env: str, overrides: str = "") -> Evaluated:
    cmd = [str(SAM_PYTHON), "-m", "tools.deploy.expand_template", "--config-env", config_env]
    if overrides:
        cmd += ["--parameter-overrides", overrides]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads(result.stdout)
    params = template["Metadata"]["ExpandedWith"]["Parameters"]
    return Evaluated(template, params)


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def env(request: pytest.FixtureRequest) -> tuple[str, Evaluated]:
    return request.param, expand(request.param)


def test_both_environments_exist() -> None:
    assert ENVIRONMENTS == ["default", "prod"]


def test_sam_validate_lint_is_clean() -> None:
    result = run_sam("validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_function_runs_python313_with_the_model_layer(env: tuple[str, Evaluated]) -> None:
    _, t = env
    fn = t.resources["PredictFunction"]["Properties"]
    # the platform the layer and function are built for (tools/build/lambda_platform.py)
    assert fn["Runtime"] == RUNTIME
    assert fn["Architectures"] == ["x86_64"]
    assert fn["Handler"] == "app.handler"
    (layer_id,) = t.of_type("AWS::Lambda::LayerVersion")
    assert fn["Layers"] == [{"Ref": layer_id}]
    variables = fn["Environment"]["Variables"]
    assert variables["MODEL_DIR"] == "/opt/model"
    assert variables["JOBLIB_MULTIPROCESSING"] == "0"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "ServerlessInference"


def test_concurrency_follows_the_parameters(env: tuple[str, Evaluated]) -> None:
    name, t = env
    p = t.parameters
    fn = t.resources["PredictFunction"]["Properties"]
    alias = t.one("AWS::Lambda::Alias")
    assert alias["Properties"]["Name"] == "live"
    if p["ReservedConcurrency"] == "0":
        assert "ReservedConcurrentExecutions" not in fn
    else:
        assert fn["ReservedConcurrentExecutions"] == p["ReservedConcurrency"]
    provisioned = p["ColdStartStrategy"] == "provisioned"
    assert ("ProvisionedConcurrencyConfig" in alias["Properties"]) == provisioned
    targets = t.of_type("AWS::ApplicationAutoScaling::ScalableTarget")
    policies = t.of_type("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert bool(targets) == bool(policies) == provisioned
    assert fn["SnapStart"]["ApplyOn"] == "None"  # neither environment uses SnapStart
    if name == "prod":
        assert provisioned
        assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": "2"}


def test_prod_scales_provisioned_concurrency_on_the_alias() -> None:
    t = expand("prod")
    (alias_id,) = t.of_type("AWS::Lambda::Alias")
    target = t.one("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["DependsOn"] == alias_id  # the alias must exist before it can be registered
    props = target["Properties"]
    assert props["ResourceId"] == {"Fn::Sub": "function:${PredictFunction}:live"}
    assert props["ScalableDimension"] == "lambda:function:ProvisionedConcurrency"
    assert (props["MinCapacity"], props["MaxCapacity"]) == ("2", "20")
    assert [a["ScheduledActionName"] for a in props["ScheduledActions"]] == ["business-hours", "nights"]
    assert props["ScheduledActions"][0]["ScalableTargetAction"]["MinCapacity"] == "4"
    policy = t.one("AWS::ApplicationAutoScaling::ScalingPolicy")["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    assert (
        tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "LambdaProvisionedConcurrencyUtilization"
    )
    assert tracking["TargetValue"] == "0.7"
    assert int(props["MaxCapacity"]) < int(t.parameters["ReservedConcurrency"])


def test_snapstart_is_the_alternative_and_excludes_provisioned() -> None:
    t = expand("prod", "ColdStartStrategy=snapstart")
    assert t.resources["PredictFunction"]["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert "ProvisionedConcurrencyConfig" not in t.one("AWS::Lambda::Alias")["Properties"]
    assert not t.of_type("AWS::ApplicationAutoScaling::ScalableTarget")


def test_stage_throttling_access_logs_and_tracing(env: tuple[str, Evaluated]) -> None:
    _, t = env
    stage = t.one("AWS::ApiGateway::Stage")["Properties"]
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == t.parameters["ThrottleRateLimit"]
    assert settings["ThrottlingBurstLimit"] == t.parameters["ThrottleBurstLimit"]
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert '"status":"$context.status"' in stage["AccessLogSetting"]["Format"]
    tracing = t.parameters["Tracing"] == "Active"
    assert stage["TracingEnabled"] is tracing
    assert t.resources["PredictFunction"]["Properties"]["TracingConfig"] == {"Mode": t.parameters["Tracing"]}


def test_rollouts_are_guarded_by_alarms_that_see_500s(env: tuple[str, Evaluated]) -> None:
    _, t = env
    group = t.one("AWS::CodeDeploy::DeploymentGroup")["Properties"]
    assert group["DeploymentConfigName"] == {
        "Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": t.parameters["DeploymentType"]}]
    }
    alarms = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
    assert alarms == {"AliasErrorsAlarm", "ServerErrorsAlarm", "Api5xxAlarm"}
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(group["AutoRollbackConfiguration"]["Events"])
    alias = t.one("AWS::Lambda::Alias")
    assert "CodeDeployLambdaAliasUpdate" in alias["UpdatePolicy"]
    server = t.resources["ServerErrorsAlarm"]["Properties"]
    assert (server["Namespace"], server["MetricName"]) == ("ServerlessInference", "ServerErrors")
    assert server["Dimensions"] == [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}]
    env_vars = t.resources["PredictFunction"]["Properties"]["Environment"]["Variables"]
    assert env_vars["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}  # the dimension the function emits
    api5xx = t.resources["Api5xxAlarm"]["Properties"]
    assert api5xx["MetricName"] == "5XXError"


def test_prod_canary_and_dev_all_at_once(env: tuple[str, Evaluated]) -> None:
    name, t = env
    assert t.parameters["DeploymentType"] == ("Canary10Percent5Minutes" if name == "prod" else "AllAtOnce")


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_least_privilege(env: tuple[str, Evaluated]) -> None:
    _, t = env
    statements = []
    for resource in [*t.of_type("AWS::IAM::Role").values(), *t.of_type("AWS::IAM::Policy").values()]:
        props = resource["Properties"]
        for policy in props.get("Policies", []):
            statements += policy["PolicyDocument"]["Statement"]
        if "PolicyDocument" in props:
            statements += props["PolicyDocument"]["Statement"]
    assert statements
    for statement in statements:
        for action in actions_of(statement):
            assert action != "*", statement
            assert not action.endswith(":*"), f"wildcard action {action}"
        if statement.get("Resource") == "*":
            assert all(a.startswith("xray:") for a in actions_of(statement)), statement
    role = t.resources["PredictFunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    function_actions = {a for p in role["Policies"] for s in p["PolicyDocument"]["Statement"] for a in actions_of(s)}
    assert function_actions == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert bool(t.of_type("AWS::IAM::Policy")) == (t.parameters["Tracing"] == "Active")


def method_security(t: Evaluated) -> list[Any]:
    body = t.one("AWS::ApiGateway::RestApi")["Properties"]["Body"]
    return [ops["x-amazon-apigateway-any-method"]["security"] for ops in body["paths"].values()]


def test_cors_is_explicit_and_never_a_wildcard_in_prod(env: tuple[str, Evaluated]) -> None:
    name, t = env
    origins = t.resources["PredictFunction"]["Properties"]["Environment"]["Variables"]["CORS_ALLOW_ORIGINS"]
    if name == "prod":
        assert "*" not in origins
    body = t.one("AWS::ApiGateway::RestApi")["Properties"]["Body"]
    for ops in body["paths"].values():  # preflights carry no key: OPTIONS alone is open, and answered by the app
        assert ops["options"]["security"] == []


def test_prod_requires_an_api_key_with_a_usage_plan(env: tuple[str, Evaluated]) -> None:
    name, t = env
    if name == "prod":
        assert method_security(t) == [[{"api_key": []}], [{"api_key": []}]]
        plan = t.one("AWS::ApiGateway::UsagePlan")["Properties"]
        assert plan["Throttle"] == {"RateLimit": "200", "BurstLimit": "400"}
        key = t.one("AWS::ApiGateway::UsagePlanKey")["Properties"]
        assert key["KeyType"] == "API_KEY"
        assert "ApiKeyId" in t.outputs
    else:
        assert method_security(t) == [[], []]
        assert not t.of_type("AWS::ApiGateway::ApiKey")
        assert "ApiKeyId" not in t.outputs


def test_iam_auth_signs_every_route() -> None:
    t = expand("prod", "AuthMode=IAM")
    assert method_security(t) == [[{"sigv4": []}], [{"sigv4": []}]]
    assert not t.of_type("AWS::ApiGateway::UsagePlan")


def test_routes_invoke_the_live_alias(env: tuple[str, Evaluated]) -> None:
    _, t = env
    body = t.one("AWS::ApiGateway::RestApi")["Properties"]["Body"]
    assert set(body["paths"]) == {"/", "/{proxy+}"}
    for ops in body["paths"].values():
        uri = ops["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert "${PredictFunctionAliaslive}" in uri
    permissions = t.of_type("AWS::Lambda::Permission")
    assert {p["Properties"]["FunctionName"]["Ref"] for p in permissions.values()} == {"PredictFunctionAliaslive"}


def test_outputs_name_the_https_endpoint(env: tuple[str, Evaluated]) -> None:
    _, t = env
    url = t.outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert re.fullmatch(
        r"https://\$\{PredictApi\}\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}/\$\{StageName\}/", url
    )
    assert t.outputs["PredictUrl"]["Value"]["Fn::Sub"].endswith("/${StageName}/predict")


def test_dashboard_shows_the_functions_metrics(env: tuple[str, Evaluated]) -> None:
    _, t = env
    body = t.one("AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    for metric in ("PredictLatency", "PredictedRows", "ServerErrors", "ProvisionedConcurrencyUtilization", "5XXError"):
        assert metric in body


def test_binary_bodies_pass_and_still_fit_lambdas_payload(env: tuple[str, Evaluated]) -> None:
    """BinaryMediaTypes */* (the Open Inference Protocol's binary tensors; docs/protocols.md): every body reaches
    the function base64, so MAX_BODY_BYTES in base64, with room for the rest of the event, fits Lambda's 6 MB."""
    _, t = env
    api = t.one("AWS::ApiGateway::RestApi")["Properties"]
    assert api["Body"]["x-amazon-apigateway-binary-media-types"] == ["*/*"]
    limit = int(t.resources["PredictFunction"]["Properties"]["Environment"]["Variables"]["MAX_BODY_BYTES"])
    assert 4 * -(-limit // 3) + 256 * 1024 <= 6 * 1024 * 1024
