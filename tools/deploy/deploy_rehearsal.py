"""Rehearse `sam deploy` against a moto server on loopback: no AWS account, no network.

    .venv/bin/deploy-rehearsal [--config-env default|prod] [--endpoint http://localhost:5005]
        [--build-dir .aws-sam/build]      # or: make deploy-rehearsal

Starts ``moto_server`` on a free port unless ``--endpoint`` is given, then:
1. creates the artifacts bucket (moto has no `--resolve-s3` managed stack);
2. ``sam package`` of the built template: code and layer zips go to (moto's) S3;
3. expands the SAM transform offline with samtranslator (moto's CloudFormation cannot), using the
   samconfig.toml environment's parameters; one moto shim (``moto_compat``): moto ignores a RestApi's
   OpenAPI body, so the routes it holds are added as Resource/Method resources;
4. ``sam deploy --template-file <expanded>`` with the environment's stack name, non-interactive;
5. prints the stack status and Outputs as JSON on stdout.

moto's CloudFormation skips what it does not implement (e.g. AWS::Lambda::Alias,
AWS::ApplicationAutoScaling::ScalableTarget): the rehearsal proves packaging, the expansion and the
CloudFormation that moto does run; tests/integration/test_template.py asserts the full expansion.
The URL must say "localhost", not 127.0.0.1: moto maps uploaded templates by path-style localhost URLs.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tools.deploy.samconfig import SamConfigError, deploy_settings
from tools.paths import ROOT

SAM = ROOT / ".venv-sam" / "bin" / "sam"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
BUCKET = "sam-artifacts-rehearsal"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


class RehearsalError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://localhost:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # loopback only
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RehearsalError("moto_server did not start")


def aws_env(endpoint: str, region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return {
        **env,
        **FAKE_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        "SAM_CLI_TELEMETRY": "0",
    }


def run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise RehearsalError(f"{' '.join(cmd[:3])} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout


def moto_compat(template: dict[str, Any]) -> dict[str, Any]:
    """What AWS does with a RestApi's OpenAPI Body and moto's CloudFormation does not.

    AWS names the API after ``info.title`` and creates its resources and methods from ``paths``;
    moto ignores the Body, so its Deployment fails ("The REST API doesn't contain any methods").
    The same routes are added as AWS::ApiGateway::Resource/Method resources, with the auth this
    template's conditions choose (ApiKeyAuth, IamAuth). And moto has no AWS::Lambda::Alias, so what
    points at the alias points at the function.
    """
    resources = template["Resources"]
    for api_id, api in list(resources.items()):
        props = api.get("Properties", {})
        if api["Type"] == "AWS::ApiGateway::RestApi" and "Body" in props:
            props.setdefault("Name", props["Body"]["info"]["title"])
            methods = add_routes(resources, api_id, props["Body"])
            deploy_after(resources, api_id, methods)
    aliases = {
        logical: resource["Properties"]["FunctionName"]["Ref"]
        for logical, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Alias"
    }
    return retarget(template, aliases)  # type: ignore[no-any-return]


def add_routes(resources: dict[str, Any], api_id: str, body: dict[str, Any]) -> list[str]:
    """The OpenAPI body's paths as Resource and Method resources; returns the methods' logical ids."""
    methods = []
    for n, (path, operations) in enumerate(sorted(body.get("paths", {}).items())):
        parent: Any = {"Fn::GetAtt": [api_id, "RootResourceId"]}
        if path != "/":
            resources[f"MotoResource{n}"] = {
                "Type": "AWS::ApiGateway::Resource",
                "Properties": {"RestApiId": {"Ref": api_id}, "ParentId": parent, "PathPart": path.strip("/")},
            }
            parent = {"Ref": f"MotoResource{n}"}
        for key, operation in operations.items():
            verb = "ANY" if key == "x-amazon-apigateway-any-method" else key.upper()
            integration = operation["x-amazon-apigateway-integration"]
            resources[f"MotoMethod{n}{verb}"] = {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": api_id},
                    "ResourceId": parent,
                    "HttpMethod": verb,
                    "AuthorizationType": {"Fn::If": ["IamAuth", "AWS_IAM", "NONE"]},
                    "ApiKeyRequired": {"Fn::If": ["ApiKeyAuth", True, False]},
                    "Integration": {
                        "Type": "AWS_PROXY",
                        "IntegrationHttpMethod": integration["httpMethod"],
                        "Uri": integration["uri"],
                    },
                },
            }
            methods.append(f"MotoMethod{n}{verb}")
    return methods


def deploy_after(resources: dict[str, Any], api_id: str, methods: list[str]) -> None:
    """The API's Deployment waits for its methods."""
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGateway::Deployment" and resource["Properties"].get("RestApiId") == {
            "Ref": api_id
        }:
            resource["DependsOn"] = sorted(set(resource.get("DependsOn", [])) | set(methods))
            # moto's change sets ignore DependsOn; a Ref makes it create the methods first.
            resource["Properties"]["Description"] = {"Fn::Join": [" ", [{"Ref": m} for m in methods]]}


def retarget(value: Any, aliases: dict[str, str]) -> Any:
    """``value`` with every ``{"Ref": alias}`` and ``${alias}`` (in Fn::Sub strings) naming the alias's function."""
    if isinstance(value, dict):
        if value.keys() == {"Ref"} and value["Ref"] in aliases:
            return {"Ref": aliases[value["Ref"]]}
        return {key: retarget(item, aliases) for key, item in value.items()}
    if isinstance(value, list):
        return [retarget(item, aliases) for item in value]
    if isinstance(value, str):
        for alias, function in aliases.items():
            value = value.replace(f"${{{alias}}}", f"${{{function}}}")
    return value


def rehearse(config_env: str, build_dir: Path, endpoint: str, keep: Path | None = None) -> dict[str, Any]:
    """Deploy; with ``keep``, the expanded (moto-compatible) template is also written there."""
    import boto3  # the dev venv's; SAM CLI has its own

    try:
        settings = deploy_settings(config_env)
    except SamConfigError as exc:
        raise RehearsalError(str(exc)) from None
    stack, region, overrides = settings.stack_name, settings.region, settings.parameter_overrides
    env = aws_env(endpoint, region)
    session = boto3.session.Session(region_name=region, **{k.lower(): v for k, v in FAKE_CREDENTIALS.items()})
    s3 = session.client("s3", endpoint_url=endpoint)
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
    with tempfile.TemporaryDirectory(prefix="rehearsal-") as tmp:
        packaged, expanded = Path(tmp) / "packaged.yaml", Path(tmp) / "expanded.json"
        run([str(SAM), "package", "-t", str(build_dir / "template.yaml"), "--s3-bucket", BUCKET,
             "--output-template-file", str(packaged)], env)  # fmt: skip
        run([str(SAM_PYTHON), "-m", "tools.deploy.expand_template", "--template", str(packaged),
             "--config-env", config_env, "--out", str(expanded)], env)  # fmt: skip
        template = moto_compat(json.loads(expanded.read_text()))
        expanded.write_text(json.dumps(template))
        if keep is not None:
            (keep / f"{config_env}.json").write_text(json.dumps(template))
        run([str(SAM), "deploy", "--template-file", str(expanded), "--stack-name", stack, "--s3-bucket", BUCKET,
             "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset", "--no-fail-on-empty-changeset",
             "--region", region, *(["--parameter-overrides", overrides] if overrides else [])], env)  # fmt: skip
    cfn = session.client("cloudformation", endpoint_url=endpoint)
    # moto fills a stack's Outputs when it is created directly, not when a change set (what `sam deploy`
    # executes) creates it: Outputs stay empty here; tests/integration/test_operator.py reads them from
    # a stack created with CreateStack from the same expansion.
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    # moto lists some resources without a type, and some with neither type nor logical id: the template
    # names the type where it can; the rest are counted, not shown as empty strings.
    declared = template["Resources"]
    types = [r["ResourceType"] or declared.get(r["LogicalResourceId"], {}).get("Type") for r in summaries]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    return {
        "stack": stack,
        "status": described["StackStatus"],
        "outputs": outputs or "none: moto leaves a change set's Outputs empty (AWS fills them; `model-ops endpoint`)",
        "resources": sorted(t for t in types if t),
        "resources_moto_left_unnamed": sum(1 for t in types if not t),
        "endpoint": endpoint,
        "parameters": {p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-env", default="default")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--endpoint", help="a running moto server (http://localhost:PORT); default: start one")
    args = parser.parse_args()
    if not (args.build_dir / "template.yaml").is_file():
        print(f"deploy_rehearsal: no build in {args.build_dir} (run `make build`)", file=sys.stderr)
        return 2
    proc = None
    try:
        endpoint = args.endpoint
        if endpoint is None:
            proc, endpoint = start_moto()
        result = rehearse(args.config_env, args.build_dir, endpoint)
    except RehearsalError as exc:
        print(f"deploy_rehearsal: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    print(json.dumps(result, indent=2))
    return 0 if result["status"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE") else 1


if __name__ == "__main__":
    sys.exit(main())
