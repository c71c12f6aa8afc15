"""The distributions the planner draws from: durations fitted to the profile's quantiles, Poisson counts.

A duration is modelled as lognormal (positive, right-skewed, as handler latencies are). Warm durations are fitted
to the measured mean and p99 (so the mean concurrency and the p99 the planner reports are the measured ones);
init and restore durations to their p50 and p99.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

Z99 = NormalDist().inv_cdf(0.99)
Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogNormal:
    mu: float
    sigma: float

    @classmethod
    def from_median_p99(cls, p50: float, p99: float) -> LogNormal:
        return cls(math.log(p50), max(math.log(p99 / p50), 0.0) / Z99)

    @classmethod
    def from_mean_p99(cls, mean: float, p99: float) -> LogNormal:
        """Solves ln p99 = mu + z sigma and ln mean = mu + sigma^2 / 2 (the smaller root)."""
        gap = math.log(p99 / mean)
        if gap <= 0:
            return cls(math.log(mean), 0.0)
        sigma = Z99 - math.sqrt(max(Z99 * Z99 - 2 * gap, 0.0))
        return cls(math.log(p99) - Z99 * sigma, sigma)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * NormalDist().inv_cdf(q)) if self.sigma else math.exp(self.mu)

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        if self.sigma == 0:
            return 1.0 if x >= math.exp(self.mu) else 0.0
        return 0.5 * (1 + math.erf((math.log(x) - self.mu) / (self.sigma * math.sqrt(2))))

    def sample(self, rng: np.random.Generator, size: int) -> Array:
        return np.exp(rng.normal(self.mu, self.sigma, size))

    def mean_billed_ms(self) -> float:
        """E[ceil(duration in ms)]: Lambda bills each invocation rounded up to the next 1 ms.
        E[ceil X] = sum over k >= 0 of P(X > k)."""
        top = math.ceil(self.quantile(1 - 1e-9)) + 1
        k = np.arange(top, dtype=np.float64)
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(k, 1e-300)) - self.mu) / max(self.sigma, 1e-12)
        survival = 0.5 * np.vectorize(math.erfc)(z / math.sqrt(2))
        survival[0] = 1.0
        return float(survival.sum())


def poisson_quantile(mean: Array, q: Array) -> Array:
    """The q-quantile of Poisson(mean), elementwise: exact summation below a mean of 30, the Cornish-Fisher
    expansion (mean + z sqrt(mean) + (z^2 - 1) / 6) above, where it is within one count."""
    mean, q = np.broadcast_arrays(np.asarray(mean, dtype=np.float64), np.asarray(q, dtype=np.float64))
    out = np.zeros(mean.shape)
    small = mean < 30
    if small.any():
        lam, target = mean[small], q[small]
        term = np.exp(-lam)
        cdf, k, result = term.copy(), 0, np.zeros(lam.shape)
        undecided = cdf < target
        while undecided.any() and k < 200:
            k += 1
            term = term * lam / k
            cdf = cdf + term
            result[undecided] = k
            undecided &= cdf < target
        out[small] = result
    big = ~small
    if big.any():
        z = normal_quantile(q[big])
        out[big] = np.maximum(np.ceil(mean[big] + z * np.sqrt(mean[big]) + (z * z - 1) / 6 - 0.5), 0)
    return out


def normal_quantile(q: Array) -> Array:
    clipped = np.clip(q, 1e-15, 1 - 1e-15)
    return np.asarray(np.vectorize(NormalDist().inv_cdf)(clipped), dtype=np.float64)


def mixture_quantile(q: float, warm: LogNormal, start: LogNormal, start_share: float) -> float:
    """The q-quantile of a request's duration when ``start_share`` of requests also wait a start (init or restore,
    taken as start + the warm mean): bisection on (1 - s) F_warm(x) + s F_start(x - warm mean) = q."""

    def cdf(x: float) -> float:
        return (1 - start_share) * warm.cdf(x) + start_share * start.cdf(x - warm.mean)

    low, high = 0.0, warm.quantile(0.999999) + start.quantile(0.999999) + warm.mean
    for _ in range(100):
        middle = (low + high) / 2
        if cdf(middle) < q:
            low = middle
        else:
            high = middle
    return high
