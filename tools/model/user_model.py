"""The user's model file: loaded (a joblib pickle, or a booster saved with its own save_model), its feature names,
its metrics on ``EVAL_CSV``, and the copy that selects named columns by position, proven equal to the original."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import InconsistentVersionWarning

from predictor.model.manifest import Categorical
from tools.model import boosters
from tools.model.card import SAVE_AN_ESTIMATOR
from tools.model.errors import PackagingError
from tools.model.feature_types import as_fitted, categorical_features, read_column
from tools.model.gate.gate_rows import ReferenceRows


def load_user_estimator(path: Path) -> Any:
    """A joblib/pickle file of a fitted estimator, or a booster saved with its library's own save_model."""
    if not path.is_file():
        raise PackagingError(f"estimator file not found: {path}")
    if path.suffix.lower() in boosters.SUFFIXES:
        try:
            return boosters.load(path)
        except boosters.BoosterError as exc:
            raise PackagingError(str(exc)) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            return joblib.load(path)
    except InconsistentVersionWarning as exc:
        raise PackagingError(
            f"{path} was saved with scikit-learn {exc.original_sklearn_version}; the layer runs "
            f"{sklearn.__version__}. Re-fit it with scikit-learn {sklearn.__version__}, or change the pin in "
            "layers/model/requirements.txt (and requirements-dev) to the version it was saved with."
        ) from None
    except Exception as exc:  # noqa: BLE001
        raise PackagingError(unimportable(path, exc) or f"cannot load {path}: {type(exc).__name__}: {exc}") from None


# pickle's words for a name it cannot find: "Can't get attribute 'f' on <module '__main__' from '...'>"
MISSING_ATTRIBUTE = re.compile(r"Can't get attribute '(?P<name>[^']+)' on <module '(?P<module>[^']+)'")


def unimportable(path: Path, exc: Exception) -> str | None:
    """Say what a pickle refers to that cannot be imported here (a script's own function or class), or None."""
    if isinstance(exc, AttributeError) and (found := MISSING_ATTRIBUTE.search(str(exc))):
        name, module = found["name"], found["module"]
        main = sys.modules["__main__"]  # its repr names its spec when run with -m: <module 'pytest.__main__' ...>
        scripts = {"__main__", getattr(getattr(main, "__spec__", None), "name", "__main__")}
        where = "the script that saved it (__main__)" if module in scripts else f"module {module}"
        thing = f"`{name}` defined in {where}, which"
    elif isinstance(exc, ModuleNotFoundError) and exc.name:
        if exc.name.partition(".")[0] in {"sklearn", "numpy", "scipy", "joblib"}:
            return (
                f"{path.name} needs module {exc.name}, which this {exc.name.partition('.')[0]} does not have: "
                f"it was saved with another version; re-fit it with the versions in layers/model/requirements.txt"
            )
        thing = f"module `{exc.name}`, which"
    else:
        return None
    return (
        f"{path.name} refers to {thing} cannot be imported here: {SAVE_AN_ESTIMATOR}. Custom functions or "
        "classes must live in an importable module, and the function can import only what the layer ships "
        "(layers/model/requirements.txt), so build the model from scikit-learn's own classes"
    )


def recorded_names(estimator: Any) -> bool:
    """Whether the estimator knows its feature names (XGBoost raises instead of answering None)."""
    try:
        return getattr(estimator, "feature_names_in_", None) is not None
    except AttributeError:
        return False


def resolve_feature_names(estimator: Any, given: list[str] | None) -> list[str]:
    from_model = getattr(estimator, "feature_names_in_", None)
    n_in = getattr(estimator, "n_features_in_", None)
    if from_model is not None:
        names = [str(n) for n in from_model]
        if given is not None and given != names:
            raise PackagingError(f"FEATURE_NAMES {given} differ from the estimator's feature_names_in_ {names}")
        return names
    if given is not None:
        if n_in is not None and len(given) != int(n_in):
            raise PackagingError(f"FEATURE_NAMES has {len(given)} names, the estimator expects {n_in} features")
        return given
    if n_in is None:
        raise PackagingError("cannot tell the number of features: give FEATURE_NAMES=a,b,c")
    return [f"x{i}" for i in range(int(n_in))]


def eval_table(csv: Path, names: list[str], target: str, categorical: dict[str, Categorical]) -> tuple[Any, Any]:
    """The CSV's feature columns as the function sends them (strings for the categorical features, float64 for the
    others), and its target column."""
    import pandas as pd

    try:
        table = pd.read_csv(csv)
    except (OSError, ValueError) as exc:
        raise PackagingError(f"cannot read {csv}: {type(exc).__name__}: {exc}") from None
    absent = [c for c in [*names, target] if c not in table.columns]
    if absent:
        raise PackagingError(f"{csv} has no column(s): {', '.join(absent)}")
    if empty := {name: int(n) for name, n in table[[*names, target]].isna().sum().items() if n}:
        listed = ", ".join(f"{name} ({n} rows)" for name, n in empty.items())
        raise PackagingError(f"{csv} has empty values in {listed}: requests cannot send them; drop or fill those rows")
    columns = []
    for name in names:
        try:
            columns.append(read_column(table[name].to_numpy(), name, categorical))
        except ValueError as exc:
            raise PackagingError(f"{csv}: column {name} is a numeric feature, but {exc}") from None
    return np.column_stack(columns), table[target].to_numpy()


def evaluate(
    estimator: Any, task: str, csv: Path, target: str, names: list[str]
) -> tuple[dict[str, Any], ReferenceRows]:
    """Metrics on the CSV, and its rows (reference rows are taken from them; the parity gate uses them all)."""
    from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

    categorical = categorical_features(estimator, names)
    x, y = eval_table(csv, names, target, categorical)
    predicted = estimator.predict(as_fitted(x, names, categorical))
    reference = (x, f"the eval data {csv.name}")
    if task == "classification":
        return {
            "eval_accuracy": round(float(accuracy_score(y, predicted)), 6),
            "eval_f1_macro": round(float(f1_score(y, predicted, average="macro")), 6),
            "n_eval": len(y),
        }, reference
    return {
        "eval_r2": round(float(r2_score(y, predicted)), 6),
        "eval_mae": round(float(mean_absolute_error(y, predicted)), 6),
        "n_eval": len(y),
    }, reference
