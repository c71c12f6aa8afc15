"""Write a model bundle for the model layer: ``manifest.json`` and the artifact of the runtime that serves it,
``model.onnx`` (ONNX Runtime, when the graph passes the parity gate: tools/model/convert_onnx.py) or
``model.joblib`` (scikit-learn).

    package-model                         # train the default model (make model)
    package-model --estimator est.joblib  # package your own fitted estimator
        [--feature-names a,b,c] [--name NAME] [--version V] [--eval-csv data.csv --target y]

Run it in the project's virtualenv (``make model`` does): the manifest records this interpreter's
scikit-learn, numpy, scipy and joblib versions, which are the versions pinned in
``layers/model/requirements.txt`` and therefore the versions the layer ships.

The default model is trained reproducibly on scikit-learn's bundled diabetes dataset (10 features,
regression): the same library versions give the same artifact bytes and sha256.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.exceptions import InconsistentVersionWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from predictor.model.bundle import ModelBundle
from predictor.model.manifest import (
    ARTIFACTS,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    BundleError,
    Manifest,
    OnnxModel,
    sha256_of,
)
from predictor.model.onnx_runtime import VERSIONS as ONNX_VERSIONS
from predictor.model.reference import Reference
from predictor.model.runtime import to_jsonable
from predictor.model.sklearn_runtime import VERSIONS as SKLEARN_VERSIONS
from predictor.model.sklearn_runtime import make_single_process
from tools.build.model_layer import requirements_name, unshipped
from tools.model import boosters, convert_onnx, named_columns
from tools.model.convert_onnx import Tolerance
from tools.model.gate_rows import ProvingRows, ReferenceRows, drawn_rows, evenly_spaced, proving_rows
from tools.model.pickle_imports import modules_referenced
from tools.paths import ROOT

DEFAULT_OUT = ROOT / "layers" / "model" / "model"
ARTIFACT = ARTIFACTS["sklearn"]
ONNX_ARTIFACT = ARTIFACTS["onnx"]


class PackagingError(RuntimeError):
    pass


def train_default() -> tuple[Any, list[str], dict[str, Any], dict[str, Any], ReferenceRows]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_diabetes()
    x, y = np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.float64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    cv_r2 = cross_val_score(model, x_train, y_train, cv=5, scoring="r2")
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "test_r2": round(float(r2_score(y_test, predicted)), 6),
        "test_mae": round(float(mean_absolute_error(y_test, predicted)), 6),
        "test_rmse": round(float(np.sqrt(mean_squared_error(y_test, predicted))), 6),
        "cv5_r2_mean": round(float(cv_r2.mean()), 6),
        "n_train": len(y_train),
        "n_test": len(y_test),
    }
    dataset = {"name": "sklearn.datasets.load_diabetes", "split": "train_test_split(test_size=0.2, random_state=42)"}
    return model, list(data.feature_names), metrics, dataset, (x_test, "the held-out test split")


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


SAVE_AN_ESTIMATOR = "save a fitted scikit-learn estimator or Pipeline with joblib.dump(model, path)"
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


def evaluate(
    estimator: Any, task: str, csv: Path, target: str, names: list[str]
) -> tuple[dict[str, Any], ReferenceRows]:
    """Metrics on the CSV, and its rows (reference rows are taken from them; the parity gate uses them all)."""
    from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

    table = np.genfromtxt(csv, delimiter=",", names=True, dtype=None, encoding="utf-8")
    columns = table.dtype.names or ()
    absent = [c for c in [*names, target] if c not in columns]
    if absent:
        raise PackagingError(f"{csv} has no column(s): {', '.join(absent)}")
    x = np.column_stack([table[name].astype(np.float64) for name in names])
    y = table[target]
    predicted = estimator.predict(x)
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


def make_reference(estimator: Any, task: str, has_probabilities: bool, rows: ProvingRows) -> Reference:
    """The estimator's outputs for the reference rows (rounded to 6 digits) and the stored threshold probes
    (exact), as the manifest stores them."""
    rounded = np.array([[float(f"{v:.6g}") for v in row] for row in rows.base[0]], dtype=np.float64)
    x = np.vstack([rounded, rows.stored_probes])
    source = rows.base[1]
    if rows.probes is not None:
        source += f"; then {len(rows.stored_probes):,} of the parity gate's {rows.probes.summary}"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        predictions = np.asarray(estimator.predict(x))
        if task == "regression":
            finite = np.isfinite(predictions.astype(np.float64)).reshape(len(x), -1).all(axis=1)
            if not finite.any():
                raise PackagingError(f"{describe(estimator)} predicts no finite number for any reference row")
            x, predictions = x[finite], predictions[finite]
        probabilities = to_jsonable(estimator.predict_proba(x)) if has_probabilities else None
    return Reference(source=source, rows=x.tolist(), predictions=to_jsonable(predictions), probabilities=probabilities)


def trained_at() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ModelCard:
    """What the manifest says of the model beyond what the estimator tells by itself."""

    name: str
    version: str | None  # None: the first 12 hex digits of the artifact's sha256
    metrics: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)  # dataset, source: recorded as they are
    eval_rows: ReferenceRows | None = None  # held-out data; None: reference rows drawn within the training range
    runtime: Literal["auto", "onnx", "sklearn"] = "auto"
    tolerance: Tolerance = field(default_factory=Tolerance)  # the ONNX parity gate's


def check_takes_float_arrays(estimator: Any, n_features: int) -> None:
    """The function passes float64 arrays ordered by feature_names; prove the estimator takes them."""
    probe = np.zeros((2, n_features), dtype=np.float64)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            estimator.predict(probe)
    except Exception as exc:  # noqa: BLE001
        raise PackagingError(
            f"{describe(estimator)} cannot predict a float array of {n_features} columns "
            f"({type(exc).__name__}: {exc}). The function sends numeric arrays in the order of the feature names "
            "(a ColumnTransformer's columns selected by name are turned into positions): numeric features only."
        ) from None


def manifest_fields(estimator: Any, task: str, feature_names: list[str], card: ModelCard,
                    rows: ProvingRows) -> dict[str, Any]:  # fmt: skip
    """Every manifest field that does not depend on the artifact's bytes."""
    has_probabilities = task == "classification" and hasattr(estimator, "predict_proba")
    return {
        "format": MANIFEST_FORMAT,
        "name": card.name,
        "task": task,
        "feature_names": feature_names,
        "classes": to_jsonable(estimator.classes_) if task == "classification" else None,
        "has_probabilities": has_probabilities,
        "artifact": ARTIFACT,
        **SKLEARN_VERSIONS,  # the very versions the function checks against
        "python_version": platform.python_version(),
        "trained_at": trained_at(),
        "metrics": card.metrics,
        "estimator": describe(estimator),
        "reference": make_reference(estimator, task, has_probabilities, rows),
        **card.extra,
    }


@dataclass(frozen=True)
class RuntimeChoice:
    """The runtime that will serve, the manifest fields that say so, and how to write its artifact."""

    fields: dict[str, Any]
    write: Callable[[Path], None]
    summary: str


def gate_rows(fields: dict[str, Any], card: ModelCard, rows: ProvingRows) -> convert_onnx.GateRows:
    """The reference rows (with the stored probes), the probes not stored, and the eval data."""
    reference: Reference = fields["reference"]
    parts = [(np.asarray(reference.rows, dtype=np.float64), "the reference rows")]
    if len(unstored := rows.unstored_probes):
        parts.append((unstored, "the threshold probes the manifest does not store"))
    if card.eval_rows is not None:
        parts.append(card.eval_rows)
    return convert_onnx.GateRows(parts, rows.probes, fields["feature_names"])


def choose_runtime(estimator: Any, fields: dict[str, Any], card: ModelCard, rows: ProvingRows) -> RuntimeChoice:
    """ONNX when asked (or ``auto``) and the conversion passes the parity gate; else scikit-learn, saying why."""
    if card.runtime == "sklearn":
        return sklearn_runtime(estimator, "RUNTIME=sklearn")
    if card.eval_rows is None and card.runtime == "auto" and rows.unprovable is not None:
        return fall_back(estimator, rows.unprovable)
    try:
        converted = convert_onnx.convert(
            estimator, len(fields["feature_names"]), fields["task"], fields["has_probabilities"],
            gate_rows(fields, card, rows), card.tolerance,
        )  # fmt: skip
    except convert_onnx.ConversionFailed as exc:
        if card.runtime == "onnx":
            raise PackagingError(
                f"RUNTIME=onnx: {describe(estimator)} cannot be served by ONNX Runtime: {exc}"
            ) from None
        return fall_back(estimator, str(exc))
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


def fall_back(estimator: Any, why: str) -> RuntimeChoice:
    reason = f"auto: ONNX not used ({why})"
    try:
        choice = sklearn_runtime(estimator, reason)
    except PackagingError as exc:
        raise PackagingError(f"{exc}. (ONNX Runtime cannot serve it either: {why})") from None
    print(f"package_model: {describe(estimator)} is served by scikit-learn: {reason}", file=sys.stderr)
    return choice


def sklearn_runtime(estimator: Any, reason: str) -> RuntimeChoice:
    check_layer_ships_its_code(estimator)

    def write(path: Path) -> None:
        joblib.dump(estimator, path)

    return RuntimeChoice({"runtime_choice": reason}, write, "runtime sklearn")


def check_layer_ships_its_code(estimator: Any) -> None:
    """A pickle imports every class and function it names as the function loads it. Code importable here
    (the user's own module) but not in the layer would pass every check below and fail at cold start."""
    referenced = modules_referenced(estimator)
    missing = unshipped(referenced, "sklearn")
    boosters = sorted({module.partition(".")[0] for module in missing} & {"xgboost", "lightgbm"})
    if boosters:
        raise PackagingError(
            f"{describe(estimator)} needs {' and '.join(boosters)}, which the scikit-learn layer does not ship: "
            "XGBoost and LightGBM models are served by ONNX Runtime, when their graph passes the parity gate "
            "(a layer with the library itself is not built yet)"
        )
    if missing:
        names = ", ".join(f"{module}.{name}" for module in missing for name in sorted(referenced[module]))
        raise PackagingError(
            f"{describe(estimator)} refers to {names}, which the model layer does not ship: the function "
            f"would fail to load it. The layer installs only {requirements_name('sklearn')}. Build the model "
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
    """ "float64 input", and where the graph casts to float32 when it does."""
    cast = f", cast to float32 before {info.cast_to_float32_before}" if info.cast_to_float32_before else ""
    return f"{info.input_dtype} input{cast}"


def package(estimator: Any, feature_names: list[str], out: Path, card: ModelCard) -> Manifest:
    """Write the bundle to ``out`` atomically (a staging folder renamed into place)."""
    task = task_of(estimator)
    make_single_process(estimator)
    check_takes_float_arrays(estimator, len(feature_names))
    known = card.eval_rows
    base = evenly_spaced(*known) if known is not None else drawn_rows(estimator, len(feature_names))
    rows = proving_rows(estimator, base)
    fields = manifest_fields(estimator, task, feature_names, card, rows)
    choice = choose_runtime(estimator, fields, card, rows)
    fields.update(choice.fields)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".model-", dir=out.parent))
    try:
        artifact = staging / fields["artifact"]
        choice.write(artifact)
        digest = sha256_of(artifact)
        manifest = Manifest(
            **fields, version=card.version or digest[:12], sha256=digest, size_bytes=artifact.stat().st_size
        )
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest.model_dump(exclude_none=True), indent=2) + "\n")
        ModelBundle.load(staging)  # the function's own cold-start checks, reference rows included
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BundleError as exc:
        raise PackagingError(f"the bundle does not load as the function would load it: {exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    print(f"package_model: {choice.summary}")
    return manifest


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--estimator", type=Path,
        help="a fitted estimator or pipeline (joblib file), or a booster saved with save_model (XGBoost .json/.ubj, "
        "LightGBM .txt)",
    )  # fmt: skip
    parser.add_argument("--feature-names", help="comma-separated, when the estimator has no feature_names_in_")
    parser.add_argument("--name", help="model name (default: diabetes-ridge, or the estimator file's stem)")
    parser.add_argument("--version", help="model version (default: first 12 hex digits of the sha256)")
    parser.add_argument("--eval-csv", type=Path, help="CSV with a header row to compute metrics on")
    parser.add_argument("--target", help="target column of --eval-csv")
    parser.add_argument(
        "--runtime", choices=["auto", "onnx", "sklearn"], default="auto",
        help="auto (default): ONNX Runtime when conversion passes the parity gate, else scikit-learn",
    )  # fmt: skip
    parser.add_argument("--parity-rtol", type=float, default=convert_onnx.PARITY_RTOL, help="regression tolerance")
    parser.add_argument(
        "--parity-probability-atol", type=float, default=convert_onnx.PARITY_PROBABILITY_ATOL,
        help="classification: largest difference allowed in a probability",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"bundle directory (default: {DEFAULT_OUT})")
    return parser


def check_same_answers(original: Any, positional: Any, names: list[str], eval_rows: ReferenceRows | None) -> None:
    """The copy that selects columns by position answers exactly as the original does on a DataFrame."""
    rows = drawn_rows(positional, len(names))[0]
    if eval_rows is not None:
        rows = np.vstack([rows, eval_rows[0]])
    if (why := named_columns.differs(original, positional, rows, names)) is not None:
        raise PackagingError(f"{describe(original)}: its ColumnTransformer selects columns by name, and {why}")


def what_to_package(args: argparse.Namespace) -> tuple[Any, list[str], ModelCard]:
    """The estimator (the default model, trained here, or the user's), its feature names and its card."""
    given = [n.strip() for n in args.feature_names.split(",")] if args.feature_names else None
    if given is not None and (any(not n for n in given) or len(set(given)) != len(given)):
        raise PackagingError(f"FEATURE_NAMES must be distinct and non-empty, got {args.feature_names!r}")
    tolerance = Tolerance(args.parity_rtol, args.parity_probability_atol)
    if args.estimator is None:
        if given is not None or args.eval_csv:
            raise PackagingError("--feature-names and --eval-csv apply only with --estimator")
        estimator, names, metrics, dataset, held_out = train_default()
        extra = {"dataset": dataset, "source": "trained by package-model (tools/model/package_model.py)"}
        card = ModelCard(args.name or "diabetes-ridge", args.version, metrics, extra, held_out, args.runtime, tolerance)
        return estimator, names, card
    estimator = load_user_estimator(args.estimator)
    task = task_of(estimator)
    if given is None and args.estimator.suffix.lower() in boosters.SUFFIXES and not recorded_names(estimator):
        raise PackagingError(
            f"{args.estimator.name} records no feature names: give them, in the booster's column order "
            "(FEATURE_NAMES=a,b,c)"
        )
    names = resolve_feature_names(estimator, given)
    original, estimator = estimator, named_columns.positional(estimator) or estimator
    eval_rows: ReferenceRows | None = None
    if args.eval_csv:
        if not args.target:
            raise PackagingError("--eval-csv needs --target COLUMN")
        metrics, eval_rows = evaluate(estimator, task, args.eval_csv, args.target, names)
    else:
        metrics = {"note": "not evaluated: pass --eval-csv FILE --target COLUMN (make model EVAL_CSV=...)"}
    if estimator is not original:
        check_same_answers(original, estimator, names, eval_rows)
    extra = {"source": f"packaged from {args.estimator.name}"}
    card = ModelCard(args.name or args.estimator.stem, args.version, metrics, extra, eval_rows, args.runtime, tolerance)
    return estimator, names, card


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    try:
        estimator, names, card = what_to_package(args)
        manifest = package(estimator, names, args.out, card)
    except PackagingError as exc:
        print(f"package_model: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.out}: {manifest.name} {manifest.version} ({manifest.task}, "
        f"{manifest.n_features} features, sha256 {manifest.sha256[:12]}...)"
    )
    print(f"metrics: {json.dumps(manifest.metrics)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
