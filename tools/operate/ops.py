"""Operate a deployed stack: find its endpoint, publish a new model bundle, show and change scaling.

    .venv/bin/model-ops --help
    .venv/bin/model-ops endpoint --stack sklearn-inference-prod
    .venv/bin/model-ops publish-model --stack sklearn-inference-prod --bucket my-bundles \\
        [--bundle layers/model/model] [--layer-python .aws-sam/build/ModelLayer/python]
    .venv/bin/model-ops scaling show --stack sklearn-inference-prod
    .venv/bin/model-ops scaling set --stack sklearn-inference-prod [--reserved N | --unreserved]
        [--min N] [--max N] [--schedule NAME CRON MIN MAX] [--remove-schedule NAME]
    .venv/bin/model-ops plan --rps 200 --p99-ms 100 [--traffic FILE.csv] [--json] [--write-samconfig ENV]

plan needs no AWS account: it simulates Lambda's published scaling rules over the traffic with this model's
measured profile (bench/profile.json) and prices each strategy (tools/plan/).

Credentials and region come from the usual AWS settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL...).

publish-model is the model-only path: it verifies the bundle (sha256 against its manifest, library
versions against the pins of the bundle's runtime: tools/build/model_layer.py), checks that ``--layer-python``
holds that runtime (scikit-learn, XGBoost, LightGBM or ONNX Runtime) at those versions, zips the bundle's own files
(manifest + artifact) with that runtime, uploads the zip and the manifest to S3, publishes a new
version of the stack's model layer, points the function at it, publishes a function version and moves
the ``live`` alias there. CloudFormation does not see that change (drift): the next `sam deploy` puts
back the layer the template builds. Prefer `make model` + `sam deploy` (which also runs the canary and
its alarms) for routine releases.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from predictor.model.manifest import Manifest, manifest_dict
from tools.build.lambda_build import BuildError
from tools.build.lambda_platform import ARCHITECTURE, RUNTIME, UNZIPPED_LIMIT
from tools.build.model_layer import bundle_files, check_bundle, check_layer_python, layer_runtime
from tools.paths import ROOT
from tools.plan import command as plan_command

ALIAS = "live"
DIMENSION = "lambda:function:ProvisionedConcurrency"


class OpsError(RuntimeError):
    pass


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise OpsError(f"stack {stack!r} not found in {cfn.meta.region_name}") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    if not outputs:
        raise OpsError(f"stack {stack!r} ({described['StackStatus']}) has no Outputs yet")
    return outputs


def require(outputs: dict[str, str], key: str, stack: str) -> str:
    if key not in outputs:
        raise OpsError(f"stack {stack!r} has no output {key!r}: was it deployed from this project's template.yaml?")
    return outputs[key]


def cmd_endpoint(session: Any, args: argparse.Namespace) -> dict[str, Any]:
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    result: dict[str, Any] = {k: outputs[k] for k in ("ApiUrl", "PredictUrl", "DocsUrl", "AuthMode") if k in outputs}
    require(outputs, "ApiUrl", args.stack)
    if "ApiKeyId" in outputs:
        result["ApiKeyId"] = outputs["ApiKeyId"]
        result["ApiKeyValue"] = f"aws apigateway get-api-key --api-key {outputs['ApiKeyId']} --include-value"
    return result


def verify_bundle(bundle: Path, layer_python: Path) -> Manifest:
    """The layer build's checks (manifest, sha256, versions against the runtime's pins), and the built runtime's."""
    try:
        manifest = check_bundle(bundle)
        check_layer_python(manifest, layer_python)
    except BuildError as exc:
        raise OpsError(str(exc)) from None
    return manifest


def layer_zip(manifest: Manifest, bundle: Path, layer_python: Path) -> tuple[bytes, int]:
    """The layer's zip (python/, lib/ when the runtime ships a system library, and the bundle's own files in
    model/) and its unzipped size."""
    files = [(path, f"python/{path.relative_to(layer_python).as_posix()}") for path in sorted(layer_python.rglob("*"))]
    lib = layer_python.parent / "lib"
    if layer_runtime(manifest.runtime).system_libraries:
        files += [(path, f"lib/{path.relative_to(lib).as_posix()}") for path in sorted(lib.rglob("*"))]
    files += [(bundle / name, f"model/{name}") for name in bundle_files(manifest)]
    buffer, unzipped = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in files:
            if path.is_file():
                zf.write(path, name)
                unzipped += path.stat().st_size
    if unzipped >= UNZIPPED_LIMIT:
        raise OpsError(f"the layer is {unzipped:,} bytes unzipped: over Lambda's {UNZIPPED_LIMIT:,} on its own")
    return buffer.getvalue(), unzipped


def cmd_publish_model(session: Any, args: argparse.Namespace) -> dict[str, Any]:
    checked = verify_bundle(args.bundle, args.layer_python)
    manifest = manifest_dict(checked)
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    function = require(outputs, "PredictFunctionName", args.stack)
    s3, lam = session.client("s3"), session.client("lambda")
    current = [layer["Arn"] for layer in lam.get_function_configuration(FunctionName=function).get("Layers", [])]
    model_layers = current if len(current) == 1 else [arn for arn in current if arn.split(":")[6].endswith("-model")]
    if len(model_layers) != 1:
        raise OpsError(f"{function} has layers {current}: expected exactly one model layer (<stack>-model)")
    layer_name = model_layers[0].split(":")[6]
    content, unzipped = layer_zip(checked, args.bundle, args.layer_python)
    key = f"{args.stack}/{manifest['name']}/{manifest['version']}"
    s3.put_object(Bucket=args.bucket, Key=f"{key}/layer.zip", Body=content)
    s3.put_object(Bucket=args.bucket, Key=f"{key}/manifest.json", Body=json.dumps(manifest, indent=2).encode())
    layer = lam.publish_layer_version(
        LayerName=layer_name,
        Description=(
            f"model {manifest['name']} {manifest['version']} sha256 {manifest['sha256'][:16]} runtime {checked.runtime}"
        )[:256],
        Content={"S3Bucket": args.bucket, "S3Key": f"{key}/layer.zip"},
        CompatibleRuntimes=[RUNTIME],
        CompatibleArchitectures=[ARCHITECTURE],
    )
    layers = [layer["LayerVersionArn"] if arn == model_layers[0] else arn for arn in current]
    lam.update_function_configuration(FunctionName=function, Layers=layers)
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    version = lam.publish_version(FunctionName=function, Description=f"model {manifest['version']}")["Version"]
    lam.update_alias(FunctionName=function, Name=ALIAS, FunctionVersion=version)
    return {
        "layer_version_arn": layer["LayerVersionArn"],
        "function": function,
        "function_version": version,
        "alias": ALIAS,
        "manifest": f"s3://{args.bucket}/{key}/manifest.json",
        "model_version": manifest["version"],
        "runtime": checked.runtime,
        "layer_zip_bytes": len(content),
        "layer_unzipped_bytes": unzipped,
    }


def alias_resource(function: str) -> str:
    return f"function:{function}:{ALIAS}"


def cmd_scaling_show(session: Any, args: argparse.Namespace) -> dict[str, Any]:
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    function = require(outputs, "PredictFunctionName", args.stack)
    lam, aas = session.client("lambda"), session.client("application-autoscaling")
    reserved = lam.get_function_concurrency(FunctionName=function).get("ReservedConcurrentExecutions")
    resource = alias_resource(function)
    targets = aas.describe_scalable_targets(ServiceNamespace="lambda", ResourceIds=[resource])["ScalableTargets"]
    actions = aas.describe_scheduled_actions(ServiceNamespace="lambda", ResourceId=resource)["ScheduledActions"]
    policies = aas.describe_scaling_policies(ServiceNamespace="lambda", ResourceId=resource)["ScalingPolicies"]
    try:
        provisioned = lam.get_provisioned_concurrency_config(FunctionName=function, Qualifier=ALIAS)
        provisioned_state: Any = {k: provisioned.get(k) for k in ("RequestedProvisionedConcurrentExecutions", "Status")}
    except ClientError as exc:
        provisioned_state = None if "ProvisionedConcurrencyConfigNotFound" in str(exc) else f"unavailable: {exc}"
    return {
        "function": function,
        "reserved_concurrency": reserved if reserved is not None else "unreserved",
        "provisioned": provisioned_state,
        "autoscaling": [{"min": t["MinCapacity"], "max": t["MaxCapacity"]} for t in targets],
        "policies": [p["PolicyName"] for p in policies],
        "schedules": [
            {
                "name": a["ScheduledActionName"],
                "schedule": a["Schedule"],
                "min": a.get("ScalableTargetAction", {}).get("MinCapacity"),
                "max": a.get("ScalableTargetAction", {}).get("MaxCapacity"),
            }
            for a in actions
        ],
    }


def cmd_scaling_set(session: Any, args: argparse.Namespace) -> dict[str, Any]:
    outputs = stack_outputs(session.client("cloudformation"), args.stack)
    function = require(outputs, "PredictFunctionName", args.stack)
    lam, aas = session.client("lambda"), session.client("application-autoscaling")
    resource = alias_resource(function)
    target = {"ServiceNamespace": "lambda", "ResourceId": resource, "ScalableDimension": DIMENSION}
    if args.reserved is not None:
        lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=args.reserved)
    if args.unreserved:
        lam.delete_function_concurrency(FunctionName=function)
    if args.min is not None or args.max is not None:
        current = aas.describe_scalable_targets(ServiceNamespace="lambda", ResourceIds=[resource])["ScalableTargets"]
        if not current:
            raise OpsError(f"{resource} has no autoscaling target: deploy with ColdStartStrategy=provisioned")
        low = args.min if args.min is not None else current[0]["MinCapacity"]
        high = args.max if args.max is not None else current[0]["MaxCapacity"]
        if low > high:
            raise OpsError(f"--min {low} is above --max {high}")
        aas.register_scalable_target(**target, MinCapacity=low, MaxCapacity=high)
    if args.schedule:
        name, cron, low_s, high_s = args.schedule
        low, high = int(low_s), int(high_s)
        if low > high:
            raise OpsError(f"schedule {name}: min {low} is above max {high}")
        aas.put_scheduled_action(
            **target,
            ScheduledActionName=name,
            Schedule=cron,
            ScalableTargetAction={"MinCapacity": low, "MaxCapacity": high},
        )
    if args.remove_schedule:
        aas.delete_scheduled_action(**target, ScheduledActionName=args.remove_schedule)
    return cmd_scaling_show(session, args)


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="model-ops", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument("--region", help="default: AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region")
    commands = top.add_subparsers(dest="command", required=True)

    endpoint = commands.add_parser("endpoint", help="the HTTPS endpoint (and API key id) from the stack's Outputs")
    endpoint.add_argument("--stack", required=True)
    endpoint.set_defaults(run=cmd_endpoint)

    publish = commands.add_parser("publish-model", help="publish a model bundle as a new layer version, go live")
    publish.add_argument("--stack", required=True)
    publish.add_argument("--bucket", required=True, help="S3 bucket for the layer zip and the manifest")
    publish.add_argument("--bundle", type=Path, default=ROOT / "layers" / "model" / "model")
    publish.add_argument("--layer-python", type=Path, default=ROOT / ".aws-sam" / "build" / "ModelLayer" / "python")
    publish.set_defaults(run=cmd_publish_model)

    scaling = commands.add_parser("scaling", help="show or change reserved/provisioned concurrency")
    scaling_commands = scaling.add_subparsers(dest="scaling_command", required=True)
    show = scaling_commands.add_parser("show", help="reserved concurrency, autoscaling min/max, schedules")
    show.add_argument("--stack", required=True)
    show.set_defaults(run=cmd_scaling_show)
    change = scaling_commands.add_parser("set", help="change reserved concurrency, autoscaling min/max, schedules")
    change.add_argument("--stack", required=True)
    reserved = change.add_mutually_exclusive_group()
    reserved.add_argument("--reserved", type=non_negative, help="reserved concurrency (0 stops the function)")
    reserved.add_argument("--unreserved", action="store_true", help="remove the reserved concurrency cap")
    change.add_argument("--min", type=non_negative, help="provisioned concurrency autoscaling minimum")
    change.add_argument("--max", type=non_negative, help="provisioned concurrency autoscaling maximum")
    change.add_argument("--schedule", nargs=4, metavar=("NAME", "CRON", "MIN", "MAX"), help="add/replace a schedule")
    change.add_argument("--remove-schedule", metavar="NAME")
    change.set_defaults(run=cmd_scaling_set)

    plan_command.add_parser(commands)  # offline: needs no AWS session
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "offline", None) is not None:
        return int(args.offline(args))
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    session = boto3.session.Session(region_name=region)  # boto3 itself reads AWS_DEFAULT_REGION only
    if session.region_name is None:
        print("model-ops: error: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return 2
    try:
        result = args.run(session, args)
    except OpsError as exc:
        print(f"model-ops: error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"model-ops: error: AWS said: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
