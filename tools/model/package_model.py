"""Write a model bundle for the model layer: ``manifest.json`` and the artifact of the runtime that serves it,
``model.onnx`` (ONNX Runtime, when the graph passes the parity gate: tools/model/gate/convert_onnx.py) or
``model.joblib`` (scikit-learn).

    package-model                         # train the default model (make model)
    package-model --estimator est.joblib  # package your own fitted estimator
        [--feature-names a,b,c] [--name NAME] [--version V] [--eval-csv data.csv --target y]

Run it in the project's virtualenv (``make model`` does): the manifest records this interpreter's
scikit-learn, numpy, scipy and joblib versions, which are the versions pinned in
``layers/model/requirements.txt`` and therefore the versions the layer ships.

The default model is trained reproducibly on scikit-learn's bundled diabetes dataset (10 features,
regression): the same library versions give the same artifact bytes and sha256 on the same kind of CPU. Another CPU
can give another version: numpy's BLAS and LAPACK pick their kernels by CPU, and fitted coefficients can differ in
their last bits (seen: b618488aaffa on one x86_64 machine, 9839c69f792c on another, with the same answer to the
README's row to every printed digit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from predictor.model.bundle import ModelBundle
from predictor.model.features import Features
from predictor.model.manifest import (
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    BundleError,
    Categorical,
    Manifest,
    sha256_of,
)
from predictor.model.native_runtime import VERSIONS as SKLEARN_VERSIONS
from predictor.model.native_runtime import make_single_process, one_thread
from predictor.model.reference import Reference
from predictor.model.runtime import to_jsonable
from tools.model import boosters, named_columns
from tools.model.card import ModelCard, describe, task_of
from tools.model.default_model import train_default
from tools.model.errors import PackagingError
from tools.model.feature_types import as_fitted, categorical_features, typed_rows
from tools.model.gate import convert_onnx
from tools.model.gate.convert_onnx import Tolerance
from tools.model.gate.gate_rows import (
    ProvingRows,
    ReferenceRows,
    drawn_rows,
    evenly_spaced,
    proving_rows,
)
from tools.model.pickle_imports import modules_referenced
from tools.model.runtime_choice import boosting_versions, choose_runtime
from tools.model.user_model import (
    evaluate,
    load_user_estimator,
    recorded_names,
    resolve_feature_names,
)
from tools.paths import ROOT

DEFAULT_OUT = ROOT / "layers" / "model" / "model"


def make_reference(estimator: Any, task: str, has_probabilities: bool, rows: ProvingRows,
                   features: Features) -> Reference:  # fmt: skip
    """The estimator's outputs for the reference rows (rounded to 6 digits) and the stored threshold probes
    (exact), as the manifest stores them: its own answers, on the rows as it was fitted on them (as_fitted)."""
    rounded = np.array([[rounded_value(v) for v in row] for row in rows.base[0]], dtype=rows.base[0].dtype)
    x = np.vstack([rounded, rows.stored_probes]) if len(rows.stored_probes) else rounded
    source = rows.base[1]
    if rows.probes is not None:
        source += f"; then {len(rows.stored_probes):,} of the parity gate's {rows.probes.summary}"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        own = as_fitted(x, features.names, features.categorical)  # an array, or a DataFrame: both take a row mask
        predictions = np.asarray(estimator.predict(own))
        if task == "regression":
            finite = np.isfinite(predictions.astype(np.float64)).reshape(len(x), -1).all(axis=1)
            if not finite.any():
                raise PackagingError(f"{describe(estimator)} predicts no finite number for any reference row")
            x, own, predictions = x[finite], own[finite], predictions[finite]
        probabilities = to_jsonable(estimator.predict_proba(own)) if has_probabilities else None
    return Reference(source=source, rows=x.tolist(), predictions=to_jsonable(predictions), probabilities=probabilities)


def rounded_value(value: Any) -> Any:
    """A reference row's value as stored: a number to 6 significant digits, a category as it is."""
    return value if isinstance(value, str) else float(f"{value:.6g}")


def trained_at() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def check_takes_rows(estimator: Any, features: Features) -> None:
    """The function passes arrays ordered by feature_names (float64; object with strings in the categorical
    features' columns; a booster's own categories as their codes): prove the estimator takes them."""
    names = features.names
    probe = typed_rows(np.zeros((2, len(names)), dtype=np.float64), names, features.categorical)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            estimator.predict(features.matrix(probe.tolist()))
    except Exception as exc:  # noqa: BLE001
        raise PackagingError(
            f"{describe(estimator)} cannot predict an array of {len(names)} columns "
            f"({type(exc).__name__}: {exc}). The function sends arrays in the order of the feature names (a "
            "ColumnTransformer's columns selected by name are turned into positions): numbers, and strings only "
            "for features that a OneHotEncoder or OrdinalEncoder learnt strings for."
        ) from None


def manifest_fields(estimator: Any, task: str, features: Features, card: ModelCard,
                    rows: ProvingRows) -> dict[str, Any]:  # fmt: skip
    """Every manifest field that does not depend on the artifact's bytes."""
    has_probabilities = task == "classification" and hasattr(estimator, "predict_proba")
    return {
        "format": MANIFEST_FORMAT,
        "name": card.name,
        "task": task,
        "feature_names": features.names,
        "categorical": features.categorical or None,
        "classes": to_jsonable(estimator.classes_) if task == "classification" else None,
        "has_probabilities": has_probabilities,
        **SKLEARN_VERSIONS,  # the very versions the function checks against
        "python_version": platform.python_version(),
        "trained_at": trained_at(),
        "metrics": card.metrics,
        "estimator": describe(estimator),
        "reference": make_reference(estimator, task, has_probabilities, rows, features),
        **card.extra,
    }


def drawn(estimator: Any, names: list[str], categorical: dict[str, Categorical]) -> ReferenceRows:
    """Rows drawn within the training range the estimator records, the categorical features' categories in turn."""
    numbers, source = drawn_rows(estimator, len(names))
    if not categorical:
        return numbers, source
    return typed_rows(numbers, names, categorical), f"{source}; each categorical feature's categories in turn"


def check_same_answers(original: Any, positional: Any, names: list[str], rows: np.ndarray) -> None:
    """The copy that selects columns by position answers exactly as the original does on a DataFrame."""
    if (why := named_columns.differs(original, positional, rows, names)) is not None:
        raise PackagingError(f"{describe(original)}: its ColumnTransformer selects columns by name, and {why}")


def package(estimator: Any, feature_names: list[str], out: Path, card: ModelCard) -> Manifest:
    """Write the bundle to ``out`` atomically (a staging folder renamed into place)."""
    task = task_of(estimator)
    make_single_process(estimator)
    one_thread()  # as the function predicts, and not slowed by threads waiting for each other
    categorical = categorical_features(estimator, feature_names)
    features = Features(feature_names, categorical)
    check_takes_rows(estimator, features)
    known = card.eval_rows
    base = evenly_spaced(*known) if known is not None else drawn(estimator, feature_names, categorical)
    if card.original is not None:
        # on the eval data when given (the reference rows are a few of them), else on the drawn rows
        check_same_answers(card.original, estimator, feature_names, known[0] if known is not None else base[0])
    rows = proving_rows(estimator, base)
    fields = manifest_fields(estimator, task, features, card, rows)
    referenced = modules_referenced(estimator)  # pickles the estimator into nothing: once
    fields.update(boosting_versions(referenced))
    choice = choose_runtime(estimator, fields, card, rows, referenced)
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
        "--runtime", choices=["auto", "onnx", "native", "sklearn"], default="auto",
        help="auto (default): ONNX Runtime when conversion passes the parity gate, else the model's own library "
        "(native: scikit-learn, XGBoost or LightGBM; sklearn is native's former name)",
    )  # fmt: skip
    parser.add_argument("--parity-rtol", type=float, default=convert_onnx.PARITY_RTOL, help="regression tolerance")
    parser.add_argument(
        "--parity-probability-atol", type=float, default=convert_onnx.PARITY_PROBABILITY_ATOL,
        help="classification: largest difference allowed in a probability",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"bundle directory (default: {DEFAULT_OUT})")
    return parser


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
    extra = {"source": f"packaged from {args.estimator.name}"}
    card = ModelCard(
        args.name or args.estimator.stem, args.version, metrics, extra, eval_rows, args.runtime, tolerance,
        original if estimator is not original else None,
    )  # fmt: skip
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
