"""When the parity gate refuses a graph: where the graph's answers part from the estimator's, in words a user can
act on. For a tree model the inputs the trees receive are compared step by step (scikit-learn's preprocessing,
cast as the estimator casts, against the same steps converted alone in the graph's precision), and the rows
and split thresholds that the difference straddles are named.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tools.model.gate import onnx_precision
from tools.model.gate.onnx_precision import Precision
from tools.model.gate.trees import is_lightgbm, split_pipeline, split_values, trees_of

EXAMPLES = 3  # rows and thresholds named in a message
WHAT_TO_DO = (
    "What you can do: RUNTIME=native (or auto, which falls back by itself) serves the estimator itself, with "
    "the same answers and a larger layer; give EVAL_CSV with real rows to see how often it matters"
)


class Mismatch(Exception):
    """The gate's finding (``str``) and the rows it concerns."""

    def __init__(self, finding: str, rows: np.ndarray) -> None:
        super().__init__(finding)
        self.rows = rows


def refuse_where(bad: np.ndarray, finding: str, x: np.ndarray) -> None:
    """Raise Mismatch for the rows where ``bad`` holds, if any."""
    if bad.any():
        raise Mismatch(f"{finding} on {int(bad.sum()):,} of {len(x):,} rows", x[bad])


def sklearn_inputs(steps: list[tuple[str, Any]], rows: np.ndarray) -> np.ndarray:
    from sklearn.pipeline import Pipeline

    if not steps:
        return rows
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return np.asarray(Pipeline(steps).transform(rows), dtype=np.float64)


def graph_inputs(steps: list[tuple[str, Any]], precision: Precision, rows: np.ndarray) -> np.ndarray:
    """The output of ``steps`` converted alone in ``precision`` and run by ONNX Runtime."""
    import onnxruntime as ort
    import skl2onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.pipeline import Pipeline

    x = rows.astype(precision.input_dtype)
    if not steps:
        return x
    tensor = DoubleTensorType if precision.input_dtype == "float64" else FloatTensorType
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = skl2onnx.convert_sklearn(
            Pipeline(steps), initial_types=[("input", tensor([None, rows.shape[1]]))],
            target_opset=onnx_precision.TARGET_OPSET,
        )  # fmt: skip
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"input": x})[0])


def parting_step(before: list[tuple[str, Any]], precision: Precision, rows: np.ndarray, compare: type) -> str:
    """The first step whose output, as the trees would see it, differs between the graph and scikit-learn."""
    for k in range(1, len(before) + 1):
        ours: np.ndarray = graph_inputs(before[:k], precision, rows).astype(compare)
        theirs: np.ndarray = sklearn_inputs(before[:k], rows).astype(compare)
        if ours.shape == theirs.shape and (ours != theirs).any():
            name, step = before[k - 1]
            return f"step '{name}' ({type(step).__name__}, computed in {precision.input_dtype} by the graph)"
    return "the cast of the request's values before the trees"


def crossings(graph_seen: np.ndarray, sklearn_seen: np.ndarray, thresholds: dict[int, np.ndarray],
              strict: bool) -> list[str]:  # fmt: skip
    """For rows whose tree inputs differ: both inputs and a split threshold that sends them different ways (left
    when ``<= threshold``, or ``< threshold`` for ``strict`` trees: XGBoost)."""

    def side(value: float, threshold: float) -> str:
        return "left" if (value < threshold if strict else value <= threshold) else "right"

    found = []
    for row, column in zip(*np.nonzero(graph_seen != sklearn_seen), strict=True):
        ours, theirs = float(graph_seen[row, column]), float(sklearn_seen[row, column])
        known = thresholds.get(int(column), np.empty(0))
        lowest, highest = min(ours, theirs), max(ours, theirs)
        between = (
            known[(known > lowest) & (known <= highest)] if strict else known[(known >= lowest) & (known < highest)]
        )
        if len(between):
            threshold = float(between[0])
            found.append(
                f"row {row}: at split threshold {threshold!r} on tree input {column}, scikit-learn's {theirs!r} goes "
                f"{side(theirs, threshold)}, the graph's {ours!r} {side(ours, threshold)}"
            )
        if len(found) == EXAMPLES:
            break
    return found


def known_cause(final: Any) -> str:
    """A converter's known blind spot, when the estimator has it."""
    if is_lightgbm(final) and final.get_params().get("linear_tree"):
        return " (LightGBM linear_tree=True: its leaves are linear models, which onnxmltools converts as constants)"
    return ""


def where_they_part(estimator: Any, precision: Precision, rows: np.ndarray, feature_names: list[str]) -> str:
    """A sentence (starting with '. ') on where the answers for ``rows`` part, ending with what to do."""
    before, final_name, final = split_pipeline(estimator)
    found = trees_of(final)
    if found is None or rows.dtype == object:  # strings: the steps' numbers are not traced through the encoder
        return f". First row concerned: {dict(zip(feature_names, rows[0].tolist(), strict=False))}. {WHAT_TO_DO}"
    trees, compare = found
    try:  # a cast before the trees (precision.cast_before_final) rounds as astype(float32) does
        ours: np.ndarray = graph_inputs(before, precision, rows).astype(compare)
        theirs: np.ndarray = sklearn_inputs(before, rows).astype(compare)
    except Exception as exc:  # noqa: BLE001 - a diagnosis that cannot run must not hide the gate's finding
        return f". (where they part could not be traced: {type(exc).__name__}) {WHAT_TO_DO}"
    if ours.shape != theirs.shape or not (ours != theirs).any():
        return (
            f". {final_name} receives the same inputs in the graph as in scikit-learn on these rows: its converted "
            f"trees themselves answer otherwise{known_cause(final)}. {WHAT_TO_DO}"
        )
    features, values = split_values(trees)
    thresholds = {int(j): np.unique(values[features == j]) for j in np.unique(features)}
    step = parting_step(before, precision, rows, compare) if before else "the cast of the request's values"
    examples = "; ".join(crossings(ours, theirs, thresholds, trees[0].strict))
    first = dict(zip(feature_names, rows[0].tolist(), strict=False))
    return (
        f". The answers part at {step}: {final_name} receives other numbers than in scikit-learn on "
        f"{int((ours != theirs).any(axis=1).sum()):,} of these {len(rows):,} rows"
        + (f" ({examples}; row 0 is {first})" if examples else "")
        + f". {WHAT_TO_DO}"
    )
