"""The traffic to plan for, as a request rate per second of simulated time.

``--rps R``: R requests per second, steady, for one day. ``--traffic FILE.csv``: ``second,rps`` rows (a header
row is allowed) giving the rate from that second on, until the next row; the last row's rate lasts one second.
The curve is simulated once, from nothing warm; monthly figures repeat it to fill 730 hours.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

STEADY_SECONDS = 86_400  # a steady rate is simulated for a day


class TrafficError(ValueError):
    pass


@dataclass(frozen=True)
class Traffic:
    rates: npt.NDArray[np.float64]  # requests per second, one entry per simulated second
    source: str  # what the user gave: "steady 200 rps" or the file's name

    @property
    def seconds(self) -> int:
        return len(self.rates)

    @property
    def mean_rps(self) -> float:
        return float(self.rates.mean())


def steady(rps: float, seconds: int = STEADY_SECONDS) -> Traffic:
    if not math.isfinite(rps) or rps < 0:
        raise TrafficError(f"--rps must be a number of requests per second, 0 or more, got {rps}")
    return Traffic(np.full(seconds, float(rps)), f"steady {rps:g} rps")


def parse_row(row: list[str], line: int) -> tuple[int, float] | None:
    """(second, rps) from one CSV row; None for the header; TrafficError naming the line otherwise."""
    if len(row) != 2:
        raise TrafficError(f"line {line}: expected 'second,rps', got {','.join(row)!r}")
    try:
        second, rate = float(row[0]), float(row[1])
    except ValueError:
        if line == 1:
            return None
        raise TrafficError(f"line {line}: {','.join(row)!r} is not two numbers (second,rps)") from None
    if not math.isfinite(rate) or rate < 0:
        raise TrafficError(f"line {line}: the rate {row[1].strip()} is not a request rate (0 or more per second)")
    if not second.is_integer() or second < 0:
        raise TrafficError(f"line {line}: the second {row[0].strip()} is not a whole number of seconds, 0 or more")
    return int(second), rate


def from_csv(path: Path) -> Traffic:
    try:
        text = path.read_text()
    except OSError as exc:
        raise TrafficError(f"cannot read {path}: {exc.strerror}") from None
    points: list[tuple[int, float]] = []
    for line, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip():
            continue
        parsed = parse_row(row, line)
        if parsed is None:
            continue
        if points and parsed[0] <= points[-1][0]:
            raise TrafficError(f"line {line}: second {parsed[0]} does not come after second {points[-1][0]}")
        points.append(parsed)
    if not points:
        raise TrafficError(f"{path} has no 'second,rps' rows")
    rates = np.zeros(points[-1][0] + 1)
    for (start, rate), (end, _) in zip(points, [*points[1:], (points[-1][0] + 1, 0.0)], strict=True):
        rates[start:end] = rate
    return Traffic(rates, path.name)
