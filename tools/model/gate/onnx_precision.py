"""Where an ONNX graph computes in float64 and where in float32: exactly where the estimator itself does.

A served answer is the model's own only if every comparison with a split threshold sees the number
scikit-learn sees. scikit-learn's decision trees, forests, extra trees and classic gradient boosting run
the whole pipeline before them in float64 and cast to float32 only at the tree ensemble's input
(``check_array(dtype=np.float32)`` inside ``predict``), and so does XGBoost; HistGradientBoosting and
LightGBM compare float64 inputs with float64 thresholds. A graph that scales in float32 (``FloatTensorType``
input) rounds every scaled value before the cast, and rows next to a threshold take the other branch: answers
1e-3 apart on real rows.

So the graphs built here take float64 input and compute:

- ``cast``: the preprocessing in float64, then a ``Cast`` to float32 before the tree ensemble, as
  scikit-learn's trees and XGBoost do (skl2onnx's ``CastTransformer`` inserted as a step; skl2onnx already
  adjusts each float32 threshold so that ``float32(x) <= threshold`` branches as scikit-learn's float64
  threshold does; XGBoost's split conditions are float32 already);
- ``float64``: float64 throughout; for HistGradientBoosting and LightGBM the tree operator's thresholds are
  the estimator's own float64 values (``nodes_values_as_tensor``, ai.onnx.ml opset 3: the converters write
  them as float32), its scores cast back to float64 (ONNX Runtime's tree operators give float32 scores);
- ``float32``: float32 input throughout: the last resort, as before, which the parity gate must prove.

The packager tries them in order (``precisions``); the manifest records which one served
(``onnx.step_dtypes``, ``onnx.cast_to_float32_before``).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tools.model.gate.trees import (
    casts_to_float32,
    compares_in_float64,
    is_lightgbm,
    is_xgboost,
    split_pipeline,
    split_values,
    trees_of,
)

InputDtype = Literal["float64", "float32"]
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}  # what skl2onnx 1.20 converts to and onnxruntime 1.32 runs
INPUT_NAME = "input"
CAST_STEP = "cast_to_float32"
TREE_OPERATORS = {"TreeEnsembleRegressor": 0, "TreeEnsembleClassifier": 1}  # op type -> index of its score output


@dataclass(frozen=True)
class Precision:
    """One way to build the graph: its input dtype and where it casts to float32."""

    name: Literal["cast", "float64", "float32"]
    input_dtype: InputDtype
    cast_before_final: bool = False  # a Cast to float32 between the preprocessing and the final estimator
    float64_thresholds: bool = False  # HistGradientBoosting, LightGBM: the tree operator's thresholds in float64


CAST = Precision("cast", "float64", cast_before_final=True)
FLOAT64 = Precision("float64", "float64")
FLOAT64_TREES = Precision("float64", "float64", float64_thresholds=True)
FLOAT32 = Precision("float32", "float32")


def precisions(estimator: Any) -> list[Precision]:
    """The precisions to try, the estimator's own first."""
    final = split_pipeline(estimator)[2]
    if casts_to_float32(final):
        return [CAST, FLOAT32]
    if compares_in_float64(final):
        return [FLOAT64_TREES, FLOAT32]
    return [FLOAT64, FLOAT32]


def step_dtypes(estimator: Any, precision: Precision) -> dict[str, InputDtype]:
    """Each step of the graph and the dtype it computes in (the manifest's ``onnx.step_dtypes``)."""
    before, final_name, _ = split_pipeline(estimator)
    dtypes: dict[str, InputDtype] = {name: precision.input_dtype for name, _ in before}
    dtypes[final_name] = "float32" if precision.cast_before_final else precision.input_dtype
    return dtypes


def with_cast(estimator: Any, n_features: int) -> Any:
    """The same fitted steps with skl2onnx's CastTransformer (float32) before the final estimator."""
    from skl2onnx.sklapi import CastTransformer
    from sklearn.pipeline import Pipeline

    before, final_name, final = split_pipeline(estimator)
    cast = CastTransformer(dtype=np.float32).fit(np.zeros((1, n_features)))
    return Pipeline([*before, (CAST_STEP, cast), (final_name, final)])


def initial_types(feature_names: list[str], categorical: frozenset[str], precision: Precision) -> list[Any]:
    """The graph's inputs: one (n, n_features) tensor of numbers; with categorical features one (n, 1) input per
    feature, named as it, strings for the categorical ones (how skl2onnx takes a DataFrame's columns)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType

    tensor = DoubleTensorType if precision.input_dtype == "float64" else FloatTensorType
    if not categorical:
        return [(INPUT_NAME, tensor([None, len(feature_names)]))]
    return [(name, StringTensorType([None, 1]) if name in categorical else tensor([None, 1])) for name in feature_names]


def convert(estimator: Any, feature_names: list[str], categorical: frozenset[str], task: str,
            precision: Precision) -> Any:  # fmt: skip
    """skl2onnx's graph (an onnx ModelProto) of ``estimator`` in ``precision``."""
    import skl2onnx

    n_features = len(feature_names)
    model = with_cast(estimator, n_features) if precision.cast_before_final else estimator
    final = split_pipeline(estimator)[2]
    if is_xgboost(final):
        check_xgboost_has_trees(final)
        register_xgboost()
    if is_lightgbm(final):
        register_lightgbm()
    options = {id(final): {"zipmap": False}} if task == "classification" else None
    with warnings.catch_warnings(), booster_unnamed(final):
        warnings.simplefilter("ignore")
        graph = skl2onnx.convert_sklearn(
            model,
            initial_types=initial_types(feature_names, categorical, precision),
            target_opset=TARGET_OPSET,
            options=options,
            name=type(estimator).__name__,  # else a random UUID: the same model would not give the same bytes
        )
    if precision.float64_thresholds:
        use_float64_thresholds(graph, final)
    return graph


@contextlib.contextmanager
def booster_unnamed(final: Any) -> Iterator[None]:
    """An XGBoost model fitted on a DataFrame names its features in its trees' dump, where onnxmltools reads only
    "f0", "f1", ... ("Unable to interpret 'income'"): its booster goes without names while it converts (the
    graph takes columns by position, as the function sends them)."""
    booster: Any = final.get_booster() if is_xgboost(final) else None
    names = booster.feature_names if booster is not None else None
    if names is None:
        yield
        return
    booster.feature_names = None
    try:
        yield
    finally:
        booster.feature_names = names


def exact_thresholds(final: Any) -> dict[tuple[int, float], float]:
    """(feature, the float32 copy a converter wrote) -> the estimator's own float64 threshold; ValueError when two
    thresholds of one feature share a float32 copy (the graph's node could not be told which it is)."""
    found = trees_of(final)
    if found is None:
        raise ValueError(f"{type(final).__name__}: its trees cannot be read")
    exact: dict[tuple[int, float], float] = {}
    for feature, threshold in zip(*split_values(found[0]), strict=True):
        key = (int(feature), float(np.float32(threshold)))
        if exact.setdefault(key, float(threshold)) != float(threshold):
            raise ValueError(f"two thresholds of feature {feature} round to the same float32 {key[1]!r}")
    return exact


def use_float64_thresholds(graph: Any, final: Any) -> None:
    """Tree operators with the estimator's float64 thresholds (HistGradientBoosting, LightGBM) instead of the
    float32 copies the converters write, and their float32 scores cast to float64 for the nodes after them."""
    from onnx import TensorProto, helper, numpy_helper

    exact = exact_thresholds(final)
    for node in [n for n in graph.graph.node if n.op_type in TREE_OPERATORS]:
        attributes = {attribute.name: attribute for attribute in node.attribute}
        modes = list(attributes["nodes_modes"].strings)
        if set(modes) - {b"BRANCH_LEQ", b"LEAF"}:
            raise ValueError(f"the tree operator has branches other than <=: {sorted(set(modes))}")
        written = np.asarray(attributes["nodes_values"].floats, dtype=np.float32)
        pairs = zip(attributes["nodes_featureids"].ints, written, modes, strict=True)
        values = [exact[int(feature), float(value)] if mode == b"BRANCH_LEQ" else 0.0 for feature, value, mode in pairs]
        node.attribute.remove(attributes["nodes_values"])
        tensor = numpy_helper.from_array(np.asarray(values, dtype=np.float64))
        node.attribute.append(helper.make_attribute("nodes_values_as_tensor", tensor))
        score = TREE_OPERATORS[node.op_type]
        name = node.output[score]
        node.output[score] = f"{name}_float32"
        position = list(graph.graph.node).index(node)
        cast = helper.make_node("Cast", [f"{name}_float32"], [name], to=TensorProto.DOUBLE)
        graph.graph.node.insert(position + 1, cast)
    for opset in graph.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, 3)  # the *_as_tensor attributes are ai.onnx.ml opset 3's


def check_xgboost_has_trees(final: Any) -> None:
    booster = json.loads(final.get_booster().save_config())["learner"]["gradient_booster"]["name"]
    if booster == "gblinear":
        raise ValueError("XGBoost's gblinear booster is a linear model: onnxmltools converts tree boosters only")


def register_xgboost() -> None:
    """onnxmltools' XGBoost converters, registered with skl2onnx (build time only)."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from xgboost import XGBClassifier, XGBRegressor

    register(XGBRegressor, XGBClassifier, "XGBoost", convert_xgboost)


def register_lightgbm() -> None:
    """onnxmltools' LightGBM converters, registered with skl2onnx (build time only)."""
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

    register(LGBMRegressor, LGBMClassifier, "LightGbm", convert_lightgbm, {"split": None})


def register(regressor: type, classifier: type, library: str, converter: Any,
             regressor_options: dict[str, Any] | None = None) -> None:  # fmt: skip
    """A library's regressor and classifier converters, registered with skl2onnx so that a pipeline ending in one
    converts as one graph (the aliases are onnxmltools' own names for them)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    update_registered_converter(
        regressor, f"{library}{regressor.__name__}", calculate_linear_regressor_output_shapes, converter,
        options=regressor_options,
    )  # fmt: skip
    update_registered_converter(
        classifier, f"{library}{classifier.__name__}", calculate_linear_classifier_output_shapes, converter,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )  # fmt: skip
