"""Which runtime serves the bundle: ONNX Runtime when the graph passes the parity gate (``auto``, ``onnx``), else
the model's own library (``native``: scikit-learn, XGBoost or LightGBM), saying why; and the native layer's
check that it ships every module the pickle imports."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from predictor.model.manifest import ARTIFACTS, BOOSTING_LIBRARIES, OnnxModel, Runtime
from predictor.model.onnx_runtime import VERSIONS as ONNX_VERSIONS
from predictor.model.reference import Reference
from tools.build.model_layer import requirements_name, unshipped
from tools.model.card import ModelCard, describe
from tools.model.errors import PackagingError
from tools.model.gate import convert_onnx
from tools.model.gate.gate_rows import ProvingRows
from tools.model.pickle_imports import Referenced

ONNX_ARTIFACT = ARTIFACTS["onnx"]
LIBRARY_NAMES: dict[str, str] = {"sklearn": "scikit-learn", "xgboost": "XGBoost", "lightgbm": "LightGBM"}


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime that will serve, the manifest fields that say so, and how to write its artifact."""

    fields: dict[str, Any]
    write: Callable[[Path], None]
    summary: str


def gate_rows(fields: dict[str, Any], card: ModelCard, rows: ProvingRows) -> convert_onnx.GateRows:
    """The reference rows (with the stored probes), the probes not stored, and the eval data."""
    reference: Reference = fields["reference"]
    categorical = frozenset(fields.get("categorical") or {})
    parts = [(np.asarray(reference.rows, dtype=object if categorical else np.float64), "the reference rows")]
    if len(unstored := rows.unstored_probes):
        parts.append((unstored, "the threshold probes the manifest does not store"))
    if card.eval_rows is not None:
        parts.append(card.eval_rows)
    return convert_onnx.GateRows(parts, rows.probes, fields["feature_names"], categorical)


def choose_runtime(estimator: Any, fields: dict[str, Any], card: ModelCard, rows: ProvingRows,
                   referenced: Referenced) -> RuntimeChoice:  # fmt: skip
    """ONNX when asked (or ``auto``) and the conversion passes the parity gate; else the model's own library
    (the native runtime), saying why. ``referenced``: what unpickling the estimator imports (modules_referenced)."""
    if card.runtime in ("native", "sklearn"):  # sklearn: the native runtime's name before XGBoost and LightGBM
        return native_runtime(estimator, referenced, f"RUNTIME={card.runtime}")
    if coded := [name for name, kind in (fields.get("categorical") or {}).items() if kind.codes]:
        why = (
            f"it encodes its categorical columns itself ({', '.join(coded)}), and the graphs onnxmltools makes of "
            "categorical splits failed the parity gate when tried"
        )
        if card.runtime == "onnx":
            raise PackagingError(f"RUNTIME=onnx: {describe(estimator)} cannot be served by ONNX Runtime: {why}")
        return fall_back(estimator, referenced, why)
    if card.eval_rows is None and card.runtime == "auto" and rows.unprovable is not None:
        return fall_back(estimator, referenced, rows.unprovable)
    try:
        converted = convert_onnx.convert(
            estimator, fields["task"], fields["has_probabilities"], gate_rows(fields, card, rows), card.tolerance
        )
    except convert_onnx.ConversionFailed as exc:
        if card.runtime == "onnx":
            raise PackagingError(
                f"RUNTIME=onnx: {describe(estimator)} cannot be served by ONNX Runtime: {exc}"
            ) from None
        return fall_back(estimator, referenced, str(exc))
    reference: Reference = fields["reference"]
    tolerance = reference.model_copy(update={"rtol": converted.rtol, "atol": converted.atol})
    update = {
        "runtime": "onnx",
        "artifact": ONNX_ARTIFACT,
        "onnxruntime_version": ONNX_VERSIONS["onnxruntime_version"],  # the version the function checks
        "onnx": converted.info,
        "runtime_choice": f"{card.runtime}: ONNX Runtime passed the parity gate ({precision_words(converted.info)})",
        "reference": tolerance,
    }

    def write(path: Path) -> None:
        path.write_bytes(converted.graph)

    return RuntimeChoice(update, write, gate_summary(converted.info))


def fall_back(estimator: Any, referenced: Referenced, why: str) -> RuntimeChoice:
    reason = f"auto: ONNX not used ({why})"
    try:
        choice = native_runtime(estimator, referenced, reason)
    except PackagingError as exc:
        raise PackagingError(f"{exc}. (ONNX Runtime cannot serve it either: {why})") from None
    library = LIBRARY_NAMES[choice.fields["runtime"]]
    print(f"package_model: {describe(estimator)} is served by {library}: {reason}", file=sys.stderr)
    return choice


def boosting_libraries(referenced: Referenced) -> list[str]:
    """The boosting libraries (xgboost, lightgbm) whose code the pickle refers to."""
    return sorted({module.partition(".")[0] for module in referenced} & set(BOOSTING_LIBRARIES))


def boosting_versions(referenced: Referenced) -> dict[str, str]:
    """The version of each boosting library the pickle refers to, as the manifest records it (any runtime)."""
    return {BOOSTING_LIBRARIES[lib]: importlib.import_module(lib).__version__ for lib in boosting_libraries(referenced)}


def native_runtime(estimator: Any, referenced: Referenced, reason: str) -> RuntimeChoice:
    """The estimator served by its own library: scikit-learn, or the boosting library its pickle refers to."""
    boosters = boosting_libraries(referenced)
    if len(boosters) > 1:
        raise PackagingError(
            f"{describe(estimator)} needs both XGBoost and LightGBM: a layer ships one boosting library; "
            "package one model per function"
        )
    runtime: Runtime = boosters[0] if boosters else "sklearn"  # type: ignore[assignment]
    check_layer_ships_its_code(estimator, referenced, runtime)

    def write(path: Path) -> None:
        joblib.dump(estimator, path)

    fields = {"runtime": runtime, "artifact": ARTIFACTS[runtime], "runtime_choice": reason}
    return RuntimeChoice(fields, write, f"runtime {runtime} ({LIBRARY_NAMES[runtime]} serves the estimator itself)")


def check_layer_ships_its_code(estimator: Any, referenced: Referenced, runtime: Runtime) -> None:
    """A pickle imports every class and function it names as the function loads it. Code importable here
    (the user's own module) but not in the layer would pass every check below and fail at cold start."""
    missing = unshipped(referenced, runtime)
    if missing:
        names = ", ".join(f"{module}.{name}" for module in missing for name in sorted(referenced[module]))
        raise PackagingError(
            f"{describe(estimator)} refers to {names}, which the model layer does not ship: the function "
            f"would fail to load it. The layer installs only {requirements_name(runtime)}. Build the model "
            "from scikit-learn's and numpy's own classes and functions (FunctionTransformer(numpy.log1p), "
            "ColumnTransformer, ...), or pin the package that provides the module in that file"
        )


def gate_summary(info: OnnxModel) -> str:
    figures = info.parity
    if figures.max_relative_error is not None:
        agreement = f"max relative error {figures.max_relative_error:.2g}"
    else:
        agreement = "labels identical" + (
            f", max probability error {figures.max_probability_error:.2g}"
            if figures.max_probability_error is not None
            else ""
        )
    probed = ""
    if figures.splits_probed is not None:
        probed = f", either side of {figures.splits_probed:,} of {figures.splits_total:,} split thresholds among them"
    return f"runtime onnx ({precision_words(info)}; parity gate on {figures.rows:,} rows{probed}: {agreement})"


def precision_words(info: OnnxModel) -> str:
    """The graph's input dtype, and where it casts to float32 when it does: "float64 input, cast to ..."."""
    cast = f", cast to float32 before {info.cast_to_float32_before}" if info.cast_to_float32_before else ""
    return f"{info.input_dtype} input{cast}"
