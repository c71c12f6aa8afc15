"""Each cost component against a hand computation from the price table."""

from __future__ import annotations

import numpy as np
import pytest

from tools.plan import prices
from tools.plan.costs import Usage, monthly_cost
from tools.plan.distributions import LogNormal
from tools.plan.profile import Profile
from tools.plan.simulate import Rules, demand, run
from tools.plan.strategies import Setting, evaluate, usage_of
from tools.plan.traffic import steady

USAGE = Usage(
    seconds=3600,  # an hour, so a month is 730 of them
    lambda_requests=1e6,
    api_requests=1.1e6,
    on_demand_gb_s=1000,
    provisioned_duration_gb_s=500,
    provisioned_held_gb_s=20_000,
    snapstart_cache_gb_s=3600 * 1.7275,
    snapstart_restored_gb=100,
)


def test_each_component_by_hand() -> None:
    cost = monthly_cost(USAGE, "x86_64", "rest")
    assert cost.requests == pytest.approx(730e6 * 0.20 / 1e6)
    assert cost.compute == pytest.approx(730 * 1000 * 0.0000166667 + 730 * 500 * 0.0000097222)
    assert cost.provisioned == pytest.approx(730 * 20_000 * 0.0000041667)
    # 803 M REST requests: the first 333 M at $3.50 per million, the next 470 M at $2.80
    assert cost.api_gateway == pytest.approx(333 * 3.50 + 470 * 2.80)
    assert cost.snapstart == pytest.approx(730 * 3600 * 1.7275 * 0.0000015046 + 730 * 100 * 0.0001397998)
    parts = (cost.requests, cost.compute, cost.provisioned, cost.api_gateway, cost.snapstart)
    assert cost.total == pytest.approx(sum(parts))


def test_arm64_is_the_arm64_price_times_the_same_duration() -> None:
    on_demand_only = Usage(3600, 1e6, 1e6, 1000, 0, 0, 0, 0)
    x86, arm = monthly_cost(on_demand_only, "x86_64", "http"), monthly_cost(on_demand_only, "arm64", "http")
    assert arm.compute == pytest.approx(730 * 1000 * 0.0000133334)
    assert arm.compute / x86.compute == pytest.approx(0.0000133334 / 0.0000166667)
    assert (arm.requests, arm.api_gateway) == (x86.requests, x86.api_gateway)
    held = Usage(3600, 0, 0, 0, 500, 20_000, 0, 0)
    assert monthly_cost(held, "arm64", "http").provisioned == pytest.approx(730 * 20_000 * 0.0000033334)
    assert monthly_cost(held, "arm64", "http").compute == pytest.approx(730 * 500 * 0.0000077778)


def test_tiers_apply_to_the_months_total() -> None:
    assert prices.tiered(25e9, prices.API_GATEWAY["rest"]) == pytest.approx(
        333 * 3.50 + 667 * 2.80 + 19_000 * 2.38 + 5_000 * 1.51
    )
    assert prices.tiered(400e6, prices.API_GATEWAY["http"]) == pytest.approx(300 * 1.00 + 100 * 0.90)
    assert prices.tiered(20e9, prices.LAMBDA["x86_64"].duration_gb_s) == pytest.approx(
        6e9 * 0.0000166667 + 9e9 * 0.0000150000 + 5e9 * 0.0000133334
    )


@pytest.mark.parametrize(("value", "billed"), [(0.3, 1), (1.5, 2), (7.2, 8)])
def test_a_constant_duration_is_billed_rounded_up_to_1_ms(value: float, billed: int) -> None:
    assert LogNormal.from_mean_p99(value, value).mean_billed_ms() == pytest.approx(billed)


def test_mean_billed_duration_equals_sampled_durations_rounded_up() -> None:
    warm = LogNormal.from_mean_p99(0.56, 1.4)
    sample = warm.sample(np.random.default_rng(1), 2_000_000)
    assert warm.mean_billed_ms() == pytest.approx(np.ceil(sample).mean(), rel=2e-3)


def test_simulated_usage_is_what_the_outcome_served(profile: Profile) -> None:
    setting = Setting(1769, profile.at(1769), "1", "x86_64", "rest", Rules(1000), 0.7, 900)
    results = evaluate(steady(100, 3600), setting, seed=3)
    outcome = run(demand(steady(100, 3600), 0.56, 3), setting.rules)
    usage = usage_of(outcome, setting, setting.init, 0.0, snapstart=False)
    served = outcome.served_on_demand.sum()
    cold = outcome.cold_starts.sum()
    gb = 1769 / 1024
    by_hand = (served * setting.warm.mean_billed_ms() + cold * setting.init.mean_billed_ms()) / 1000 * gb
    assert usage.on_demand_gb_s == pytest.approx(by_hand)
    assert results["on-demand"].cost.requests == pytest.approx(served * 730 * 0.20 / 1e6)
    assert results["on-demand"].cost.compute == pytest.approx(by_hand * 730 * 0.0000166667)
    assert results["on-demand"].cost.api_gateway == pytest.approx(served * 730 * 3.50 / 1e6)
