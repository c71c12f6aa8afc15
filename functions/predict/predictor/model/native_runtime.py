"""The native runtimes: the fitted estimator itself, unpickled with joblib and served by its own library
(manifest ``"runtime"``: ``"sklearn"``, or ``"xgboost"`` / ``"lightgbm"`` for those libraries' scikit-learn
estimators and the pipelines that end in one).

Imported only when the bundle says so: a process serving an ONNX bundle never loads scikit-learn or SciPy, and
a scikit-learn bundle never loads XGBoost or LightGBM.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.exceptions import InconsistentVersionWarning
from threadpoolctl import threadpool_limits

from predictor.model.manifest import BOOSTING_LIBRARIES, BundleError, Manifest, runtime_not_shipped
from predictor.model.runtime import RawOutputs, Rows, to_jsonable

logger = logging.getLogger(__name__)

# The runtime's side of the version check (the manifest's side: predictor/model/manifest.py RUNTIME_LIBRARIES).
VERSIONS: dict[str, str] = {
    "sklearn_version": sklearn.__version__,
    "numpy_version": np.__version__,
    "scipy_version": scipy.__version__,
    "joblib_version": joblib.__version__,
}


def versions(runtime: str) -> dict[str, str]:
    """The versions this process serves ``runtime`` with: scikit-learn's stack, and the boosting library the
    runtime names (imported here, before the pickle is: a layer without it is refused with that reason)."""
    key = BOOSTING_LIBRARIES.get(runtime)
    if key is None:
        return VERSIONS
    try:
        library = importlib.import_module(runtime)
    except ImportError as exc:
        raise runtime_not_shipped(runtime, exc) from None
    return {**VERSIONS, key: library.__version__}


# sklearn warns on every call when a model fitted on a DataFrame gets a plain array; the function
# always passes arrays ordered by the manifest's feature_names, so the warning carries no news.
warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)


def make_single_process(estimator: Any) -> dict[str, Any]:
    """Set every ``n_jobs`` (including nested ``step__n_jobs``) to 1; returns what was changed. ``None`` is one
    job in scikit-learn but every core in XGBoost and LightGBM (OpenMP threads: on a fraction of a vCPU a one-row
    LightGBM prediction took 9 ms instead of 0.25 ms), so theirs is changed too."""
    get_params = getattr(estimator, "get_params", None)
    if get_params is None:
        return {}
    params = get_params(deep=True)
    changed = {
        key: value
        for key, value in params.items()
        if (key == "n_jobs" or key.endswith("__n_jobs"))
        and value != 1
        and (value is not None or is_booster(params.get(key.rpartition("__")[0], estimator)))
    }
    if changed:
        estimator.set_params(**dict.fromkeys(changed, 1))
    return changed


def one_thread() -> None:
    """One OpenMP and one BLAS thread for the process, from now on. scikit-learn's HistGradientBoosting predicts with
    OpenMP threads (one per core, no ``n_jobs`` to set), and numpy's BLAS multiplies with its own: on a fraction of
    a vCPU, or beside another busy process, they wait for each other (a one-row HistGradientBoostingClassifier
    ``predict_proba`` took 192 ms with them on two busy cores, 3.9 ms with one thread)."""
    threadpool_limits(limits=1)


def is_booster(owner: Any) -> bool:
    """An estimator of XGBoost or LightGBM, whose ``n_jobs=None`` means every core."""
    return type(owner).__module__.partition(".")[0] in BOOSTING_LIBRARIES


class NativeModel:
    """A verified estimator; ``predict`` runs it as /predict needs (single process, inputs known finite)."""

    def __init__(self, estimator: Any, with_probabilities: bool) -> None:
        self.estimator = estimator
        self.with_probabilities = with_probabilities

    def predict(self, rows: Rows) -> RawOutputs:
        # The request schema already refused NaN and infinities: sklearn need not scan every value again.
        # Finite inputs far out of range can still overflow (1e306 x a coefficient): numpy's warning is
        # silenced because the caller checks the outcome and refuses it with a 422 that says so.
        with sklearn.config_context(assume_finite=True), np.errstate(over="ignore", invalid="ignore"):
            predictions = self.estimator.predict(rows)
            probabilities = self.estimator.predict_proba(rows) if self.with_probabilities else None
        return RawOutputs(np.asarray(predictions), probabilities)


def load(manifest: Manifest, artifact: Path) -> NativeModel:
    """Unpickle the (sha256-verified) artifact and check it is the estimator the manifest describes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            estimator = joblib.load(artifact)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the bundle is unusable
        raise BundleError(f"cannot load {artifact.name}: {type(exc).__name__}: {exc}") from None
    check_model_matches(manifest, estimator)
    one_thread()
    changed = make_single_process(estimator)
    if changed:
        logger.info("n_jobs set to 1 for Lambda (was %s)", changed)
    return NativeModel(estimator, manifest.has_probabilities)


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
