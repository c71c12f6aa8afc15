"""``model-ops plan``: capacity and monthly cost of on-demand, provisioned and SnapStart for a traffic curve,
from this model's measured profile and Lambda's published scaling rules; no AWS account needed.

    .venv/bin/model-ops plan --rps 200 --p99-ms 100
    .venv/bin/model-ops plan --traffic launch.csv --p99-ms 250 --memory-mb 1769 --json
    .venv/bin/model-ops plan --rps 200 --p99-ms 100 --write-samconfig prod
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from tools.build.lambda_platform import ARCHITECTURES, DEFAULT_ACCOUNT_CONCURRENCY
from tools.deploy import samconfig
from tools.deploy.samconfig import SamConfigError
from tools.paths import ROOT
from tools.plan import report
from tools.plan.planner import PlanError, Request, make_plan
from tools.plan.profile import ROWS, ProfileError, load_profile
from tools.plan.simulate import DEFAULT_IDLE_LIFETIME_S
from tools.plan.traffic import Traffic, TrafficError, from_csv, steady

PROFILE = ROOT / "bench" / "profile.json"
DEFAULT_TARGET_UTILIZATION = 0.7  # template.yaml's ProvisionedTargetUtilization default


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def add_parser(commands: Any) -> None:
    plan = commands.add_parser("plan", help="capacity and monthly cost per strategy, from the measured profile")
    traffic = plan.add_mutually_exclusive_group(required=True)
    traffic.add_argument("--rps", type=float, help="steady requests per second (simulated for a day)")
    traffic.add_argument("--traffic", type=Path, metavar="FILE.csv", help="'second,rps' rows: a curve to plan for")
    plan.add_argument("--p99-ms", type=positive, required=True, help="latency objective at the function (ms)")
    plan.add_argument("--memory-mb", type=int, help="plan this size only (default: pick among the profile's)")
    plan.add_argument("--architecture", choices=ARCHITECTURES, default="x86_64")
    plan.add_argument("--account-concurrency", type=count, default=DEFAULT_ACCOUNT_CONCURRENCY)
    plan.add_argument("--reserved", type=count, help="reserved concurrency (default: unreserved)")
    plan.add_argument("--profile", type=Path, default=PROFILE, help="measured figures (default: bench/profile.json)")
    plan.add_argument("--rows", choices=ROWS, default="1", help="rows per request: which warm figures to use")
    plan.add_argument("--api", choices=("rest", "http"), default="rest", help="API Gateway type priced")
    plan.add_argument("--idle-lifetime-s", type=positive, default=DEFAULT_IDLE_LIFETIME_S)
    plan.add_argument(
        "--target-utilization", type=positive, help="ProvisionedTargetUtilization (default: ENV's, else 0.7)"
    )
    plan.add_argument("--seed", type=int, default=23, help="seed of the Poisson arrivals")
    plan.add_argument("--json", action="store_true", help="the plan as JSON")
    plan.add_argument(
        "--write-samconfig", metavar="ENV", help="plan with ENV's reserved concurrency; write the overrides there"
    )
    plan.set_defaults(offline=run)


def read_traffic(args: argparse.Namespace) -> Traffic:
    return steady(args.rps) if args.traffic is None else from_csv(args.traffic)


def from_environment(args: argparse.Namespace) -> None:
    """With --write-samconfig ENV, what the plan does not choose comes from ENV: its reserved concurrency (unless
    --reserved is given) and its ProvisionedTargetUtilization (unless --target-utilization is)."""
    if not args.write_samconfig:
        return
    current = samconfig.deploy_settings(args.write_samconfig, samconfig.SAMCONFIG).parameters
    if args.reserved is None and int(current.get("ReservedConcurrency", "0") or 0) > 0:
        args.reserved = int(current["ReservedConcurrency"])
    if args.target_utilization is None and current.get("ProvisionedTargetUtilization"):
        args.target_utilization = float(current["ProvisionedTargetUtilization"])


def run(args: argparse.Namespace) -> int:
    try:
        from_environment(args)
        if args.target_utilization is None:
            args.target_utilization = DEFAULT_TARGET_UTILIZATION
        if not 0.1 <= args.target_utilization <= 0.9:
            raise PlanError("--target-utilization must be 0.1-0.9, as template.yaml allows")
        request = Request(
            traffic=read_traffic(args), p99_ms=args.p99_ms, profile=load_profile(args.profile),
            profile_path=args.profile, memory_mb=args.memory_mb, architecture=args.architecture,
            account_concurrency=args.account_concurrency, reserved=args.reserved, rows=args.rows, api=args.api,
            idle_lifetime_s=args.idle_lifetime_s, target_utilization=args.target_utilization, seed=args.seed,
        )  # fmt: skip
        plan = make_plan(request)
        written = write(plan.overrides(), args.write_samconfig) if args.write_samconfig else None
    except (PlanError, ProfileError, TrafficError, SamConfigError) as exc:
        print(f"model-ops: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json(plan), indent=2) if args.json else report.as_text(plan))
    if written is not None:
        print(f"samconfig.toml [{args.write_samconfig}]: parameter_overrides = {written}", file=sys.stderr)
    return 0


def write(overrides: dict[str, Any] | None, config_env: str) -> str:
    if overrides is None:
        raise PlanError("no strategy meets the objective: nothing to write into samconfig.toml")
    after = samconfig.set_overrides(config_env, {k: str(v) for k, v in overrides.items()}, samconfig.SAMCONFIG)
    return " ".join(f"{key}={value}" for key, value in after.items())
