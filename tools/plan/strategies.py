"""The three ways template.yaml can meet traffic (ColdStartStrategy), simulated and priced for one memory size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tools.plan.autoscaling import MINUTE, TargetTracking, provisioned_capacity
from tools.plan.costs import MonthlyCost, Usage, monthly_cost
from tools.plan.distributions import LogNormal, mixture_quantile
from tools.plan.profile import SizeFigures
from tools.plan.simulate import Demand, Outcome, Rules, demand, run
from tools.plan.traffic import Traffic

NAMES = ("on-demand", "provisioned", "snapstart")
TEMPLATE_STRATEGY = {"on-demand": "none", "provisioned": "provisioned", "snapstart": "snapstart"}
# SnapStart restore when the profile has no restore_ms: assumed, not measured (AWS promises "as low as
# sub-second"); the whole restore is billed as duration, which overstates Lambda's "billed restore duration".
ASSUMED_RESTORE_MS = (400.0, 1_000.0)  # p50, p99


@dataclass(frozen=True)
class Setting:
    """What every strategy shares at one memory size."""

    memory_mb: int
    figures: SizeFigures
    rows: str
    architecture: str
    api: str
    rules: Rules
    target_utilization: float
    provisioned_cap: int  # most provisioned concurrency the limits allow

    @property
    def gb(self) -> float:
        return self.memory_mb / 1024

    @property
    def warm(self) -> LogNormal:
        w = self.figures.warm_ms[self.rows]
        return LogNormal.from_mean_p99(w.mean, w.p99)

    @property
    def init(self) -> LogNormal:
        return LogNormal.from_median_p99(self.figures.init_ms.p50, self.figures.init_ms.p99)

    @property
    def restore(self) -> LogNormal:
        measured = self.figures.restore_ms
        p50, p99 = (measured.p50, measured.p99) if measured else ASSUMED_RESTORE_MS
        return LogNormal.from_median_p99(p50, p99)


@dataclass(frozen=True)
class Result:
    name: str
    mean_concurrency: float
    peak_concurrency: float
    cold_starts: float
    cold_start_share: float
    throttled_share: float
    rate_limited_share: float  # the part of throttled_share beyond the invocation rate limit
    p99_ms: float  # over every request, a throttled one counting as slower than any: inf when 1 % or more are
    cost: MonthlyCost
    provisioned: dict[str, float] | None  # min, max (the template's bounds) and mean held

    def meets(self, p99_objective_ms: float) -> bool:
        return self.p99_ms <= p99_objective_ms


def provisioned_policy(need: Demand, setting: Setting) -> TargetTracking:
    """Bounds for target tracking: the floor covers the quietest minutes' peaks at the target utilisation (5th
    percentile of the per-minute peak), the ceiling the busiest second's peak, within what the limits allow."""
    peaks = need.peak_concurrency
    minutes = [float(peaks[i : i + MINUTE].max()) for i in range(0, len(peaks), MINUTE)]
    target = setting.target_utilization
    low = max(1, min(setting.provisioned_cap, math.ceil(float(np.percentile(minutes, 5)) / target)))
    high = max(low, min(setting.provisioned_cap, math.ceil(max(minutes) / target)))
    return TargetTracking(low, high, target)


def result(name: str, outcome: Outcome, setting: Setting, usage: Usage, start: LogNormal) -> Result:
    served = float(outcome.served_on_demand.sum() + outcome.served_provisioned.sum())
    arrivals = served + float(outcome.throttled.sum())
    cold = float(outcome.cold_starts.sum())
    share = cold / served if served else 0.0
    throttled = float(outcome.throttled.sum()) / arrivals if arrivals else 0.0
    # the 99th percentile of all requests is the (0.99 / served share) quantile of the served ones
    p99 = math.inf if throttled >= 0.01 else mixture_quantile(0.99 / (1 - throttled), setting.warm, start, share)
    return Result(
        name=name,
        mean_concurrency=float(outcome.concurrency.mean()),
        peak_concurrency=float(outcome.peak.max(initial=0.0)),
        cold_starts=cold,
        cold_start_share=share,
        throttled_share=throttled,
        rate_limited_share=float(outcome.rate_limited.sum()) / arrivals if arrivals else 0.0,
        p99_ms=p99,
        cost=monthly_cost(usage, setting.architecture, setting.api),
        provisioned=None,
    )


def usage_of(outcome: Outcome, setting: Setting, start: LogNormal, held: float, snapstart: bool) -> Usage:
    seconds = float(len(outcome.cold_starts))
    warm_billed_s, start_billed_s = setting.warm.mean_billed_ms() / 1000, start.mean_billed_ms() / 1000
    cold = float(outcome.cold_starts.sum())
    on_demand_s = float(outcome.served_on_demand.sum()) * warm_billed_s + cold * start_billed_s
    return Usage(
        seconds=seconds,
        lambda_requests=float(outcome.served_on_demand.sum() + outcome.served_provisioned.sum()),
        api_requests=float(outcome.served_on_demand.sum() + outcome.served_provisioned.sum() + outcome.throttled.sum()),
        on_demand_gb_s=on_demand_s * setting.gb,
        provisioned_duration_gb_s=float(outcome.served_provisioned.sum()) * warm_billed_s * setting.gb,
        provisioned_held_gb_s=held * setting.gb,
        snapstart_cache_gb_s=seconds * setting.gb if snapstart else 0.0,
        snapstart_restored_gb=cold * setting.gb if snapstart else 0.0,
    )


def evaluate(traffic: Traffic, setting: Setting, seed: int) -> dict[str, Result]:
    """On-demand and SnapStart scale alike (one simulation; they differ in what a cold start costs and waits);
    provisioned adds the environments target tracking holds."""
    need = demand(traffic, setting.figures.warm_ms[setting.rows].mean, seed)
    plain = run(need, setting.rules)
    policy = provisioned_policy(need, setting)
    held = provisioned_capacity(need.mean_concurrency, policy)
    with_provisioned = run(need, setting.rules, held)
    results = {
        "on-demand": result(
            "on-demand", plain, setting, usage_of(plain, setting, setting.init, 0.0, False), setting.init
        ),
        "snapstart": result(
            "snapstart", plain, setting, usage_of(plain, setting, setting.restore, 0.0, True), setting.restore
        ),
    }
    usage = usage_of(with_provisioned, setting, setting.init, float(held.sum()), False)
    provisioned = result("provisioned", with_provisioned, setting, usage, setting.init)
    bounds = {"min": policy.minimum, "max": policy.maximum, "mean": round(float(held.mean()), 2)}
    results["provisioned"] = Result(**{**provisioned.__dict__, "provisioned": bounds})
    return {name: results[name] for name in NAMES}
