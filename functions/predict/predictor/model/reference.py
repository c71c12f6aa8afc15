"""Reference predictions: the model's own answers for a few rows, stored in the bundle and reproduced
at cold start in the runtime that actually serves.

The sha256 says the file is the same, the library versions say the code is the same; the reference
rows say the *answers* are the same on this CPU, this interpreter and these wheel builds. Floats are
not promised to be bit-identical across wheel builds or CPUs (the host's cp311 numpy and the Lambda
image's cp313 numpy have been seen 1 ULP apart), so the comparison has one stated tolerance:

    a prediction (or probability) agrees when |served - stored| <= atol + rtol * |stored|

with ``RTOL`` = 1e-9 and ``ATOL`` = 1e-12 by default (float64 arithmetic drifts by ~1e-16 relative;
anything near 1e-9 is a different computation, not rounding). Class labels must be identical.
The tolerance is recorded in the bundle, so a bundle made for a less exact runtime can state its own.
The same rule is what the tests use whenever an answer crosses an interpreter, an image or a runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

RTOL = 1e-9
ATOL = 1e-12

Label = int | float | str | bool


class Reference(BaseModel):
    """Rows and the outputs the packager's scikit-learn gave for them (``manifest.json: reference``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=1)  # where the rows come from: eval data, held-out split, drawn in a range
    rows: list[list[float | str]] = Field(min_length=1)  # strings: a categorical feature's values (format 5)
    predictions: list[Any] = Field(min_length=1)  # labels (classification), numbers or lists (regression)
    probabilities: list[list[float]] | None = None
    rtol: float = Field(default=RTOL, gt=0, lt=1)
    atol: float = Field(default=ATOL, ge=0, lt=1)


@dataclass(frozen=True)
class Deviation:
    """The worst disagreement between served and stored outputs, in words a person can act on."""

    row: int
    what: str  # "prediction", "label", "probabilities"
    served: Any
    stored: Any
    detail: str  # "|difference| 1.2e-04 > tolerance 7.0e-08", or "labels differ"

    def __str__(self) -> str:
        return f"row {self.row} {self.what}: served {self.served!r}, bundle says {self.stored!r} ({self.detail})"


def worst_numeric(served: Any, stored: Any, rtol: float = RTOL, atol: float = ATOL) -> Deviation | None:
    """The row holding the number furthest outside ``atol + rtol * |stored|``, or None if all agree."""
    got, want = np.asarray(served, dtype=np.float64), np.asarray(stored, dtype=np.float64)
    if got.shape != want.shape:
        return Deviation(0, "shape", list(got.shape), list(want.shape), "the outputs have different shapes")
    allowed = atol + rtol * np.abs(want)
    with np.errstate(invalid="ignore", over="ignore"):
        difference = np.abs(got - want)
        excess = difference / allowed
    excess = np.where(np.isnan(excess), np.inf, excess)  # NaN served (or stored) never agrees
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    if excess[worst] <= 1.0:
        return None
    row = int(worst[0])
    detail = f"|difference| {difference[worst]:.3g} > tolerance {allowed[worst]:.3g} = {atol:g} + {rtol:g} x |stored|"
    return Deviation(row, "prediction", got[row].tolist(), want[row].tolist(), detail)


def worst_labels(served: list[Label], stored: list[Label]) -> Deviation | None:
    """The first row whose class label differs (labels are compared exactly), or None."""
    for row, (got, want) in enumerate(zip(served, stored, strict=True)):
        if got != want or type(got) is not type(want):
            return Deviation(row, "label", got, want, "labels differ")
    return None


def compare(
    reference: Reference, predictions: list[Any], probabilities: list[list[float]] | None, task: str
) -> Deviation | None:
    """How the served outputs for ``reference.rows`` differ from the stored ones (None: they agree)."""
    if len(predictions) != len(reference.predictions):
        return Deviation(0, "row count", len(predictions), len(reference.predictions), "different number of rows")
    if task == "classification":
        deviation = worst_labels(predictions, reference.predictions)
        if deviation is None and reference.probabilities is not None:
            if probabilities is None:
                return Deviation(0, "probabilities", None, reference.probabilities[0], "no probabilities served")
            deviation = worst_numeric(probabilities, reference.probabilities, reference.rtol, reference.atol)
            if deviation is not None:
                deviation = replace(deviation, what="probabilities")
        return deviation
    return worst_numeric(predictions, reference.predictions, reference.rtol, reference.atol)
