"""Plans: the memory size and strategy picked, monotonic in traffic and in the objective, refusals."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from tools.plan.planner import PlanError, Request, make_plan
from tools.plan.profile import Profile
from tools.plan.traffic import Traffic, steady

DEPLOYABLE = [512, 1024, 1769, 2048, 3008]  # template.yaml's FunctionMemory


def request(profile: Profile, traffic: Traffic, p99_ms: float, **options: object) -> Request:
    return Request(traffic, p99_ms, profile, Path("profile.example.json"), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("memory_mb", [512, 1769])
def test_more_traffic_never_costs_less_nor_needs_less_concurrency(profile: Profile, memory_mb: int) -> None:
    plans = [
        make_plan(request(profile, steady(rps, 3600), 1000, memory_mb=memory_mb), DEPLOYABLE)
        for rps in (1, 10, 50, 200, 1000, 3000)
    ]
    for name in ("on-demand", "provisioned", "snapstart"):
        series = [plan.strategies[name] for plan in plans]
        for fewer, more in itertools.pairwise(series):
            assert more.cost.total >= fewer.cost.total
            assert more.mean_concurrency >= fewer.mean_concurrency
            assert more.peak_concurrency >= fewer.peak_concurrency


def test_a_tighter_objective_never_picks_a_cheaper_plan(profile: Profile) -> None:
    """A request every 100 s, on average: most find no warm environment, so the objective decides."""
    traffic = steady(0.01, 21_600)
    costs = []
    for p99 in (5000, 2000, 1000, 100, 10, 1.5):
        plan = make_plan(request(profile, traffic, p99), DEPLOYABLE)
        costs.append(math.inf if plan.recommended is None else plan.strategies[plan.recommended].cost.total)
    assert costs == sorted(costs)
    assert len(set(costs)) >= 2  # the objective did change the choice


def test_loose_objective_picks_on_demand_tight_picks_provisioned(profile: Profile) -> None:
    traffic = steady(0.01, 21_600)
    loose = make_plan(request(profile, traffic, 60_000), DEPLOYABLE)
    tight = make_plan(request(profile, traffic, 50), DEPLOYABLE)
    assert loose.recommended == "on-demand"
    assert tight.recommended == "provisioned"
    overrides = tight.overrides()
    assert overrides is not None
    assert overrides["ColdStartStrategy"] == "provisioned"
    assert 1 <= overrides["ProvisionedMin"] <= overrides["ProvisionedMax"]
    assert overrides["FunctionMemory"] == tight.memory_mb


def test_memory_is_picked_among_measured_deployable_sizes_that_fit(profile: Profile) -> None:
    plan = make_plan(request(profile, steady(50, 3600), 100), DEPLOYABLE)
    assert plan.memory_mb in {512, 1024, 1769, 3008}
    assert any("128 MB" in note for note in plan.notes)  # measured, not in the template's FunctionMemory
    each = [make_plan(request(profile, steady(50, 3600), 100, memory_mb=size), DEPLOYABLE) for size in (512, 1024)]
    cheapest = min(p.strategies[name].cost.total for p in each for name in p.strategies)
    assert plan.strategies[plan.recommended or ""].cost.total <= cheapest


def test_provisioned_stays_within_reserved_concurrency(profile: Profile) -> None:
    rates = np.concatenate([np.full(600, 5.0), np.full(1200, 4000.0)])
    plan = make_plan(request(profile, Traffic(rates, "spike"), 100, memory_mb=512, reserved=20), DEPLOYABLE)
    bounds = plan.strategies["provisioned"].provisioned
    assert bounds is not None
    assert bounds["max"] <= 20
    assert plan.strategies["on-demand"].throttled_share > 0  # 4,000 rps x 1.95 ms needs more than 20 at peaks


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"memory_mb": 64}, "Lambda does not offer 64 MB"),
        ({"memory_mb": 20_000}, "Lambda does not offer 20000 MB"),
        ({"memory_mb": 2048}, "the profile has no figures for 2048 MB"),
        ({"memory_mb": 128}, "template.yaml's FunctionMemory does not allow 128 MB"),
        ({"reserved": 950}, "reserve 1 to 900"),
    ],
)
def test_refusals(profile: Profile, options: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        make_plan(request(profile, steady(10, 60), 100, **options), DEPLOYABLE)


def test_an_objective_below_the_warm_duration_is_unreachable(profile: Profile) -> None:
    with pytest.raises(PlanError, match=r"unreachable: the warm handler alone has a p99 of 1.3 ms at 3008 MB"):
        make_plan(request(profile, steady(10, 60), 1.0), DEPLOYABLE)
    with pytest.raises(PlanError, match=r"p99 of 4.2 ms at 512 MB"):
        make_plan(request(profile, steady(10, 60), 3.0, memory_mb=512), DEPLOYABLE)


def test_a_size_whose_largest_batch_did_not_fit_is_not_planned(profile: Profile) -> None:
    """The bench reports a batch that the size could not serve (killed, no peak measured): the planner leaves
    that size out and says why."""
    figures = profile.at(512).model_copy(
        update={
            "largest_batch": profile.at(512).largest_batch.model_copy(update={"fits": False}),
            "peak_memory_mb": None,
        }
    )
    unfit = profile.model_copy(update={"sizes": {**profile.sizes, "512": figures}})
    plan = make_plan(request(unfit, steady(50, 3600), 100), DEPLOYABLE)
    assert plan.memory_mb != 512
    assert any(note.startswith("512 MB: the largest batch (") and "did not fit" in note for note in plan.notes)
