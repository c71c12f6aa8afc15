"""The aggregated simulation against Little's law, closed forms of Lambda's scaling rules, and the per-request
reference simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tools.plan import per_request
from tools.plan.distributions import LogNormal
from tools.plan.simulate import Outcome, Rules, demand, run
from tools.plan.traffic import Traffic, steady


def simulate(rates: list[float], mean_ms: float, rules: Rules, seed: int = 1) -> Outcome:
    return run(demand(Traffic(np.asarray(rates, dtype=float), "test"), mean_ms, seed), rules)


def served(outcome: Outcome) -> float:
    return float(outcome.served_on_demand.sum() + outcome.served_provisioned.sum())


@pytest.mark.parametrize(("rps", "mean_ms"), [(200, 0.56), (50, 20.0), (3, 400.0)])
def test_littles_law_aggregated(rps: float, mean_ms: float) -> None:
    outcome = run(demand(steady(rps, 3600), mean_ms, seed=7), Rules(1000))
    assert outcome.concurrency.mean() == pytest.approx(rps * mean_ms / 1000, rel=0.02)


def test_littles_law_per_request() -> None:
    """Time-averaged environments busy = arrival rate x mean duration, request by request."""
    warm, start = LogNormal.from_mean_p99(50, 150), LogNormal.from_median_p99(2, 4)
    totals = per_request.simulate(np.full(1800, 40.0), warm, start, Rules(1000), seed=3)
    assert totals.busy_seconds / 1800 == pytest.approx(40 * 0.050, rel=0.02)


def ramp_closed_form(rps: float, needed: float, limit: int, seconds: int) -> tuple[float, float]:
    """Cold starts and throttled requests for a step from 0 to ``rps`` needing ``needed`` environments:
    environments available t seconds in = min(1,000 + 100 t, limit); the rest of the demand is throttled."""
    available = [min(1000 + 100 * t, limit, needed) for t in range(seconds)]
    throttled = sum(rps * (1 - a / needed) for a in available)
    return available[-1], throttled


@pytest.mark.parametrize(("rps", "limit"), [(6000, 10_000), (5000, 2000), (1000, 3000)])
def test_step_load_matches_the_scaling_rule(rps: float, limit: int) -> None:
    mean_ms, seconds = 1000.0, 60
    needed = rps * mean_ms / 1000
    outcome = simulate([rps] * seconds, mean_ms, Rules(limit))
    cold, throttled = ramp_closed_form(rps, needed, limit, seconds)
    # the peak within a second exceeds the mean by a few standard deviations of Poisson(needed)
    assert cold <= outcome.cold_starts.sum() <= min(limit, needed + 5 * math.sqrt(needed))
    assert outcome.throttled.sum() == pytest.approx(throttled, rel=0.03, abs=rps * 0.02)
    # the second the pool covers the load less 3 standard deviations (the demand in a second is a Poisson draw)
    covered = cold - 3 * math.sqrt(needed) if cold == needed else cold
    reached = int(np.argmax(np.cumsum(outcome.cold_starts) >= covered))
    assert reached == pytest.approx(math.ceil((covered - 1000) / 100), abs=1)


def test_the_request_rate_scales_by_10000_rps_every_10_s() -> None:
    """A fast function (0.5 ms): 25,000 rps needs about 13 environments, but Lambda accommodates 10,000 more
    requests per second at once and 1,000 more each second after that (the limit allows 30,000)."""
    rps, seconds = 25_000.0, 30
    outcome = simulate([rps] * seconds, 0.5, Rules(3000))
    allowed = [min(rps, 10_000 + 1_000 * t) for t in range(seconds)]
    assert outcome.rate_limited.sum() == pytest.approx(sum(rps - a for a in allowed), rel=0.01)
    assert outcome.rate_limited[16:].sum() == pytest.approx(0, abs=rps * 0.01)


def test_invocation_rate_limit_is_ten_times_the_concurrency_limit() -> None:
    outcome = simulate([2000.0] * 30, 0.1, Rules(100))  # 10 x 100 = 1,000 requests per second at most
    assert outcome.throttled.sum() / (served(outcome) + outcome.throttled.sum()) == pytest.approx(0.5, abs=0.01)


def test_steady_traffic_reusing_environments_within_the_idle_lifetime_tends_to_no_cold_starts() -> None:
    """After the first minute, a cold start only replaces an environment reclaimed after idling (the rarely
    reached top of the pool): as the idle lifetime grows past the time between such peaks, they vanish."""
    need = demand(steady(50, 21_600), 10.0, seed=5)  # 0.5 requests in flight on average, for 6 hours
    after_warming = [run(need, Rules(1000, lifetime)).cold_starts[60:].sum() for lifetime in (60, 300, 3600, 21_600)]
    assert after_warming == sorted(after_warming, reverse=True)
    assert after_warming[-1] <= 5  # only new record peaks, out of a million requests
    assert run(need, Rules(1000, 300)).cold_starts[:60].sum() >= 1  # the first requests start environments


@pytest.mark.parametrize(
    ("rates", "mean_ms", "p99_ms", "rules"),
    [
        ([20.0] * 1800, 50.0, 150.0, Rules(1000, idle_lifetime_s=120)),
        ([200.0] * 600, 5.0, 15.0, Rules(1000, idle_lifetime_s=60)),
        ([0.0] * 5 + [1500.0] * 30, 1000.0, 2000.0, Rules(5000)),
        ([0.0] * 5 + [3000.0] * 30, 1000.0, 2000.0, Rules(2000)),
    ],
    ids=["steady-low", "steady-short-lifetime", "step", "step-over-the-limit"],
)
def test_aggregated_matches_per_request(rates: list[float], mean_ms: float, p99_ms: float, rules: Rules) -> None:
    outcome = simulate(rates, mean_ms, rules, seed=1)
    warm, start = LogNormal.from_mean_p99(mean_ms, p99_ms), LogNormal.from_median_p99(5, 10)
    exact = per_request.simulate(np.asarray(rates), warm, start, rules, seed=1)
    arrivals, exact_arrivals = served(outcome) + outcome.throttled.sum(), exact.served + exact.throttled
    assert arrivals == pytest.approx(exact_arrivals, rel=0.02)
    assert outcome.throttled.sum() / arrivals == pytest.approx(exact.throttled / exact_arrivals, abs=0.03)
    assert outcome.concurrency.mean() == pytest.approx(exact.busy_seconds / len(rates), rel=0.05)
    assert outcome.cold_starts.sum() == pytest.approx(exact.cold_starts, rel=0.1, abs=6)
    assert outcome.peak.max() == pytest.approx(exact.peak, rel=0.1, abs=2)
