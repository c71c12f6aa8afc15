"""Provisioned concurrency as template.yaml scales it: Application Auto Scaling target tracking on
``LambdaProvisionedConcurrencyUtilization`` (ProvisionedMin..ProvisionedMax, ProvisionedTargetUtilization).

What is modelled, and where each rule comes from:

- the metric: provisioned environments busy / provisioned, one value a minute (the minute's average; assumed);
- scale out "proportionally to the metric as fast as it can", scale in "more gradually" (Application Auto
  Scaling User Guide, Target tracking scaling policies): out to ceil(capacity x metric / target) when the high
  alarm fires, in to ceil(capacity x highest recent metric / target) when the low alarm fires;
- the alarms Application Auto Scaling creates for the policy: high after 3 one-minute datapoints above the
  target, low after 15 below 90 % of it (assumed: the template does not set them and AWS manages them);
- cool-downs: the template sets none, so the defaults for Lambda provisioned concurrency apply, 0 s for scale
  out and scale in (AWS CDK's ``UtilizationScalingOptions`` documents Application Auto Scaling's defaults);
- newly requested provisioned environments serve after ``ready_after_s`` (assumed 120 s: Lambda initialises them
  first, and AWS does not publish how long that takes); one scaling activity at a time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from tools.plan.distributions import Array

MINUTE = 60


@dataclass(frozen=True)
class TargetTracking:
    minimum: int
    maximum: int
    target: float = 0.7  # template.yaml's ProvisionedTargetUtilization default
    high_datapoints: int = 3
    low_datapoints: int = 15
    low_ratio: float = 0.9
    scale_out_cooldown_s: float = 0.0
    scale_in_cooldown_s: float = 0.0
    ready_after_s: float = 120.0


@dataclass
class Controller:
    policy: TargetTracking
    capacity: int
    pending: tuple[float, int] | None = None  # (ready at, capacity)
    last_out: float = -math.inf
    last_in: float = -math.inf

    def decide(self, now: float, history: deque[float]) -> None:
        p = self.policy
        if self.pending and self.pending[0] <= now:
            self.capacity, self.pending = self.pending[1], None
        recent = list(history)
        high = recent[-p.high_datapoints :]
        if len(high) == p.high_datapoints and min(high) > p.target and self.pending is None:
            wanted = min(p.maximum, math.ceil(self.capacity * high[-1] / p.target))
            if wanted > self.capacity and now - self.last_out >= p.scale_out_cooldown_s:
                self.pending, self.last_out = (now + p.ready_after_s, wanted), now
            return
        low = recent[-p.low_datapoints :]
        if len(low) == p.low_datapoints and max(low) < p.low_ratio * p.target and self.pending is None:
            wanted = max(p.minimum, math.ceil(self.capacity * max(low) / p.target))
            if wanted < self.capacity and now - self.last_in >= p.scale_in_cooldown_s:
                self.capacity, self.last_in = wanted, now
                history.clear()


def provisioned_capacity(mean_concurrency: Array, policy: TargetTracking) -> Array:
    """Provisioned environments ready in each one-second step, from the demand's mean concurrency per second."""
    steps = len(mean_concurrency)
    held = np.zeros(steps)
    controller = Controller(policy, policy.minimum)
    history: deque[float] = deque(maxlen=max(policy.high_datapoints, policy.low_datapoints))
    for start in range(0, steps, MINUTE):
        window = mean_concurrency[start : start + MINUTE]
        held[start : start + MINUTE] = controller.capacity
        busy = np.minimum(window, controller.capacity).mean() if len(window) else 0.0
        history.append(float(busy) / controller.capacity)
        controller.decide(float(start + len(window)), history)
    return held
