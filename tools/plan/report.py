"""A plan as JSON (``--json``) and as text."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tools.build.lambda_platform import ARCHITECTURE, INVOCATIONS_PER_S_PER_CONCURRENCY
from tools.plan import prices
from tools.plan.planner import Plan
from tools.plan.strategies import ASSUMED_RESTORE_MS, Result


def assumptions(plan: Plan) -> list[str]:
    request, profile = plan.request, plan.request.profile
    notes = [
        f"idle environments are reclaimed after {request.idle_lifetime_s:g} s idle (AWS does not publish this; "
        "--idle-lifetime-s changes it)",
        f"a month is {prices.HOURS_PER_MONTH} h of this traffic ({request.traffic.source}, "
        f"{request.traffic.seconds:,} s simulated from nothing warm, repeated)",
    ]
    if request.architecture != profile.architecture:
        notes.append(
            f"durations on {request.architecture} are the ones measured on {profile.architecture} (no "
            f"{request.architecture} profile given): only the price differs, no speed-up is assumed"
        )
    if request.architecture != ARCHITECTURE:
        notes.append(
            f"template.yaml and the model layer are built for {ARCHITECTURE} only: deploying {request.architecture} "
            "means building the layer for it and changing Architectures together; samconfig_overrides leave it out"
        )
    if profile.at(plan.memory_mb).restore_ms is None:
        notes.append(
            f"SnapStart restore is assumed, not measured: p50 {ASSUMED_RESTORE_MS[0]:g} ms, p99 "
            f"{ASSUMED_RESTORE_MS[1]:g} ms (add restore_ms to the profile to replace it)"
        )
    return [*notes, *throttling(plan), *plan.notes]


def throttling(plan: Plan) -> list[str]:
    """Why requests were throttled, and what would stop it."""
    request, by_figures = plan.request, dict[tuple[float, float], list[str]]()
    limit = request.reserved or request.account_concurrency
    for name, result in plan.strategies.items():
        if result.throttled_share > 0:
            by_figures.setdefault((result.throttled_share, result.rate_limited_share), []).append(name)
    return [
        f"{', '.join(names)}: {percent(throttled)} throttled (429): {percent(rate)} of requests beyond the "
        f"request-rate scaling (10,000 rps more every 10 s) or the invocation rate limit "
        f"({INVOCATIONS_PER_S_PER_CONCURRENCY} x the concurrency limit {limit:,} = "
        f"{INVOCATIONS_PER_S_PER_CONCURRENCY * limit:,} rps), the rest finding no environment within the scaling "
        "rate or the concurrency limit; a p99 counts them as failed: raise --account-concurrency (a quota "
        "increase) or --reserved, or ramp the traffic up"
        for (throttled, rate), names in by_figures.items()
    ]


def strategy_dict(result: Result, objective: float) -> dict[str, Any]:
    return {
        "mean_concurrency": round(result.mean_concurrency, 3),
        "peak_concurrency": int(result.peak_concurrency),
        "cold_starts": round(result.cold_starts),
        "cold_start_share": float(f"{result.cold_start_share:.3g}"),
        "throttled_share": float(f"{result.throttled_share:.3g}"),
        "p99_ms": round(result.p99_ms, 2) if math.isfinite(result.p99_ms) else None,  # None: 1 % or more throttled
        "meets_p99": result.meets(objective),
        "monthly_cost_usd": result.cost.as_dict(),
        "provisioned_concurrency": result.provisioned,
    }


def as_json(plan: Plan) -> dict[str, Any]:
    request, profile = plan.request, plan.request.profile
    figures = profile.at(plan.memory_mb)
    warm = figures.warm_ms[request.rows]
    strategies = {name: strategy_dict(result, request.p99_ms) for name, result in plan.strategies.items()}
    return {
        "inputs": {
            "rps": round(request.traffic.mean_rps, 3),
            "traffic": request.traffic.source,
            "simulated_seconds": request.traffic.seconds,
            "p99_objective_ms": request.p99_ms,
            "memory_mb": plan.memory_mb,
            "architecture": request.architecture,
            "api": request.api,
            "rows_per_request": int(request.rows),
            "account_concurrency": request.account_concurrency,
            "reserved": request.reserved,
            "profile": {
                "path": shown(request.profile_path),
                "measured_at": profile.measured_at.isoformat(),
                "architecture": profile.architecture,
                "command": profile.command,
            },
            "warm_duration_ms": {"p50": warm.p50, "mean": warm.mean, "p99": warm.p99},
            "init_duration_ms": {"p50": figures.init_ms.p50, "p99": figures.init_ms.p99},
        },
        "strategies": strategies,
        "recommended": plan.recommended,
        "samconfig_overrides": plan.overrides(),
        "prices": {"as_of": prices.AS_OF, "region": prices.REGION, "sources": prices.SOURCES},
        "assumptions": assumptions(plan),
    }


def percent(share: float) -> str:
    return "<0.01%" if 0 < share < 0.00005 else f"{100 * share:.2f}%"


ROW = "{:<12} {:>9} {:>6} {:>11} {:>9} {:>9} {:>9} {:>11}  {}"


def strategy_line(name: str, result: Result, objective: float) -> str:
    cost = result.cost
    p99 = f"{result.p99_ms:,.1f}" if math.isfinite(result.p99_ms) else "429s"  # 1 % or more throttled
    return ROW.format(
        name, f"{result.mean_concurrency:.2f}", int(result.peak_concurrency), f"{result.cold_starts:,.0f}",
        f"{100 * result.cold_start_share:.4f}%", percent(result.throttled_share), p99,
        f"${cost.total:,.2f}", "meets" if result.meets(objective) else "misses",
    )  # fmt: skip


def as_text(plan: Plan) -> str:
    data, request = as_json(plan), plan.request
    inputs = data["inputs"]
    profile, warm = inputs["profile"], inputs["warm_duration_ms"]
    lines = [
        f"traffic: {request.traffic.source}, mean {inputs['rps']:,} rps over {request.traffic.seconds:,} s; "
        f"p99 objective {request.p99_ms:g} ms at the function",
        f"profile: {profile['path']} (measured {profile['measured_at']} on {profile['architecture']}, "
        f"`{profile['command']}`), {inputs['rows_per_request']} row(s) per request",
        f"memory: {plan.memory_mb} MB on {request.architecture}; warm p50 {warm['p50']:g} / mean {warm['mean']:g} / "
        f"p99 {warm['p99']:g} ms, init p50 {inputs['init_duration_ms']['p50']:g} ms",
        f"prices: {prices.REGION} list prices as of {prices.AS_OF}, {request.api.upper()} API, "
        f"a month = {prices.HOURS_PER_MONTH} h",
        "",
        ROW.format("strategy", "mean conc", "peak", "cold starts", "cold %", "throttled", "p99 ms", "$/month", "p99"),
    ]
    lines += [strategy_line(name, result, request.p99_ms) for name, result in plan.strategies.items()]
    lines.append("")
    for name, result in plan.strategies.items():
        parts = ", ".join(f"{key} ${value:,.2f}" for key, value in result.cost.as_dict().items() if key != "total")
        bounds = f"; provisioned {result.provisioned}" if result.provisioned else ""
        lines.append(f"  {name}: {parts}{bounds}")
    lines.append("")
    if plan.recommended is None:
        lines.append(f"recommended: none meets p99 <= {request.p99_ms:g} ms at any size tried")
    else:
        overrides = " ".join(f"{key}={value}" for key, value in (plan.overrides() or {}).items())
        chosen = plan.strategies[plan.recommended]
        throttled = f", but {percent(chosen.throttled_share)} of requests get 429" if chosen.throttled_share else ""
        lines += [
            f"recommended: {plan.recommended} at {plan.memory_mb} MB (${chosen.cost.total:,.2f}/month){throttled}",
            f"samconfig overrides: {overrides}",
        ]
    lines += ["assumptions:", *(f"  - {note}" for note in data["assumptions"])]
    return "\n".join(lines)


def shown(path: Path) -> str:
    """A path as the user would write it: relative to the working folder when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
