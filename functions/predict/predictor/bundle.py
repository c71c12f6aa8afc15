"""The model bundle: ``model.joblib`` + ``manifest.json``, verified before a single byte is unpickled.

Loading order (each step refuses the bundle with a message naming what is wrong; steps 1-4 are the
contract's own checks in predictor/manifest.py, which the build tools run too):
1. the directory exists ("model directory not found: ...");
2. ``manifest.json`` parses and has every required field ("manifest invalid: ...");
3. the artifact's sha256 equals the manifest's ("sha256 mismatch: ..."): unpickling is code
   execution, so only the exact file that the project's packaging recorded is ever loaded;
4. the runtime's scikit-learn, numpy, scipy and joblib equal the versions the model was saved with
   ("library version mismatch: ...");
5. ``joblib.load`` succeeds, and the estimator agrees with the manifest (feature count, classes);
6. every ``n_jobs`` parameter is set to 1: Lambda has no /dev/shm for joblib's process pools;
7. the model, predicting through the same path as ``/predict``, reproduces the manifest's reference
   outputs within the bundle's tolerance ("reference predictions not reproduced: ..."): the answers
   are the ones the model was packaged with, on this CPU and these wheel builds (predictor/reference.py).
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
import scipy
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from predictor.errors import PredictionError
from predictor.manifest import BundleError, Manifest, check_versions, verified_artifact
from predictor.reference import compare

logger = logging.getLogger(__name__)

# The runtime's side of the version check (the manifest's side: predictor/manifest.py LIBRARY_NAMES).
RUNTIME_VERSIONS: dict[str, str] = {
    "sklearn_version": sklearn.__version__,
    "numpy_version": np.__version__,
    "scipy_version": scipy.__version__,
    "joblib_version": joblib.__version__,
}

RUNTIME_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

# sklearn warns on every call when a model fitted on a DataFrame gets a plain array; the function
# always passes arrays ordered by the manifest's feature_names, so the warning carries no news.
warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prediction:
    predictions: list[Any]
    probabilities: list[list[float]] | None


def to_jsonable(values: Any) -> list[Any]:
    """numpy labels/arrays -> plain Python lists (str, int, float, bool)."""
    return np.asarray(values).tolist()  # type: ignore[no-any-return]


def make_single_process(estimator: Any) -> dict[str, Any]:
    """Set every ``n_jobs`` (including nested ``step__n_jobs``) to 1; returns what was changed."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return {}
    changed = {
        key: value
        for key, value in get_params(deep=True).items()
        if (key == "n_jobs" or key.endswith("__n_jobs")) and value not in (None, 1)
    }
    if changed:
        estimator.set_params(**dict.fromkeys(changed, 1))
    return changed


class ModelBundle:
    """A verified, loaded model and its manifest."""

    def __init__(self, manifest: Manifest, model: Any) -> None:
        self.manifest = manifest
        self.model = model
        self.feature_names = manifest.feature_names
        self.n_features = manifest.n_features
        self.has_probabilities = manifest.has_probabilities

    @classmethod
    def load(cls, model_dir: Path) -> ModelBundle:
        manifest, artifact = verified_artifact(model_dir)
        check_versions(manifest, RUNTIME_VERSIONS)
        saved_py = ".".join(manifest.python_version.split(".")[:2])
        if saved_py != RUNTIME_PYTHON:  # pickles written by CPython 3.x load on later 3.y: recorded, not enforced
            logger.info("model saved with Python %s, serving with Python %s", saved_py, RUNTIME_PYTHON)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", InconsistentVersionWarning)
                model = joblib.load(artifact)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means the bundle is unusable
            raise BundleError(f"cannot load {artifact.name}: {type(exc).__name__}: {exc}") from None
        check_model_matches(manifest, model)
        changed = make_single_process(model)
        if changed:
            logger.info("n_jobs set to 1 for Lambda (was %s)", changed)
        bundle = cls(manifest, model)
        bundle.check_reference()
        return bundle

    def check_reference(self) -> None:
        """Predict the manifest's reference rows as /predict would and compare within its tolerance."""
        reference = self.manifest.reference
        start = time.perf_counter()
        try:
            served = self.predict(np.asarray(reference.rows, dtype=np.float64))
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

    def predict(self, rows: FloatMatrix) -> Prediction:
        # The request schema already refused NaN and infinities: sklearn need not scan every value again.
        # Finite inputs far out of range can still overflow (1e306 x a coefficient): numpy's warning is
        # silenced because the outcome is checked right below and refused with a 422 that says so.
        with sklearn.config_context(assume_finite=True), np.errstate(over="ignore", invalid="ignore"):
            predictions = self.model.predict(rows)
            probabilities = to_jsonable(self.model.predict_proba(rows)) if self.has_probabilities else None
        if self.manifest.task == "regression" and not np.all(np.isfinite(predictions)):
            bad = np.flatnonzero(~np.isfinite(np.asarray(predictions, dtype=np.float64).reshape(len(rows), -1)).all(1))
            shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
            raise PredictionError(
                f"the model's prediction is not a finite number for row(s) {shown}: "
                "are the inputs far outside the range it was trained on?"
            )
        return Prediction(predictions=to_jsonable(predictions), probabilities=probabilities)


def check_model_matches(manifest: Manifest, model: Any) -> None:
    """The unpickled object must be the estimator the manifest describes."""
    if not callable(getattr(model, "predict", None)):
        raise BundleError(f"manifest does not match the model: {type(model).__name__} has no predict()")
    n_in = getattr(model, "n_features_in_", None)
    if n_in is not None and int(n_in) != manifest.n_features:
        raise BundleError(
            f"manifest does not match the model: manifest lists {manifest.n_features} features, "
            f"the model expects {n_in}"
        )
    classes = getattr(model, "classes_", None)
    if manifest.task == "classification":
        if classes is None or to_jsonable(classes) != manifest.classes:
            raise BundleError(
                f"manifest does not match the model: manifest classes {manifest.classes}, "
                f"model classes {None if classes is None else to_jsonable(classes)}"
            )
        if manifest.has_probabilities and not callable(getattr(model, "predict_proba", None)):
            raise BundleError("manifest does not match the model: no predict_proba()")
    elif classes is not None:
        raise BundleError("manifest does not match the model: task is regression but the model is a classifier")


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
