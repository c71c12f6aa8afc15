"""What the packager knows of a model beyond the estimator itself (``ModelCard``), and how it names and classifies
one (``describe``, ``task_of``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from tools.model.errors import PackagingError
from tools.model.gate.convert_onnx import Tolerance
from tools.model.gate.gate_rows import ReferenceRows

SAVE_AN_ESTIMATOR = "save a fitted scikit-learn estimator or Pipeline with joblib.dump(model, path)"


@dataclass(frozen=True)
class ModelCard:
    """What the manifest says of the model beyond what the estimator tells by itself."""

    name: str
    version: str | None  # None: the first 12 hex digits of the artifact's sha256
    metrics: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # dataset, source: recorded as they are
    eval_rows: ReferenceRows | None = None  # held-out data; None: reference rows drawn within the training range
    runtime: Literal["auto", "onnx", "native", "sklearn"] = "auto"
    tolerance: Tolerance = field(default_factory=Tolerance)  # the ONNX parity gate's
    # The estimator as the user fitted it, when the packager serves a rewritten copy of it (named columns turned
    # into positions: tools/model/named_columns.py); the copy must answer exactly as it does.
    original: Any = None


def describe(estimator: Any) -> str:
    steps = getattr(estimator, "steps", None)
    if steps:
        return f"Pipeline({', '.join(type(step).__name__ for _, step in steps)})"
    return type(estimator).__name__


def task_of(estimator: Any) -> Literal["regression", "classification"]:
    if not callable(getattr(estimator, "predict", None)):
        if not isinstance(estimator, BaseEstimator):  # a dict, an array, a list: not a model at all
            kind = type(estimator)
            got = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
            raise PackagingError(f"not an estimator: got {got}; {SAVE_AN_ESTIMATOR}")
        raise PackagingError(
            f"{describe(estimator)} has no predict(): not an estimator that predicts; "
            "package a fitted classifier or regressor, or a Pipeline that ends in one"
        )
    if is_classifier(estimator):
        task: Literal["regression", "classification"] = "classification"
    elif is_regressor(estimator):
        task = "regression"
    else:
        raise PackagingError(f"{describe(estimator)} is neither a classifier nor a regressor")
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise PackagingError(f"{describe(estimator)} is not fitted") from None
    return task
