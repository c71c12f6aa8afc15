"""Lambda's documented scaling, simulated over a traffic curve in aggregated one-second steps.

Per step: the arrivals are a seeded Poisson draw; the mean concurrency is arrivals x mean warm duration
(Little's law); the peak concurrency within the step is 1 + the largest of K draws of the number of other
requests in flight that an arrival finds (Poisson with that mean, by PASTA), K = min(arrivals, step / mean
duration) roughly independent looks. Environments, one request at a time each (Lambda's model):

- the most recently used idle environment takes the next request (an assumption: AWS does not publish its
  routing), so environment k is busy whenever k or more requests are, and survives while that happened within
  the idle lifetime: the warm pool is the largest peak served within the last idle-lifetime seconds;
- a peak above the pool creates environments (cold starts), at most the scaling allowance (1,000, refilled at
  100 per second), and never beyond the concurrency limit (reserved, else the account's) less what provisioned
  concurrency holds;
- the request rate scales the same way in its own unit: Lambda can "accommodate 10,000 additional requests per
  second" every 10 seconds (refilled continuously), above the rate reached within the idle lifetime, and never
  beyond the invocation rate limit (10 x the concurrency limit per second);
- what finds no environment is throttled (429): the expected excess of a Poisson(mean) demand over the
  environments available, and the arrivals beyond the rate allowance or the invocation rate limit.

Provisioned environments (an array of the capacity ready each second) take requests first and never start cold.
Time an environment spends in init is not counted as concurrency (it matters for the second after a burst only).
``tools/plan/per_request.py`` simulates the same rules request by request; a test holds the two together.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from tools.build.lambda_platform import (
    INVOCATIONS_PER_S_PER_CONCURRENCY,
    SCALING_BURST_ENVIRONMENTS,
    SCALING_REFILL_PER_S,
)
from tools.plan.distributions import Array, poisson_quantile
from tools.plan.traffic import Traffic

DEFAULT_IDLE_LIFETIME_S = 300.0  # not published by AWS; the short end of what is commonly observed


@dataclass(frozen=True)
class Rules:
    concurrency_limit: int  # reserved concurrency, else the account's
    idle_lifetime_s: float = DEFAULT_IDLE_LIFETIME_S
    burst: int = SCALING_BURST_ENVIRONMENTS
    refill_per_s: float = SCALING_REFILL_PER_S

    @property
    def burst_rps(self) -> float:  # "or 10,000 requests per second every 10 seconds"
        return float(INVOCATIONS_PER_S_PER_CONCURRENCY * self.burst)

    @property
    def refill_rps(self) -> float:
        return INVOCATIONS_PER_S_PER_CONCURRENCY * self.refill_per_s

    @property
    def max_rps(self) -> float:
        return float(INVOCATIONS_PER_S_PER_CONCURRENCY * self.concurrency_limit)


@dataclass(frozen=True)
class Demand:
    arrivals: Array  # requests arriving in each one-second step
    mean_concurrency: Array  # arrivals x mean duration (s)
    peak_concurrency: Array  # environments the step's busiest moment needs


@dataclass(frozen=True)
class Outcome:
    served_on_demand: Array  # requests per step served by on-demand environments
    served_provisioned: Array
    throttled: Array  # all 429s: beyond the invocation rate limit, or finding no environment
    rate_limited: Array  # the 429s beyond the invocation rate limit
    cold_starts: Array  # environments created per step
    concurrency: Array  # mean concurrency served per step
    peak: Array  # peak concurrency served per step


def demand(traffic: Traffic, mean_duration_ms: float, seed: int) -> Demand:
    """Arrivals and concurrency per second; the same seed gives the same uniforms, so a higher rate or a longer
    duration never gives fewer arrivals or a lower peak (common random numbers)."""
    rng = np.random.default_rng(seed)
    uniform_arrivals, uniform_peak = rng.random(traffic.seconds), rng.random(traffic.seconds)
    arrivals = poisson_quantile(traffic.rates, uniform_arrivals)
    mean_s = mean_duration_ms / 1000
    mean = arrivals * mean_s
    looks = np.clip(np.minimum(arrivals, 1 / mean_s), 1, None)
    others = poisson_quantile(mean, uniform_peak ** (1 / looks))
    peak = np.where(arrivals > 0, np.minimum(1 + others, arrivals), 0.0)
    return Demand(arrivals, mean, peak)


def loss_share(mean: float, capacity: float) -> float:
    """Share of a Poisson(mean) concurrency demand beyond ``capacity`` (normal approximation):
    E[(X - capacity)+] / E[X]."""
    if mean <= 0 or capacity >= mean + 8 * math.sqrt(mean) + 1:
        return 0.0
    sd = math.sqrt(mean)
    z = (capacity - mean) / sd
    tail = 0.5 * math.erfc(z / math.sqrt(2))
    excess = sd * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) + (mean - capacity) * tail
    return min(max(excess / mean, 0.0), 1.0)


class WindowMax:
    """The largest value pushed within the last ``width`` steps (a monotone deque)."""

    def __init__(self, width: int) -> None:
        self.width, self.items = width, deque[tuple[int, float]]()

    def value(self, step: int) -> float:
        while self.items and self.items[0][0] <= step - self.width:
            self.items.popleft()
        return self.items[0][1] if self.items else 0.0

    def push(self, step: int, value: float) -> None:
        while self.items and self.items[-1][1] <= value:
            self.items.pop()
        self.items.append((step, value))


class Allowance:
    """A scaling allowance: a level reached within the idle lifetime (held without cost) plus tokens for going
    higher (``burst`` at most, refilled continuously at ``refill`` per second)."""

    def __init__(self, burst: float, refill: float, window: int) -> None:
        self.burst, self.refill, self.tokens, self.recent = burst, refill, burst, WindowMax(window)

    def held(self, step: int) -> float:
        return self.recent.value(step)

    def ceiling(self, step: int) -> float:
        return self.recent.value(step) + math.floor(self.tokens)

    def rest(self) -> None:
        """A step with nothing to serve: the allowance refills."""
        self.tokens = min(self.burst, self.tokens + self.refill)

    def use(self, step: int, level: float) -> float:
        """Records ``level`` (at most the ceiling) as reached in ``step``; returns how much it grew."""
        grew = max(level - self.recent.value(step), 0.0)
        self.tokens = min(self.burst, self.tokens - grew + self.refill)
        self.recent.push(step, level)
        return grew


def run(need: Demand, rules: Rules, provisioned: Array | None = None) -> Outcome:
    steps, window = len(need.arrivals), max(1, round(rules.idle_lifetime_s))
    held = np.zeros(steps) if provisioned is None else provisioned
    arrivals, means, peaks, caps = (
        a.tolist() for a in (need.arrivals, need.mean_concurrency, need.peak_concurrency, held)
    )
    out = {name: [0.0] * steps for name in ("od", "prov", "throttled", "rate", "cold", "conc", "peak")}
    pool = Allowance(rules.burst, rules.refill_per_s, window)  # environments
    rate = Allowance(rules.burst_rps, rules.refill_rps, window)  # requests per second
    for i in range(steps):
        n, mean, peak, cap = arrivals[i], means[i], peaks[i], caps[i]
        if n <= 0:
            pool.rest()
            rate.rest()
            continue
        admitted = min(n, rules.max_rps, max(rate.ceiling(i), cap * INVOCATIONS_PER_S_PER_CONCURRENCY))
        rate.use(i, admitted)
        if admitted < n:
            mean, peak = mean * admitted / n, min(peak, admitted)
        room = max(rules.concurrency_limit - cap, 0.0)
        spill, warm = max(peak - cap, 0.0), pool.held(i)
        used = min(spill, pool.ceiling(i), room)
        granted = pool.use(i, used)
        lost = loss_share(mean, cap + warm + granted) if used < spill else 0.0
        served = admitted * (1 - lost)
        on_provisioned = served * min(mean, cap) / mean if mean > 0 else 0.0
        out["od"][i], out["prov"][i] = served - on_provisioned, on_provisioned
        out["throttled"][i], out["rate"][i], out["cold"][i] = n - served, n - admitted, granted
        out["conc"][i], out["peak"][i] = mean * (1 - lost), min(peak, cap) + used
    arrays = {name: np.asarray(values) for name, values in out.items()}
    return Outcome(*(arrays[name] for name in ("od", "prov", "throttled", "rate", "cold", "conc", "peak")))
