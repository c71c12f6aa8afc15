"""A month's bill for one strategy: the simulated usage scaled to 730 hours, priced from ``prices.py``.

Lambda bills each served request (throttled ones are not invocations), its duration rounded up to 1 ms x the
memory (GB-seconds, INIT included for on-demand cold starts since 2025-08-01), provisioned concurrency for the
time it is held, SnapStart's cache for the time the version's snapshot exists and each restore; API Gateway bills
every request it receives, throttled or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.plan import prices


@dataclass(frozen=True)
class Usage:
    """What the simulated period used."""

    seconds: float
    lambda_requests: float
    api_requests: float
    on_demand_gb_s: float  # billed duration of on-demand requests (and of their starts)
    provisioned_duration_gb_s: float  # billed duration of requests served by provisioned environments
    provisioned_held_gb_s: float  # provisioned concurrency held x memory x time
    snapstart_cache_gb_s: float
    snapstart_restored_gb: float

    def monthly(self) -> Usage:
        k = prices.SECONDS_PER_MONTH / self.seconds
        return Usage(
            prices.SECONDS_PER_MONTH,
            *(k * value for value in (
                self.lambda_requests, self.api_requests, self.on_demand_gb_s, self.provisioned_duration_gb_s,
                self.provisioned_held_gb_s, self.snapstart_cache_gb_s, self.snapstart_restored_gb,
            )),
        )  # fmt: skip


@dataclass(frozen=True)
class MonthlyCost:
    requests: float
    compute: float
    provisioned: float
    api_gateway: float
    snapstart: float

    @property
    def total(self) -> float:
        return self.requests + self.compute + self.provisioned + self.api_gateway + self.snapstart

    def as_dict(self) -> dict[str, float]:
        parts = {
            "total": self.total,
            "requests": self.requests,
            "compute": self.compute,
            "provisioned": self.provisioned,
            "api_gateway": self.api_gateway,
            "snapstart": self.snapstart,
        }
        return {name: round(value, 2) for name, value in parts.items()}


def monthly_cost(usage: Usage, architecture: str, api: str) -> MonthlyCost:
    month = usage.monthly()
    lam = prices.LAMBDA[architecture]
    return MonthlyCost(
        requests=month.lambda_requests * prices.REQUEST,
        compute=prices.tiered(month.on_demand_gb_s, lam.duration_gb_s)
        + month.provisioned_duration_gb_s * lam.provisioned_duration_gb_s,
        provisioned=month.provisioned_held_gb_s * lam.provisioned_gb_s,
        api_gateway=prices.tiered(month.api_requests, prices.API_GATEWAY[api]),
        snapstart=month.snapstart_cache_gb_s * prices.SNAPSTART_CACHE_GB_S
        + month.snapstart_restored_gb * prices.SNAPSTART_RESTORE_GB,
    )
