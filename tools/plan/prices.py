"""Unit prices the planner charges, as data: one dated table, us-east-1 list prices in USD, with their sources.

Sources: AWS's pricing pages (Lambda: https://aws.amazon.com/lambda/pricing/ ; API Gateway:
https://aws.amazon.com/api-gateway/pricing/), the SnapStart pricing section of the Lambda developer guide and AWS's
announcement of INIT-phase billing (SOURCES below). Checked on 2026-12-02 against stored copies of those pages and
transcriptions of them (the live pages render their rate tables client-side). Free tiers and Savings Plans are left
out (a plan should not depend on an account's age or commitments). Tiers apply to a month's total, as AWS bills.
Re-check before relying on a figure: AWS changes prices without changing this file.
"""

from __future__ import annotations

from dataclasses import dataclass

AS_OF = "2026-12-02"
REGION = "us-east-1"
HOURS_PER_MONTH = 730  # AWS Pricing Calculator's month
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
BILLING_GRANULARITY_MS = 1  # Lambda rounds each invocation's duration up to the next 1 ms
SOURCES = {
    "lambda": "https://aws.amazon.com/lambda/pricing/",
    "api_gateway": "https://aws.amazon.com/api-gateway/pricing/",
    "snapstart": "https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html#snapstart-pricing",
    "init_billing": "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/",
}

# A tiered price: (units up to which the price applies, price per unit); the last tier has no upper bound (None).
Tiers = tuple[tuple[float | None, float], ...]


@dataclass(frozen=True)
class ArchitecturePrices:
    duration_gb_s: Tiers  # on-demand duration, per GB-second (INIT included since 2025-08-01)
    provisioned_gb_s: float  # provisioned concurrency held, per GB-second
    provisioned_duration_gb_s: float  # duration of requests served by provisioned environments, per GB-second


REQUEST = 0.20 / 1e6  # per Lambda request, both architectures
LAMBDA = {
    "x86_64": ArchitecturePrices(
        duration_gb_s=((6e9, 0.0000166667), (15e9, 0.0000150000), (None, 0.0000133334)),
        provisioned_gb_s=0.0000041667,
        provisioned_duration_gb_s=0.0000097222,
    ),
    "arm64": ArchitecturePrices(
        duration_gb_s=((6e9, 0.0000133334), (15e9, 0.0000120001), (None, 0.0000106667)),
        provisioned_gb_s=0.0000033334,
        provisioned_duration_gb_s=0.0000077778,
    ),
}
# SnapStart for Python: the cache of each published version's snapshot, per GB-second it is kept (3 hours at
# least), and each restore of a new execution environment from it, per GB restored.
SNAPSTART_CACHE_GB_S = 0.0000015046
SNAPSTART_RESTORE_GB = 0.0001397998
# API Gateway, per request received, monthly tiers (REST: first 333 M, next 667 M, next 19 B, then over 20 B;
# HTTP API: first 300 M, then over 300 M).
API_GATEWAY: dict[str, Tiers] = {
    "rest": ((333e6, 3.50 / 1e6), (1e9, 2.80 / 1e6), (20e9, 2.38 / 1e6), (None, 1.51 / 1e6)),
    "http": ((300e6, 1.00 / 1e6), (None, 0.90 / 1e6)),
}


def tiered(units: float, tiers: Tiers) -> float:
    """What ``units`` in one month cost under ``tiers`` (each tier's price applies to the units within it)."""
    cost, floor = 0.0, 0.0
    for ceiling, price in tiers:
        top = units if ceiling is None else min(units, ceiling)
        if top > floor:
            cost += (top - floor) * price
        if ceiling is None or units <= ceiling:
            break
        floor = ceiling
    return cost
