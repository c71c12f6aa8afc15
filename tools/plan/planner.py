"""A plan: which memory size and which strategy meet the p99 objective most cheaply, and the template
parameters (samconfig overrides) that deploy it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.build.lambda_platform import MEMORY_MB_MAX, MEMORY_MB_MIN, MIN_UNRESERVED_CONCURRENCY
from tools.paths import ROOT
from tools.plan.profile import Profile
from tools.plan.simulate import Rules
from tools.plan.strategies import TEMPLATE_STRATEGY, Result, Setting, evaluate
from tools.plan.traffic import Traffic

TEMPLATE = ROOT / "template.yaml"


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class Request:
    traffic: Traffic
    p99_ms: float
    profile: Profile
    profile_path: Path
    memory_mb: int | None = None
    architecture: str = "x86_64"
    account_concurrency: int = 1_000
    reserved: int | None = None
    rows: str = "1"
    api: str = "rest"
    idle_lifetime_s: float = 300.0
    target_utilization: float = 0.7
    seed: int = 23


@dataclass(frozen=True)
class Plan:
    request: Request
    memory_mb: int
    strategies: dict[str, Result]
    recommended: str | None
    notes: list[str] = field(default_factory=list)

    def overrides(self) -> dict[str, Any] | None:
        if self.recommended is None:
            return None
        values: dict[str, Any] = {
            "ColdStartStrategy": TEMPLATE_STRATEGY[self.recommended],
            "FunctionMemory": self.memory_mb,
            "ReservedConcurrency": self.request.reserved or 0,
        }
        bounds = self.strategies[self.recommended].provisioned
        if self.recommended == "provisioned" and bounds is not None:
            values["ProvisionedMin"], values["ProvisionedMax"] = int(bounds["min"]), int(bounds["max"])
            values["ProvisionedTargetUtilization"] = self.request.target_utilization
        return values


def template_memory_sizes(template: Path = TEMPLATE) -> list[int]:
    """FunctionMemory's AllowedValues in template.yaml: the sizes a plan can deploy."""
    from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

    parameter = cfn_yaml.load(str(template))["Parameters"]["FunctionMemory"]
    return sorted(int(value) for value in parameter["AllowedValues"])


def candidate_sizes(request: Request, deployable: list[int]) -> tuple[list[int], list[str]]:
    """The measured sizes worth simulating, and a note for each one left out."""
    profile, notes = request.profile, list[str]()
    if request.memory_mb is not None:
        size = request.memory_mb
        if not MEMORY_MB_MIN <= size <= MEMORY_MB_MAX:
            raise PlanError(f"Lambda does not offer {size} MB: memory is {MEMORY_MB_MIN}-{MEMORY_MB_MAX} MB")
        if size not in profile.memory_sizes():
            raise PlanError(f"the profile has no figures for {size} MB (measured: {profile.memory_sizes()})")
        if size not in deployable:
            raise PlanError(f"template.yaml's FunctionMemory does not allow {size} MB (allowed: {deployable})")
        return [size], notes
    sizes = []
    for size in profile.memory_sizes():
        figures = profile.at(size)
        if size not in deployable:
            notes.append(f"{size} MB measured but not in template.yaml's FunctionMemory: not considered")
        elif not figures.largest_batch.fits:
            notes.append(
                f"{size} MB: the largest batch ({figures.largest_batch.rows:,} rows) did not fit: not considered"
            )
        elif figures.peak_memory_mb is not None and figures.peak_memory_mb >= size:
            notes.append(f"{size} MB: peak memory {figures.peak_memory_mb:g} MB does not fit: not considered")
        else:
            sizes.append(size)
    if not sizes:
        raise PlanError("no measured memory size is both deployable and big enough for the model")
    return sizes, notes


def check_reachable(request: Request, sizes: list[int]) -> None:
    fastest = min(sizes, key=lambda size: request.profile.at(size).warm_ms[request.rows].p99)
    floor = request.profile.at(fastest).warm_ms[request.rows].p99
    if request.p99_ms < floor:
        raise PlanError(
            f"--p99-ms {request.p99_ms:g} is unreachable: the warm handler alone has a p99 of {floor:g} ms "
            f"at {fastest} MB ({'the' if len(sizes) == 1 else 'the fastest'} measured size), before any cold start"
        )


def limits(request: Request) -> tuple[Rules, int]:
    """The concurrency limit the function meets, and the most provisioned concurrency it may hold."""
    account = request.account_concurrency
    if request.reserved is None:
        return Rules(account, request.idle_lifetime_s), account - MIN_UNRESERVED_CONCURRENCY
    if not 1 <= request.reserved <= account - MIN_UNRESERVED_CONCURRENCY:
        raise PlanError(
            f"--reserved {request.reserved}: Lambda lets a function reserve 1 to {account - MIN_UNRESERVED_CONCURRENCY}"
            f" of an account's {account} (it keeps {MIN_UNRESERVED_CONCURRENCY} unreserved)"
        )
    return Rules(request.reserved, request.idle_lifetime_s), request.reserved


def make_plan(request: Request, deployable: list[int] | None = None) -> Plan:
    sizes, notes = candidate_sizes(request, template_memory_sizes() if deployable is None else deployable)
    check_reachable(request, sizes)
    rules, cap = limits(request)
    by_size = {}
    for size in sizes:
        setting = Setting(
            size, request.profile.at(size), request.rows, request.architecture, request.api, rules,
            request.target_utilization, max(cap, 1),
        )  # fmt: skip
        by_size[size] = evaluate(request.traffic, setting, request.seed)
    meeting = [
        (result.cost.total, size, name)
        for size, results in by_size.items()
        for name, result in results.items()
        if result.meets(request.p99_ms)
    ]
    if meeting:
        _, size, recommended = min(meeting)
        return Plan(request, size, by_size[size], recommended, notes)
    best = min(by_size, key=lambda s: (min(r.p99_ms for r in by_size[s].values()), s))
    return Plan(request, best, by_size[best], None, notes)
