"""The same rules as ``simulate.py``, request by request: the reference the aggregated simulation is held to.

Each request is an event: seeded Poisson arrivals within each second, a lognormal warm duration, an init
duration when a new environment starts. The most recently freed idle environment takes it; one idle longer than
the idle lifetime is reclaimed; without an idle one, a new environment starts if the scaling allowance (a token
bucket: 1,000, refilled at 100 per second) and the concurrency limit allow, else the request is throttled, as are
arrivals within a second beyond the request-rate allowance (10,000 more per second every 10 s) or the invocation
rate limit. Far too slow for a day at scale; exact on small cases.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

from tools.plan.distributions import Array, LogNormal
from tools.plan.simulate import Allowance, Rules


@dataclass(frozen=True)
class Totals:
    served: int
    throttled: int
    cold_starts: int
    busy_seconds: float  # environment-seconds spent on requests (init included): mean concurrency x time
    peak: int


@dataclass
class Fleet:
    rules: Rules
    busy: list[float]  # a heap of the times busy environments free up
    idle: deque[float]  # the times idle environments were freed, oldest first
    tokens: float
    clock: float = 0.0

    def advance(self, now: float) -> None:
        while self.busy and self.busy[0] <= now:
            self.idle.append(heapq.heappop(self.busy))
        while self.idle and now - self.idle[0] > self.rules.idle_lifetime_s:
            self.idle.popleft()
        self.tokens = min(float(self.rules.burst), self.tokens + (now - self.clock) * self.rules.refill_per_s)
        self.clock = now

    def take(self, now: float, duration: float, start: float) -> str:
        """'warm', 'cold' or 'throttled' for a request arriving at ``now``."""
        if self.idle:
            self.idle.pop()
            heapq.heappush(self.busy, now + duration)
            return "warm"
        if len(self.busy) < self.rules.concurrency_limit and self.tokens >= 1:
            self.tokens -= 1
            heapq.heappush(self.busy, now + start + duration)
            return "cold"
        return "throttled"


def simulate(rates: Array, warm: LogNormal, init: LogNormal, rules: Rules, seed: int) -> Totals:
    rng = np.random.default_rng(seed)
    fleet = Fleet(rules, [], deque(), float(rules.burst))
    counts = {"warm": 0, "cold": 0, "throttled": 0}
    busy_ms, peak = 0.0, 0
    allowance = Allowance(rules.burst_rps, rules.refill_rps, max(1, round(rules.idle_lifetime_s)))
    for second, rate in enumerate(rates.tolist()):
        n = int(rng.poisson(rate))
        times = second + np.sort(rng.random(n))
        durations, starts = warm.sample(rng, n) / 1000, init.sample(rng, n) / 1000
        ceiling = min(rules.max_rps, allowance.ceiling(second))
        allowance.use(second, min(n, ceiling))
        for k, now in enumerate(times.tolist()):
            fleet.advance(now)
            kind = "throttled" if k >= ceiling else fleet.take(now, durations[k], starts[k])
            counts[kind] += 1
            if kind != "throttled":
                busy_ms += 1000 * (durations[k] + (starts[k] if kind == "cold" else 0.0))
                peak = max(peak, len(fleet.busy))
    return Totals(counts["warm"] + counts["cold"], counts["throttled"], counts["cold"], busy_ms / 1000, peak)
