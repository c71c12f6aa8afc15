"""How long `model-ops plan` takes for a day at 10,000 requests per second (864 million requests): figures to
read, not a test with a deadline (the issue asks for under 30 s on 2 cores).

    .venv/bin/bench-plan [--profile bench/profile.json] [--rps 10000] [--memory-mb N]

Times the whole plan (every memory size the profile and template.yaml allow, three strategies each), and one
aggregated simulation alone.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from tools.plan.command import PROFILE
from tools.plan.planner import Request, make_plan
from tools.plan.profile import load_profile
from tools.plan.simulate import Rules, demand, run
from tools.plan.traffic import steady


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, default=PROFILE)
    parser.add_argument("--rps", type=float, default=10_000)
    parser.add_argument("--memory-mb", type=int)
    args = parser.parse_args(argv)
    profile, traffic = load_profile(args.profile), steady(args.rps)
    started = time.perf_counter()
    plan = make_plan(Request(traffic, 100, profile, args.profile, memory_mb=args.memory_mb))
    whole = time.perf_counter() - started
    mean_ms = profile.at(plan.memory_mb).warm_ms["1"].mean
    started = time.perf_counter()
    need = demand(traffic, mean_ms, seed=23)
    drawn = time.perf_counter() - started
    run(need, Rules(1000))
    one = time.perf_counter() - started - drawn
    sizes = 1 if args.memory_mb else len(profile.memory_sizes())
    print(f"traffic: {traffic.source} for {traffic.seconds:,} s = {need.arrivals.sum():,.0f} requests")
    print(f"cpus: {os.cpu_count()}; profile: {args.profile} ({sizes} size(s) measured)")
    print(f"whole plan: {whole:.1f} s (memory chosen: {plan.memory_mb} MB, recommended: {plan.recommended})")
    print(f"one simulation: arrivals and peaks drawn in {drawn:.2f} s, Lambda's scaling stepped in {one:.2f} s")
    return 0
