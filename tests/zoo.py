"""The model zoo: estimators a user might bring, each trained reproducibly on small data, split into train /
eval / held-out rows, and packaged with `make model`'s default (``RUNTIME=auto``) by the project's own packager.

The functional tests serve each bundle in process (tests/functional/test_model_zoo.py), the integration tests
through `sam local invoke` (tests/integration/test_model_zoo_sam.py); both compare the answers with the
estimator's own ``predict``/``predict_proba`` on the held-out rows, which are neither reference rows nor eval
rows, within the bundle's own tolerance (``manifest.json: reference.rtol/atol``).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier, LGBMRegressor
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris, load_wine, make_friedman1
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from xgboost import XGBClassifier, XGBRegressor

from predictor.settings import DEFAULT_MAX_BATCH_ROWS
from tests.utils import assert_labels_equal, assert_predictions_close
from tools.model import package_model
from tools.model.gate.convert_onnx import PARITY_PROBABILITY_ATOL, PARITY_RTOL

Data = tuple[np.ndarray, np.ndarray]


def diabetes() -> Data:
    data = load_diabetes()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.float64)


def wine() -> Data:  # 13 features, 3 classes named by strings
    data = load_wine()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target_names[data.target])


def iris() -> Data:  # 4 features, 3 classes named by strings
    data = load_iris()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target_names[data.target])


def diabetes_coded() -> Data:  # the diabetes data with its sex column as the codes 1 and 2, as a CSV would hold it
    x, y = diabetes()
    x[:, 1] = np.where(x[:, 1] > 0, 2.0, 1.0)
    return x, y


def one_hot_pipeline(categories: Any) -> Any:
    """Column 1 (codes) one-hot encoded, the others scaled, then a ridge regression."""
    scaled = [0, *range(2, 10)]
    encode = ColumnTransformer([("code", OneHotEncoder(categories=categories, handle_unknown="ignore"), [1]),
                                ("scale", StandardScaler(), scaled)])  # fmt: skip
    return make_pipeline(encode, Ridge())


def friedman() -> Data:  # 5 features recorded to 3 decimals, as a CSV export would hold them
    x, y = make_friedman1(n_samples=300, n_features=5, noise=0.5, random_state=0)
    return x.round(3), y


def housing() -> Data:
    """10,000 houses, as a data scientist's table holds them, rounded to cents: income 20,000-200,000, age,
    rooms, latitude, longitude; a price of about 50,000-400,000. The 20 % held out are the 2,000 real rows
    each model is checked on (issue: a scaler + forest served wrong answers on rows like these)."""
    rng = np.random.default_rng(7)
    n = 10_000
    income = rng.uniform(20_000, 200_000, n)
    age, rooms = rng.integers(1, 80, n).astype(float), rng.integers(1, 10, n).astype(float)
    lat, lon = rng.uniform(32.5, 42.0, n), rng.uniform(-124.3, -114.3, n)
    price = 50_000 + 1.2 * income + 3_000 * rooms - 800 * age + 5_000 * np.sin(lat) + 4_000 * np.cos(lon)
    x = np.column_stack([income, age, rooms, lat, lon]).round(2)
    return x, (price + rng.normal(0, 20_000, n)).round(2)


HOUSING_COLUMNS = ("income", "age", "rooms", "latitude", "longitude")


def housing_bands() -> Data:  # the same houses, the price as one of three named bands
    x, price = housing()
    return x, np.asarray(["low", "mid", "high"])[np.digitize(price, np.quantile(price, [1 / 3, 2 / 3]))]


def housing_band_codes() -> Data:  # the bands as the codes 0, 1, 2: XGBClassifier takes encoded labels only
    x, price = housing()
    return x, np.digitize(price, np.quantile(price, [1 / 3, 2 / 3]))


def scaled_and_passed(final: Any) -> Any:
    """A ColumnTransformer by index: two columns standardised, two min-max scaled, one passed through
    (so the trees see the columns reordered), then ``final``."""
    columns = ColumnTransformer([("scale", StandardScaler(), [0, 2]), ("range", MinMaxScaler(), [3, 4])],
                                remainder="passthrough")  # fmt: skip
    return make_pipeline(columns, final)


@dataclass(frozen=True)
class Case:
    """One estimator of the zoo, its data, and where `make model` (RUNTIME=auto) must put it."""

    name: str
    make: Callable[[], Any]  # the unfitted estimator
    data: Callable[[], Data]
    runtime: str  # what auto must choose: "onnx", or a native runtime ("sklearn", "xgboost", "lightgbm")
    dtype: str | None = None  # ONNX graph input: "float64" (every model here; "float32" is a last resort)
    cast: str | None = None  # the step before which the graph casts to float32 (scikit-learn's trees), if any
    eval_csv: bool = True  # package with EVAL_CSV (the eval split) or without (reference rows drawn)
    reason: tuple[str, ...] = ()  # a fallback: words its printed reason must hold
    saved_as: str = "joblib"  # or a booster's own format, saved with its save_model: "json", "ubj", "txt"
    columns: tuple[str, ...] = ()  # fitted on a DataFrame with these columns (the feature names), else on an array


CASES = [
    Case("linear", lambda: make_pipeline(StandardScaler(), LinearRegression()), diabetes, "onnx", "float64"),
    Case("one-hot-encoder", lambda: one_hot_pipeline([[1, 2]]), diabetes_coded, "onnx", "float64"),
    Case("logistic-strings", lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), wine,
         "onnx", "float64"),
    Case("random-forest", lambda: RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0), diabetes,
         "onnx", "float64", "randomforestregressor"),
    # No EVAL_CSV: scikit-learn compares a forest's inputs as float32, and so does the graph after its cast.
    Case("random-forest-classifier", lambda: RandomForestClassifier(n_estimators=100, random_state=0), wine,
         "onnx", "float64", "randomforestclassifier", eval_csv=False),
    Case("gradient-boosting", lambda: GradientBoostingClassifier(n_estimators=50, random_state=0), iris,
         "onnx", "float64", "gradientboostingclassifier", eval_csv=False),
    Case("hist-gradient-boosting-classifier", lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
         wine, "onnx", "float64"),
    Case("hist-gradient-boosting-regressor", lambda: HistGradientBoostingRegressor(max_iter=50, random_state=0),
         friedman, "onnx", "float64", eval_csv=False),
    Case("knn-regressor", lambda: make_pipeline(StandardScaler(), KNeighborsRegressor(5)), diabetes,
         "onnx", "float64"),
    Case("knn-classifier", lambda: KNeighborsClassifier(5), iris, "onnx", "float64"),
    # HistGradientBoosting compares float64 inputs with float64 thresholds: a float32 graph takes other branches
    # on 2 of these 89 eval rows (3 % off); the graph with the estimator's float64 thresholds does not.
    Case("hist-gradient-boosting-regressor-float64-thresholds",
         lambda: HistGradientBoostingRegressor(max_iter=50, random_state=0), diabetes, "onnx", "float64"),
    # Pipelines as data scientists write them, over features in the thousands, packaged without EVAL_CSV: the gate
    # probes both sides of the trees' split thresholds through the scalers.
    Case("scaler-random-forest", lambda: make_pipeline(StandardScaler(), RandomForestRegressor(
        n_estimators=50, min_samples_leaf=3, random_state=0)), housing, "onnx", "float64", "randomforestregressor",
        eval_csv=False),
    Case("scaler-gradient-boosting-classifier", lambda: make_pipeline(StandardScaler(), GradientBoostingClassifier(
        n_estimators=50, random_state=0)), housing_bands, "onnx", "float64", "gradientboostingclassifier",
        eval_csv=False),
    Case("minmax-extra-trees", lambda: make_pipeline(MinMaxScaler(), ExtraTreesRegressor(
        n_estimators=50, min_samples_leaf=3, random_state=0)), housing, "onnx", "float64", "extratreesregressor",
        eval_csv=False),
    Case("column-transformer-hist-gradient-boosting", lambda: scaled_and_passed(HistGradientBoostingRegressor(
        max_iter=100, random_state=0)), housing, "onnx", "float64", eval_csv=False),
    # XGBoost compares float32 inputs with float32 split conditions (x < split goes left): the graph casts where
    # XGBoost does, and the probes sit on both sides of its strict comparisons.
    Case("xgboost-regressor", lambda: XGBRegressor(n_estimators=300, random_state=0), housing, "onnx", "float64",
         "xgbregressor", eval_csv=False),
    Case("scaler-xgboost-classifier", lambda: make_pipeline(StandardScaler(), XGBClassifier(
        n_estimators=100, random_state=0)), housing_band_codes, "onnx", "float64", "xgbclassifier", eval_csv=False),
    # LightGBM compares float64 inputs with float64 thresholds: the graph carries its thresholds in float64.
    Case("lightgbm-regressor", lambda: LGBMRegressor(n_estimators=300, random_state=0, verbose=-1), housing, "onnx",
         "float64", eval_csv=False),
    Case("scaler-lightgbm-classifier", lambda: make_pipeline(StandardScaler(), LGBMClassifier(
        n_estimators=100, random_state=0, verbose=-1)), housing_bands, "onnx", "float64", eval_csv=False),
    # Boosters saved with their library's own save_model, as many training scripts leave them: the task from the
    # objective, the classes 0..k-1.
    Case("xgboost-booster-json", lambda: XGBRegressor(n_estimators=100, random_state=0), housing, "onnx",
         "float64", "xgbregressor", eval_csv=False, saved_as="json"),
    Case("lightgbm-booster-txt", lambda: LGBMClassifier(n_estimators=100, random_state=0, verbose=-1),
         housing_band_codes, "onnx", "float64", eval_csv=False, saved_as="txt"),
    # A one-hot encoder before the trees cannot be inverted to reach their thresholds: without real rows, auto
    # keeps scikit-learn and asks for them.
    Case("one-hot-random-forest", lambda: make_pipeline(ColumnTransformer(
        [("code", OneHotEncoder(handle_unknown="ignore"), [2])], remainder="passthrough"),
        RandomForestRegressor(n_estimators=20, min_samples_leaf=3, random_state=0)), housing, "sklearn",
        eval_csv=False, reason=("split thresholds cannot be probed through the preprocessing", "EVAL_CSV")),
    # Categories learned from non-integer values (the raw sex column, +-0.0446...): skl2onnx's encoder takes integer
    # or string categories only.
    Case("one-hot-encoder-non-integer-categories", lambda: one_hot_pipeline("auto"), diabetes, "sklearn",
         reason=("skl2onnx cannot convert it", "only supports string and int64 categories")),
    Case("function-transformer", lambda: make_pipeline(FunctionTransformer(np.log1p), LinearRegression()), diabetes,
         "sklearn", reason=("skl2onnx cannot convert it", "FunctionTransformer is not supported")),
    # XGBoost fitted on a DataFrame: its trees name the columns, which onnxmltools cannot read; converted unnamed.
    Case("xgboost-dataframe", lambda: XGBRegressor(n_estimators=100, random_state=0), housing, "onnx", "float64",
         "xgbregressor", eval_csv=False, columns=HOUSING_COLUMNS),
    # Served by their own library: the gate refuses the graph, or there is none.
    Case("lightgbm-linear-tree", lambda: LGBMRegressor(n_estimators=50, linear_tree=True, random_state=0, verbose=-1),
         housing, "lightgbm", eval_csv=False,
         reason=("parity gate: relative error", "LightGBM linear_tree=True: its leaves are linear models")),
    Case("xgboost-categorical-splits", lambda: XGBRegressor(
        n_estimators=100, enable_categorical=True, feature_types=["q", "q", "c", "q", "q"], max_cat_to_onehot=1,
        random_state=0), housing, "xgboost", eval_csv=False, reason=("parity gate: relative error",)),
    Case("xgboost-gblinear", lambda: XGBRegressor(booster="gblinear", n_estimators=50, random_state=0), housing,
         "xgboost", reason=("skl2onnx cannot convert it", "gblinear")),
]  # fmt: skip


@dataclass(frozen=True)
class ZooModel:
    """A zoo estimator, fitted, saved, packaged; and the rows it was not packaged with."""

    case: Case
    estimator: Any
    estimator_path: Path  # the joblib file, as a user hands it to `make model MODEL=...`
    eval_csv: Path
    feature_names: list[str]
    bundle: Path
    held_out: np.ndarray  # neither trained on, nor eval data, nor reference rows
    exit_code: int
    stdout: str
    stderr: str

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.bundle / "manifest.json").read_text())  # type: ignore[no-any-return]


def split(case: Case) -> tuple[Data, Data, Data]:
    """60 % train, 20 % eval, 20 % held out; stratified for classifiers (every class in every part)."""
    x, y = case.data()
    stratify = y if y.dtype.kind in "USO" else None
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, test_size=0.4, random_state=0, stratify=stratify)
    stratify = y_rest if stratify is not None else None
    x_eval, x_held, y_eval, y_held = train_test_split(x_rest, y_rest, test_size=0.5, random_state=0, stratify=stratify)
    return (x_train, y_train), (x_eval, y_eval), (x_held, y_held)


def write_csv(path: Path, names: list[str], data: Data) -> Path:
    x, y = data
    lines = [",".join([*names, "target"])]
    lines += [",".join([*(repr(float(v)) for v in row), str(label)]) for row, label in zip(x, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def package(args: list[str]) -> tuple[int, str, str]:
    """`package-model ARGS` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = package_model.main(args)
    return code, out.getvalue(), err.getvalue()


def save(estimator: Any, path: Path) -> None:
    """As a user hands the model over: joblib.dump, or the booster's own save_model (XGBoost, LightGBM)."""
    if path.suffix == ".joblib":
        joblib.dump(estimator, path)
    elif path.suffix == ".txt":
        estimator.booster_.save_model(str(path))
    else:
        estimator.get_booster().save_model(str(path))


def build(case: Case, where: Path) -> ZooModel:
    train, evaluation, held = split(case)
    names = list(case.columns) or [f"f{i}" for i in range(train[0].shape[1])]
    x_train = pd.DataFrame(train[0], columns=names) if case.columns else train[0]
    estimator = case.make().fit(x_train, train[1])
    where.mkdir(parents=True)
    estimator_path = where / f"{case.name}.{case.saved_as}"
    save(estimator, estimator_path)
    eval_csv = write_csv(where / "eval.csv", names, evaluation)
    args = ["--estimator", str(estimator_path), "--feature-names", ",".join(names), "--out", str(where / "model")]
    if case.eval_csv:
        args += ["--eval-csv", str(eval_csv), "--target", "target"]
    code, stdout, stderr = package(args)
    return ZooModel(case, estimator, estimator_path, eval_csv, names, where / "model", held[0], code, stdout, stderr)


def build_zoo(where: Path) -> dict[str, ZooModel]:
    return {case.name: build(case, where / case.name) for case in CASES}


def assert_answers_match(model: ZooModel, answer: dict[str, Any], rows: np.ndarray) -> None:
    """A /predict batch answer for ``rows`` equals the estimator's own predict (and predict_proba) within the
    bundle's tolerance; class labels identical, probabilities in the order of the manifest's classes."""
    estimator, served = model.estimator, answer["predictions"]
    if model.manifest["task"] == "regression":
        assert_predictions_close(served, estimator.predict(rows), model.bundle)
        return
    assert_labels_equal(served, estimator.predict(rows))
    assert answer["classes"] == model.manifest["classes"] == estimator.classes_.tolist()
    assert_predictions_close(answer["probabilities"], estimator.predict_proba(rows), model.bundle)


def batches(rows: np.ndarray) -> list[np.ndarray]:
    """The rows in batches the function takes (MAX_BATCH_ROWS: 1,000 by default)."""
    return [rows[start : start + DEFAULT_MAX_BATCH_ROWS] for start in range(0, len(rows), DEFAULT_MAX_BATCH_ROWS)]


def assert_not_reference_rows(model: ZooModel) -> None:
    """The held-out rows are not among the bundle's reference rows (stored rounded to 6 significant digits)."""
    stored = {tuple(row) for row in model.manifest["reference"]["rows"]}
    rounded = {tuple(float(f"{v:.6g}") for v in row) for row in model.held_out}
    assert not stored & rounded, "a held-out row is a reference row"


def disagreement(model: ZooModel, predictions: Any, probabilities: Any) -> tuple[int, str]:
    """Held-out rows outside the parity gate's rule, and the worst figure, of answers against the estimator's."""
    rows, estimator = model.held_out, model.estimator
    if model.manifest["task"] == "regression":
        want = estimator.predict(rows)
        got = np.asarray(predictions, dtype=np.float64).reshape(want.shape)
        relative = np.abs(got - want) / (np.abs(want) + np.mean(np.abs(want)))
        return int((relative > PARITY_RTOL).sum()), f"{float(np.max(relative)):.2g} relative"
    labels = np.asarray(predictions, dtype=object) == np.asarray(estimator.predict(rows), dtype=object)
    gap = np.max(np.abs(np.asarray(probabilities, dtype=np.float64) - estimator.predict_proba(rows)), axis=1)
    wrong = int((~labels | (gap > PARITY_PROBABILITY_ATOL)).sum())
    return wrong, f"labels {int(labels.sum()):,}/{len(rows):,} identical, probabilities {float(np.max(gap)):.2g}"


def float32_graph_rows_off(model: ZooModel) -> str:
    """How many held-out rows the all-float32 graph (what tree models were served with before) answers outside
    the gate's rule: '' for a model that is not a tree ensemble served by ONNX Runtime."""
    from predictor.model.manifest import OnnxModel, Parity
    from predictor.model.onnx_runtime import OnnxRuntimeModel
    from tools.model.gate.convert_onnx import GateRows, to_onnx
    from tools.model.gate.onnx_precision import FLOAT32

    manifest = model.manifest
    if "parity" not in manifest.get("onnx", {}) or not manifest["onnx"]["parity"].get("splits_probed"):
        return ""
    rows = GateRows([], feature_names=model.feature_names)
    graph, names = to_onnx(model.estimator, rows, manifest["task"], FLOAT32)
    info = OnnxModel(input_name="input", input_dtype="float32", parity=Parity(rows=1, sources=["-"]), **names)
    served = OnnxRuntimeModel(graph, info, manifest["task"], manifest["has_probabilities"]).predict(model.held_out)
    return f"{disagreement(model, served.predictions, served.probabilities)[0]:,}"


def table_row(model: ZooModel) -> str:
    """One markdown row: the estimator, its runtime, where its graph casts, the probes, and the held-out rows
    outside the gate's rule: served by the bundle's runtime, and by the all-float32 graph of before."""
    from predictor.model.bundle import ModelBundle

    manifest, case = model.manifest, model.case
    served = ModelBundle.load(model.bundle).predict(model.held_out)
    onnx = manifest.get("onnx") or {}
    parity = onnx.get("parity", {})
    probes = f"{parity['splits_probed']:,} of {parity['splits_total']:,}" if parity.get("splits_probed") else ""
    cast = f"before `{onnx['cast_to_float32_before']}`" if onnx.get("cast_to_float32_before") else ""
    cast = cast or ("none: float64" if onnx else "")
    off, worst = disagreement(model, served.predictions, served.probabilities)
    source = "EVAL_CSV" if case.eval_csv else "no EVAL_CSV"
    return (
        f"| {case.name} | {manifest['estimator']} | {source} | {manifest['runtime']} | {cast} | {probes} "
        f"| {len(model.held_out):,} | {off} ({worst}) | {float32_graph_rows_off(model)} |"
    )


if __name__ == "__main__":  # python -m tests.zoo: the zoo's table for docs/model-bundle.md
    import tempfile

    with tempfile.TemporaryDirectory() as where:
        print("| case | estimator | packaged with | runtime | graph casts to float32 | splits probed | held-out rows "
              "| rows outside the tolerance (worst) | all-float32 graph: rows outside |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        with contextlib.redirect_stderr(io.StringIO()):
            built = build_zoo(Path(where))
        for zoo_model in built.values():
            print(table_row(zoo_model))
