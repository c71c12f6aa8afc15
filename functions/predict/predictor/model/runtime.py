"""What every model runtime hands back, before the bundle turns it into JSON-ready lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

FloatMatrix = npt.NDArray[np.float64]
# The rows a runtime predicts: (n_rows, n_features) float64; object, with a ``str`` in each categorical feature's
# column and a ``float`` elsewhere, when the manifest has categorical features (predictor/model/features.py).
Rows = npt.NDArray[Any]


@dataclass(frozen=True)
class RawOutputs:
    """A runtime's answers for n rows: predictions (labels or numbers) and, for classifiers, probabilities."""

    predictions: npt.NDArray[Any]
    probabilities: npt.NDArray[Any] | None


class Model(Protocol):
    """A loaded model of either runtime (predictor/model/native_runtime.py, predictor/model/onnx_runtime.py)."""

    def predict(self, rows: Rows) -> RawOutputs: ...


def to_jsonable(values: Any) -> list[Any]:
    """numpy labels/arrays -> plain Python lists (str, int, float, bool)."""
    return np.asarray(values).tolist()  # type: ignore[no-any-return]
