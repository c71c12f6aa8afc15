"""Convert a fitted scikit-learn estimator to ONNX and prove the graph answers as the estimator does.

``make model RUNTIME=auto`` (the default) asks this module for an ONNX graph; it is kept only when

1. skl2onnx converts the estimator, in float64 where its converters allow and float32 where they must
   (tree ensembles: ai.onnx.ml opset 3 has float thresholds); float64 is tried first, then float32, except
   for decision trees and their ensembles, which scikit-learn itself evaluates in float32 (``dtypes``);
2. ONNX Runtime, in the very class the function serves with (predictor/runtime_onnx.py), loads it;
3. the parity gate passes on the bundle's reference rows and on the eval data (``EVAL_CSV``, or the
   default model's held-out split):
   - regression: ``|onnx - sklearn| <= rtol x (|sklearn| + scale)`` for every output, where ``scale``
     is the mean |prediction| over the compared rows (so a prediction near zero is judged against the
     model's own magnitude, not against zero); ``rtol`` = 1e-6 by default;
   - classification: identical labels on every row, and every probability within 1e-5 (absolute).

Otherwise ``auto`` packages the scikit-learn runtime and says why, and ``RUNTIME=onnx`` fails with the
converter's or the gate's reason. The tolerances are recorded in the manifest: they become the bundle's
reference tolerance, the one the function checks again at every cold start.

skl2onnx and onnx are build-time tools (requirements-dev.txt); the function never imports them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sklearn.tree import BaseDecisionTree

from predictor.manifest import BundleError, OnnxModel, Parity
from predictor.outputs import FloatMatrix, to_jsonable
from predictor.reference import RTOL, worst_labels
from predictor.runtime_onnx import OnnxRuntimeModel

PARITY_RTOL = 1e-6  # regression: relative to |sklearn| + the mean |prediction|
PARITY_PROBABILITY_ATOL = 1e-5  # classification: absolute, on probabilities in [0, 1]
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}  # what skl2onnx 1.20 converts to and onnxruntime 1.32 runs
INPUT_NAME = "input"
InputDtype = Literal["float64", "float32"]


@dataclass(frozen=True)
class Tolerance:
    rtol: float = PARITY_RTOL
    probability_atol: float = PARITY_PROBABILITY_ATOL


@dataclass(frozen=True)
class GateRows:
    """Rows the gate compares on: (matrix, where they come from), the reference rows first."""

    parts: list[tuple[FloatMatrix, str]]

    @property
    def matrix(self) -> FloatMatrix:
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


def to_onnx(estimator: Any, n_features: int, task: str, dtype: InputDtype) -> tuple[bytes, dict[str, Any]]:
    """skl2onnx's graph for ``estimator`` taking an (n, n_features) tensor of ``dtype``."""
    import onnx
    import skl2onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    tensor = DoubleTensorType if dtype == "float64" else FloatTensorType
    options = {id(estimator): {"zipmap": False}} if task == "classification" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = skl2onnx.convert_sklearn(
            estimator,
            initial_types=[(INPUT_NAME, tensor([None, n_features]))],
            target_opset=TARGET_OPSET,
            options=options,
            name=type(estimator).__name__,  # else a random UUID: the same model would not give the same bytes
        )
    outputs = [output.name for output in graph.graph.output]
    names: dict[str, Any] = {"prediction_output": outputs[0]}
    if task == "classification":
        names = {"label_output": outputs[0], "probabilities_output": outputs[1] if len(outputs) > 1 else None}
    names["opsets"] = {entry.domain or "ai.onnx": int(entry.version) for entry in graph.opset_import}
    names["onnx_version"], names["skl2onnx_version"] = onnx.__version__, skl2onnx.__version__
    return graph.SerializeToString(), names


def parity(estimator: Any, model: OnnxRuntimeModel, task: str, rows: GateRows, tolerance: Tolerance) -> Parity:
    """Compare the ONNX answers with the estimator's on the gate rows; ConversionFailed if they differ."""
    x = rows.matrix
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        expected = np.asarray(estimator.predict(x))
        expected_proba = estimator.predict_proba(x) if model.with_probabilities else None
    served = model.predict(x)
    compared = len(x)
    if task == "classification":
        deviation = worst_labels(to_jsonable(served.predictions), to_jsonable(expected))
        if deviation is not None:
            raise ConversionFailed(f"parity gate: {deviation} of the compared rows")
        if expected_proba is None or served.probabilities is None:
            return Parity(rows=compared, sources=rows.sources, labels_identical=True)
        error = float(np.max(np.abs(np.asarray(served.probabilities, dtype=np.float64) - expected_proba)))
        if not error <= tolerance.probability_atol:
            raise ConversionFailed(
                f"parity gate: a probability differs by {error:.3g} > {tolerance.probability_atol:g}"
            )
        return Parity(rows=compared, sources=rows.sources, labels_identical=True, max_probability_error=error)
    got = np.asarray(served.predictions, dtype=np.float64)
    if got.size != expected.size:
        raise ConversionFailed(
            f"parity gate: ONNX answers shape {list(got.shape)}, scikit-learn {list(expected.shape)}"
        )
    want = expected.astype(np.float64)
    scale = float(np.mean(np.abs(want))) or 1.0
    error = float(np.max(np.abs(got.reshape(want.shape) - want) / (np.abs(want) + scale)))
    if not error <= tolerance.rtol:
        raise ConversionFailed(f"parity gate: relative error {error:.3g} > {tolerance.rtol:g}")
    return Parity(rows=compared, sources=rows.sources, max_relative_error=error, scale=scale)


def attempt(estimator: Any, n_features: int, task: str, rows: GateRows, dtype: InputDtype, tolerance: Tolerance,
            has_probabilities: bool) -> Converted:  # fmt: skip
    """One dtype: convert, load in the serving class, gate. ConversionFailed says which step failed."""
    try:
        graph, names = to_onnx(estimator, n_features, task, dtype)
    except Exception as exc:  # noqa: BLE001 - skl2onnx raises many kinds; each is a reason to fall back
        raise ConversionFailed(f"skl2onnx cannot convert it: {type(exc).__name__}: {first_line(exc)}") from None
    provisional = Parity(rows=1, sources=["not yet compared"])
    info = OnnxModel(input_name=INPUT_NAME, input_dtype=dtype, parity=provisional, **names)
    try:
        model = OnnxRuntimeModel(graph, info, task, has_probabilities)
        model.check_graph(n_features)
    except BundleError as exc:
        raise ConversionFailed(str(exc)) from None
    try:
        figures = parity(estimator, model, task, rows, tolerance)
    except ConversionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime refusing the converted graph's input is a reason too
        raise ConversionFailed(f"ONNX Runtime cannot run it: {type(exc).__name__}: {first_line(exc)}") from None
    info = info.model_copy(update={"parity": figures})
    if task == "classification":
        return Converted(graph, info, rtol=RTOL, atol=tolerance.probability_atol)
    return Converted(graph, info, rtol=tolerance.rtol, atol=tolerance.rtol * (figures.scale or 1.0))


def dtypes(estimator: Any) -> tuple[InputDtype, InputDtype]:
    """The input dtypes to try, in order: float64 first (scikit-learn's own precision), except for decision trees
    and their ensembles (forests, classic gradient boosting), which scikit-learn itself evaluates on float32
    input. A float64 graph of those (RandomForestClassifier loads as one) compares the unrounded input with
    the trees' float thresholds and takes other branches than scikit-learn near them: probabilities 0.01-0.05
    apart on real rows that drawn reference rows did not hit (tests/zoo.py random-forest-classifier)."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    parts = np.ravel(getattr(final, "estimators_", [final]))
    if len(parts) and all(isinstance(part, BaseDecisionTree) for part in parts):
        return ("float32", "float64")
    return ("float64", "float32")


def needs_eval_data(estimator: Any) -> str | None:
    """Why rows drawn at random cannot prove this estimator's graph (``auto`` then wants EVAL_CSV), or None.

    HistGradientBoosting compares float64 inputs with float64 bin thresholds; its ONNX graph (float32 only,
    ai.onnx.ml opset 3) rounds both, so a real value just above a threshold (0.34 vs 0.33999999999999997)
    can take the other branch: 2 of 89 held-out diabetes rows came out 3 % off while drawn rows agreed.
    Only real rows near the thresholds show it, which drawn rows almost never are."""
    steps = getattr(estimator, "steps", None)
    final = steps[-1][1] if steps else estimator
    if type(final).__name__ in {"HistGradientBoostingRegressor", "HistGradientBoostingClassifier"}:
        return (
            f"{type(final).__name__} compares float64 inputs with float64 bin thresholds, its graph in float32: "
            "only real rows can prove they agree; give EVAL_CSV=... EVAL_TARGET=... (or RUNTIME=onnx)"
        )
    return None


def convert(estimator: Any, n_features: int, task: str, has_probabilities: bool, rows: GateRows,
            tolerance: Tolerance) -> Converted:  # fmt: skip
    """The first dtype (``dtypes``) that converts and passes the gate; ConversionFailed with both reasons."""
    reasons = []
    for dtype in dtypes(estimator):
        try:
            return attempt(estimator, n_features, task, rows, dtype, tolerance, has_probabilities)
        except ConversionFailed as exc:
            reasons.append(f"{dtype}: {exc}")
    raise ConversionFailed("; ".join(reasons))


def first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""
