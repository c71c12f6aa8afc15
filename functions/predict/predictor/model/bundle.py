"""The model bundle: ``manifest.json`` + the artifact its runtime serves, verified before a byte of it is used.

The manifest's ``runtime`` says which: ``model.joblib`` served by the estimator's own library (scikit-learn,
XGBoost or LightGBM: predictor/model/native_runtime.py) or ``model.onnx`` served by ONNX Runtime
(predictor/model/onnx_runtime.py). Both sit behind ``ModelBundle.predict``
with the same checks, answers, errors and headers; only the chosen runtime's module is ever imported.

Loading order (each step refuses the bundle with a message naming what is wrong; steps 1-4 are the
contract's own checks in predictor/model/manifest.py, which the build tools run too):
1. the directory exists ("model directory not found: ...");
2. ``manifest.json`` parses and has every required field ("manifest invalid: ...");
3. the artifact's sha256 equals the manifest's ("sha256 mismatch: ..."): unpickling is code
   execution, so only the exact file that the project's packaging recorded is ever loaded;
4. the runtime's libraries (scikit-learn, numpy, scipy, joblib, and xgboost or lightgbm; or onnxruntime, numpy)
   equal the versions the bundle was made with ("library version mismatch: ...");
5. the runtime loads the artifact and it agrees with the manifest: ``joblib.load`` and the estimator's
   feature count and classes, every ``n_jobs`` set to 1 (Lambda has no /dev/shm for joblib's process
   pools); or an InferenceSession whose input dtype, width and outputs are the manifest's;
6. the model, predicting through the same path as ``/predict``, reproduces the manifest's reference
   outputs within the bundle's tolerance ("reference predictions not reproduced: ..."): the answers
   are the ones the model was packaged with, on this CPU and these wheel builds (predictor/model/reference.py).
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from predictor.model.features import Features
from predictor.model.manifest import (
    NATIVE_RUNTIMES,
    BundleError,
    Manifest,
    check_versions,
    runtime_not_shipped,
    verified_artifact,
)
from predictor.model.reference import compare
from predictor.model.runtime import Model, RawOutputs, Rows, to_jsonable

logger = logging.getLogger(__name__)

RUNTIME_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
RUNTIME_MODULES = {
    "onnx": "predictor.model.onnx_runtime",
    **dict.fromkeys(NATIVE_RUNTIMES, "predictor.model.native_runtime"),
}


class PredictionError(RuntimeError):
    """The model produced an output that must not be served (NaN, infinity): answered 422 (predictor/web/errors.py),
    never served."""


@dataclass(frozen=True)
class Prediction:
    predictions: list[Any]
    probabilities: list[list[float]] | None


def runtime_module(manifest: Manifest) -> Any:
    """The module serving the bundle's runtime, imported on demand (an ONNX process never imports sklearn)."""
    try:
        return importlib.import_module(RUNTIME_MODULES[manifest.runtime])
    except ImportError as exc:
        raise runtime_not_shipped(manifest.runtime, exc) from None


class ModelBundle:
    """A verified, loaded model and its manifest."""

    def __init__(self, manifest: Manifest, model: Model) -> None:
        self.manifest = manifest
        self.model = model
        self.feature_names = manifest.feature_names
        self.features = Features(manifest.feature_names, manifest.categorical)
        self.n_features = manifest.n_features
        self.has_probabilities = manifest.has_probabilities
        # One number per row, as the reference outputs are (ONNX graphs answer (n, 1) for one target).
        self.one_value_per_row = not isinstance(manifest.reference.predictions[0], list)

    @classmethod
    def load(cls, model_dir: Path) -> ModelBundle:
        manifest, artifact = verified_artifact(model_dir)
        runtime = runtime_module(manifest)
        check_versions(manifest, runtime.versions(manifest.runtime))
        saved_py = ".".join(manifest.python_version.split(".")[:2])
        if saved_py != RUNTIME_PYTHON:  # pickles written by CPython 3.x load on later 3.y: recorded, not enforced
            logger.info("model saved with Python %s, serving with Python %s", saved_py, RUNTIME_PYTHON)
        bundle = cls(manifest, runtime.load(manifest, artifact))
        bundle.check_reference()
        logger.info("serving %s %s with the %s runtime", manifest.name, manifest.version, manifest.runtime)
        return bundle

    def check_reference(self) -> None:
        """Predict the manifest's reference rows as /predict would and compare within its tolerance."""
        reference = self.manifest.reference
        start = time.perf_counter()
        try:
            served = self.predict(self.features.matrix(reference.rows))
        except Exception as exc:  # noqa: BLE001 - a model that cannot predict its own rows is refused
            raise BundleError(f"reference predictions failed: {type(exc).__name__}: {exc}") from None
        deviation = compare(reference, served.predictions, served.probabilities, self.manifest.task)
        if deviation is not None:
            raise BundleError(
                f"reference predictions not reproduced: {deviation} (worst of {len(reference.rows)} rows); "
                "this runtime does not give the answers the model was packaged with: check the CPU "
                "architecture and the layer's wheels, or re-package the model where it is served"
            )
        elapsed_ms = (time.perf_counter() - start) * 1000
        logger.info("reference predictions reproduced: %d rows in %.2f ms", len(reference.rows), elapsed_ms)

    def predict(self, rows: Rows) -> Prediction:
        raw = self.model.predict(rows)
        predictions = self.shaped(raw, len(rows))
        if self.manifest.task == "regression":
            check_finite(predictions, len(rows))
        probabilities = to_jsonable(raw.probabilities) if raw.probabilities is not None else None
        return Prediction(predictions=to_jsonable(predictions), probabilities=probabilities)

    def shaped(self, raw: RawOutputs, n_rows: int) -> Any:
        predictions = raw.predictions
        if self.one_value_per_row and predictions.ndim == 2 and predictions.shape[1] == 1:
            return predictions.reshape(n_rows)
        return predictions


def check_finite(predictions: Any, n_rows: int) -> None:
    """Refuse (422) answers that are not finite numbers: far out-of-range inputs can overflow a model. One pass over
    the model's own float array (no copy) when every value is finite; the rows are looked for only when one is not."""
    is_float = isinstance(predictions, np.ndarray) and predictions.dtype.kind == "f"
    values = predictions if is_float else np.asarray(predictions, dtype=np.float64)
    if values.size == 1 and math.isfinite(values.item()):  # one row, one number: no ufunc and reduction to pay
        return
    if np.isfinite(values).all():
        return
    bad = np.flatnonzero(~np.isfinite(values.reshape(n_rows, -1)).all(axis=1))
    if len(bad):
        shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
        raise PredictionError(
            f"the model's prediction is not a finite number for row(s) {shown}: "
            "are the inputs far outside the range it was trained on?"
        )


@dataclass(frozen=True)
class LoadedBundle:
    """Outcome of loading at cold start: a bundle, or the reason there is none."""

    bundle: ModelBundle | None
    error: str | None


def load_or_error(model_dir: Path) -> LoadedBundle:
    try:
        return LoadedBundle(bundle=ModelBundle.load(model_dir), error=None)
    except BundleError as exc:
        logger.error("model bundle refused: %s", exc)
        return LoadedBundle(bundle=None, error=str(exc))
