"""Convert a fitted scikit-learn estimator to ONNX and prove the graph answers as the estimator does.

``make model RUNTIME=auto`` (the default) asks this module for an ONNX graph; it is kept only when

1. skl2onnx converts the estimator in the estimator's own precision (tools/model/gate/onnx_precision.py: float64
   input, float64 preprocessing, a cast to float32 exactly where scikit-learn's trees cast; float32 input
   throughout only as a last resort);
2. ONNX Runtime, in the very class the function serves with (predictor/model/onnx_runtime.py), loads it;
3. the parity gate passes on the bundle's reference rows, on rows either side of the trees' split
   thresholds (tools/model/gate/tree_probes.py) and on the eval data (``EVAL_CSV``, or the default model's
   held-out split):
   - regression: ``|onnx - sklearn| <= rtol x (|sklearn| + scale)`` for every output, where ``scale``
     is the mean |prediction| over the compared rows (so a prediction near zero is judged against the
     model's own magnitude, not against zero); ``rtol`` = 1e-6 by default;
   - classification: identical labels on every row, and every probability within 1e-5 (absolute).
   When it fails, tools/model/gate/parity_report.py says where the answers part (which step, which rows and thresholds).

Otherwise ``auto`` packages the scikit-learn runtime and says why, and ``RUNTIME=onnx`` fails with the
converter's or the gate's reason. The tolerances are recorded in the manifest: they become the bundle's
reference tolerance, the one the function checks again at every cold start.

skl2onnx and onnx are build-time tools (requirements-dev.txt); the function never imports them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from predictor.model.manifest import BundleError, OnnxModel, Parity
from predictor.model.onnx_runtime import OnnxRuntimeModel
from predictor.model.reference import RTOL
from predictor.model.runtime import Rows, to_jsonable
from tools.model.gate import onnx_precision, parity_report
from tools.model.gate.onnx_precision import INPUT_NAME, Precision
from tools.model.gate.tree_probes import Probes
from tools.model.gate.trees import split_pipeline

PARITY_RTOL = 1e-6  # regression: relative to |sklearn| + the mean |prediction|
PARITY_PROBABILITY_ATOL = 1e-5  # classification: absolute, on probabilities in [0, 1]


@dataclass(frozen=True)
class Tolerance:
    rtol: float = PARITY_RTOL
    probability_atol: float = PARITY_PROBABILITY_ATOL


@dataclass(frozen=True)
class GateRows:
    """Rows the gate compares on: (matrix, where they come from), the reference rows first; and the
    threshold probes among them, when the model is a tree ensemble."""

    parts: list[tuple[Rows, str]]
    probes: Probes | None = None
    feature_names: list[str] = field(default_factory=list)
    categorical: frozenset[str] = frozenset()  # the features that take strings: rows are then object arrays

    @property
    def matrix(self) -> Rows:
        return np.vstack([rows for rows, _ in self.parts])

    @property
    def sources(self) -> list[str]:
        return [f"{source} ({len(rows)} rows)" for rows, source in self.parts]


@dataclass(frozen=True)
class Converted:
    """An ONNX graph that passed the gate, and the manifest's ``onnx`` section and reference tolerance."""

    graph: bytes
    info: OnnxModel
    rtol: float
    atol: float


class ConversionFailed(RuntimeError):
    """Why no ONNX graph is served: the converter's, ONNX Runtime's or the parity gate's words."""


def to_onnx(estimator: Any, rows: GateRows, task: str, precision: Precision) -> tuple[bytes, dict[str, Any]]:
    """skl2onnx's graph for ``estimator`` in ``precision`` (taking the features as ``rows`` hold them), and the
    manifest's names for its parts."""
    import onnx
    import skl2onnx

    graph = onnx_precision.convert(estimator, rows.feature_names, rows.categorical, task, precision)
    outputs = [output.name for output in graph.graph.output]
    names: dict[str, Any] = {"prediction_output": outputs[0]}
    if task == "classification":
        names = {"label_output": outputs[0], "probabilities_output": outputs[1] if len(outputs) > 1 else None}
    names["opsets"] = {entry.domain or "ai.onnx": int(entry.version) for entry in graph.opset_import}
    names["onnx_version"], names["skl2onnx_version"] = onnx.__version__, skl2onnx.__version__
    names["step_dtypes"] = onnx_precision.step_dtypes(estimator, precision)
    if precision.cast_before_final:
        names["cast_to_float32_before"] = split_pipeline(estimator)[1]
    return graph.SerializeToString(), names


def expected_answers(estimator: Any, x: Rows, with_probabilities: bool) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        expected = np.asarray(estimator.predict(x))
        return expected, estimator.predict_proba(x) if with_probabilities else None


def parity(estimator: Any, model: OnnxRuntimeModel, task: str, rows: GateRows, tolerance: Tolerance) -> Parity:
    """Compare the ONNX answers with the estimator's on the gate rows; parity_report.Mismatch if they differ."""
    x = rows.matrix
    expected, expected_proba = expected_answers(estimator, x, model.with_probabilities)
    served = model.predict(x)
    probes = rows.probes
    compared = Parity(
        rows=len(x), sources=rows.sources, splits_total=probes.total_splits if probes else None,
        splits_probed=len(probes.splits) if probes else None,
    )  # fmt: skip
    if task == "classification":
        labels = np.asarray(to_jsonable(served.predictions), dtype=object)
        differ = labels != np.asarray(to_jsonable(expected), dtype=object)
        parity_report.refuse_where(differ, "labels differ", x)
        if expected_proba is None or served.probabilities is None:
            return compared.model_copy(update={"labels_identical": True})
        gap = np.max(np.abs(np.asarray(served.probabilities, dtype=np.float64) - expected_proba), axis=1)
        error = float(np.max(gap))
        finding = f"a probability differs by {error:.3g} > {tolerance.probability_atol:g}"
        parity_report.refuse_where(~(gap <= tolerance.probability_atol), finding, x)
        return compared.model_copy(update={"labels_identical": True, "max_probability_error": error})
    got = np.asarray(served.predictions, dtype=np.float64)
    if got.size != expected.size:
        raise ConversionFailed(
            f"parity gate: ONNX answers shape {list(got.shape)}, scikit-learn {list(expected.shape)}"
        )
    want = expected.astype(np.float64)
    scale = float(np.mean(np.abs(want))) or 1.0
    relative = (np.abs(got.reshape(want.shape) - want) / (np.abs(want) + scale)).reshape(len(x), -1).max(axis=1)
    error = float(np.max(relative))
    parity_report.refuse_where(~(relative <= tolerance.rtol), f"relative error {error:.3g} > {tolerance.rtol:g}", x)
    return compared.model_copy(update={"max_relative_error": error, "scale": scale})


def attempt(estimator: Any, task: str, rows: GateRows, precision: Precision, tolerance: Tolerance,
            has_probabilities: bool) -> Converted:  # fmt: skip
    """One precision: convert, load in the serving class, gate. ConversionFailed says which step failed."""
    try:
        graph, names = to_onnx(estimator, rows, task, precision)
    except Exception as exc:  # noqa: BLE001 - skl2onnx raises many kinds; each is a reason to fall back
        raise ConversionFailed(f"skl2onnx cannot convert it: {type(exc).__name__}: {first_line(exc)}") from None
    provisional = Parity(rows=1, sources=["not yet compared"])
    info = OnnxModel(
        input_name=INPUT_NAME, input_dtype=precision.input_dtype, input_per_feature=bool(rows.categorical),
        parity=provisional, **names,
    )  # fmt: skip
    try:
        model = OnnxRuntimeModel(graph, info, task, has_probabilities)
        model.check_graph(rows.feature_names, rows.categorical)
    except BundleError as exc:
        raise ConversionFailed(str(exc)) from None
    try:
        figures = parity(estimator, model, task, rows, tolerance)
    except parity_report.Mismatch as mismatch:
        where = parity_report.where_they_part(estimator, precision, mismatch.rows, rows.feature_names)
        raise ConversionFailed(f"parity gate: {mismatch}{where}") from None
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime refusing the converted graph's input is a reason too
        raise ConversionFailed(f"ONNX Runtime cannot run it: {type(exc).__name__}: {first_line(exc)}") from None
    info = info.model_copy(update={"parity": figures})
    if task == "classification":
        return Converted(graph, info, rtol=RTOL, atol=tolerance.probability_atol)
    return Converted(graph, info, rtol=tolerance.rtol, atol=tolerance.rtol * (figures.scale or 1.0))


def convert(estimator: Any, task: str, has_probabilities: bool, rows: GateRows, tolerance: Tolerance) -> Converted:
    """The first precision (``onnx_precision.precisions``) that converts and passes the gate; ConversionFailed
    with every precision's reason."""
    reasons = []
    for precision in onnx_precision.precisions(estimator):
        try:
            return attempt(estimator, task, rows, precision, tolerance, has_probabilities)
        except ConversionFailed as exc:
            reasons.append(f"{precision.name}: {exc}")
    raise ConversionFailed("; ".join(reasons))


def first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""
