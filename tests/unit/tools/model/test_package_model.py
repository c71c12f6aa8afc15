"""Packaging a user's estimator: feature names, task, and the errors that stop a bad bundle early."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn.base
from fastapi.testclient import TestClient
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from tests.utils import assert_predictions_close, make_app
from tools.model import package_model


def run(*args: str) -> int:
    return package_model.main(list(args))


def dump(obj: object, path: Path) -> str:
    joblib.dump(obj, path)
    return str(path)


def fitted_regressor(n: int = 3) -> LinearRegression:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, n))
    return LinearRegression().fit(x, x @ np.arange(1, n + 1))


def test_default_training_is_reproducible(tmp_path: Path) -> None:
    assert run("--out", str(tmp_path / "a")) == 0
    assert run("--out", str(tmp_path / "b")) == 0
    a = json.loads((tmp_path / "a" / "manifest.json").read_text())
    b = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert a["sha256"] == b["sha256"]
    assert a["version"] == a["sha256"][:12]
    assert a["runtime"] == "onnx"
    assert (tmp_path / "a" / "model.onnx").read_bytes() == (tmp_path / "b" / "model.onnx").read_bytes()


def test_feature_names_default_to_x0_xn(tmp_path: Path) -> None:
    est = dump(fitted_regressor(3), tmp_path / "lin.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["feature_names"] == ["x0", "x1", "x2"]
    assert manifest["name"] == "lin"
    assert manifest["task"] == "regression"


def test_feature_names_in_wins_and_must_agree(tmp_path: Path) -> None:
    model = fitted_regressor(2)
    model.feature_names_in_ = np.array(["height", "weight"], dtype=object)
    est = dump(model, tmp_path / "named.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 0
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["feature_names"] == ["height", "weight"]
    assert run("--estimator", est, "--feature-names", "a,b", "--out", str(tmp_path / "n")) == 2


def test_classifier_records_classes_and_metrics_from_eval_csv(tmp_path: Path) -> None:
    data = load_iris()
    clf = LogisticRegression(max_iter=500).fit(data.data, data.target)
    est = dump(clf, tmp_path / "clf.joblib")
    csv = tmp_path / "eval.csv"
    header = "a,b,c,d,label"
    np.savetxt(csv, np.column_stack([data.data, data.target]), delimiter=",", header=header, comments="")
    args = ["--estimator", est, "--feature-names", "a,b,c,d", "--eval-csv", str(csv), "--target", "label"]
    assert run(*args, "--out", str(tmp_path / "m")) == 0
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["task"] == "classification"
    assert manifest["classes"] == [0, 1, 2]
    assert manifest["has_probabilities"] is True
    assert manifest["metrics"]["eval_accuracy"] > 0.9
    assert manifest["metrics"]["n_eval"] == 150
    reference = manifest["reference"]
    assert reference["source"] == "the eval data eval.csv: 32 of 150 rows, evenly spaced"
    assert reference["rows"][0] == data.data[0].tolist()
    assert reference["rows"][-1] == data.data[-1].tolist()
    assert reference["predictions"] == clf.predict(np.array(reference["rows"])).tolist()
    assert reference["probabilities"] == clf.predict_proba(np.array(reference["rows"])).tolist()


def test_reference_rows_are_drawn_within_the_range_the_estimator_records(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    forest = RandomForestRegressor(n_estimators=3, max_depth=4, random_state=0).fit(x, y)
    est = dump(forest, tmp_path / "forest.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 0
    reference = json.loads((tmp_path / "m" / "manifest.json").read_text())["reference"]
    assert reference["source"].startswith("drawn uniformly within the training range (RandomForestRegressor split")
    assert reference["source"].endswith("then 88 of the parity gate's 88 rows on both sides of 44 split thresholds")
    every = np.array(reference["rows"])
    assert every.shape == (
        32 + 88,
        10,
    )  # the drawn rows, then the threshold probes (tests/unit/tools/model/test_tree_probes.py)
    assert reference["predictions"] == forest.predict(every).tolist()
    rows = every[:32]
    used = np.unique(np.concatenate([t.tree_.feature[t.tree_.feature >= 0] for t in forest.estimators_]))
    low, high = x.min(axis=0)[used], x.max(axis=0)[used]  # a feature no tree splits on can take any value
    assert (rows[:, used] >= low - 0.2 * (high - low)).all()
    assert (rows[:, used] <= high + 0.2 * (high - low)).all()


def test_reference_rows_without_any_known_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    est = dump(fitted_regressor(3), tmp_path / "lin.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 0
    reference = json.loads((tmp_path / "m" / "manifest.json").read_text())["reference"]
    assert reference["source"] == "drawn uniformly within the training range (training range unknown: [-1, 1])"
    assert np.abs(reference["rows"]).max() <= 1.0
    assert "EVAL_CSV=... gives rows from real data" in capsys.readouterr().err


def test_wide_models_store_fewer_reference_rows(tmp_path: Path) -> None:
    est = dump(fitted_regressor(2_000), tmp_path / "wide.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 0
    assert len(json.loads((tmp_path / "m" / "manifest.json").read_text())["reference"]["rows"]) == 10


# The function ignores this warning from import on (predictor/model/bundle.py); pytest's "error" filter, set anew
# for each test, would otherwise win over that.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
def test_pipeline_fitted_on_a_dataframe_packages_and_serves(tmp_path: Path) -> None:
    """The usual first model: fitted on a pandas DataFrame, whose columns become feature_names_in_."""
    x, y = load_iris(as_frame=True, return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    est = dump(model, tmp_path / "iris-frame.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 0  # no FEATURE_NAMES given
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["feature_names"] == list(x.columns)  # the DataFrame's columns
    assert manifest["feature_names"][0] == "sepal length (cm)"
    assert manifest["task"] == "classification"
    assert manifest["classes"] == [0, 1, 2]

    rows = x.iloc[::10]  # 15 rows, all three classes
    named = [{str(k): float(v) for k, v in row.items()} for _, row in rows.iterrows()]
    positional = rows.to_numpy().tolist()
    response = TestClient(make_app(tmp_path / "m")).post("/predict", json={"instances": [*named, *positional]})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["predictions"] == [*model.predict(rows).tolist()] * 2  # labels: identical in every runtime
    assert_predictions_close(answer["probabilities"], [*model.predict_proba(rows).tolist()] * 2, tmp_path / "m")
    assert answer["model_version"] == manifest["version"]


def test_pickle_of_a_script_s_own_function_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """joblib.dump of something defined in the training script's __main__: pickle stores a reference to
    __main__.my_predict, which does not exist when the packager loads it."""
    script = """
import sys, joblib
def my_predict(rows):
    return [0.0 for _ in rows]
class MyModel:
    def predict(self, rows):
        return my_predict(rows)
joblib.dump(my_predict, sys.argv[1])
joblib.dump(MyModel(), sys.argv[2])
"""
    function, instance = tmp_path / "x.joblib", tmp_path / "mine.joblib"
    subprocess.run([sys.executable, "-c", script, str(function), str(instance)], check=True)
    for path, name in [(function, "my_predict"), (instance, "MyModel")]:
        assert run("--estimator", str(path), "--out", str(tmp_path / "m")) == 2
        err = capsys.readouterr().err
        said = f"{path.name} refers to `{name}` defined in the script that saved it (__main__), which cannot be "
        assert said + "imported here: save a fitted scikit-learn estimator or Pipeline with joblib.dump(" in err
        assert "custom functions or classes must live in an importable module" in err.lower()
        assert "AttributeError" not in err
    assert not (tmp_path / "m").exists()


def test_pickle_of_a_class_from_a_module_that_is_not_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("my_training_code", "sklearn.ensemble.forest"):  # the second: gone since scikit-learn 0.24
        kind = type("Model", (), {"__module__": module, "predict": lambda self, rows: rows})
        monkeypatch.setitem(sys.modules, module, type(sys)(module))
        monkeypatch.setattr(sys.modules[module], "Model", kind, raising=False)
        est = dump(kind(), tmp_path / "e.joblib")
        monkeypatch.delitem(sys.modules, module)
        assert run("--estimator", est, "--out", str(tmp_path / "m")) == 2
        err = capsys.readouterr().err
        if module == "my_training_code":
            assert "e.joblib refers to module `my_training_code`, which cannot be imported here" in err
        else:
            assert "needs module sklearn.ensemble.forest, which this sklearn does not have" in err
            assert "saved with another version" in err


class LogScaler(sklearn.base.TransformerMixin, sklearn.base.BaseEstimator):
    """A user's own transformer, from their own module: importable where they package, not in the layer."""

    def fit(self, x: np.ndarray, y: object = None) -> LogScaler:
        self.n_features_in_ = x.shape[1]
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return np.log1p(np.abs(x))


@pytest.mark.parametrize("runtime", ["auto", "sklearn"])
def test_a_model_using_code_the_layer_does_not_ship_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    module = type(sys)("my_features")
    monkeypatch.setitem(sys.modules, "my_features", module)
    monkeypatch.setattr(LogScaler, "__module__", "my_features")
    module.LogScaler = LogScaler  # type: ignore[attr-defined]
    x, y = load_diabetes(return_X_y=True)
    est = dump(make_pipeline(LogScaler(), LinearRegression()).fit(x, y), tmp_path / "mine.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m"), "--runtime", runtime) == 2
    err = capsys.readouterr().err
    assert "refers to my_features.LogScaler, which the model layer does not ship" in err
    assert "the function would fail to load it. The layer installs only layers/model/requirements.txt" in err
    assert ("ONNX Runtime cannot serve it either: float64: skl2onnx cannot convert it" in err) == (runtime == "auto")
    assert "is served by scikit-learn" not in err
    assert not (tmp_path / "m").exists()


def test_numpy_and_standard_library_functions_in_a_model_are_shipped(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    model = make_pipeline(FunctionTransformer(np.log1p, validate=True), LinearRegression()).fit(np.abs(x), y)
    est = dump(model, tmp_path / "mine.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m"), "--runtime", "sklearn") == 0
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["runtime"] == "sklearn"


@pytest.mark.parametrize(
    ("obj", "got"),
    [({"model": "not really"}, "dict"), (np.eye(3), "numpy.ndarray"), ([1.0, 2.0], "list")],
)
def test_pickle_of_something_that_is_not_an_estimator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], obj: object, got: str
) -> None:
    est = dump(obj, tmp_path / "thing.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 2
    assert capsys.readouterr().err == (
        f"package_model: error: not an estimator: got {got}; "
        "save a fitted scikit-learn estimator or Pipeline with joblib.dump(model, path)\n"
    )


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda: LinearRegression(), [], "is not fitted"),
        (lambda: StandardScaler().fit(np.ones((3, 2))), [], "StandardScaler has no predict(): not an estimator"),
        (lambda: KMeans(2, n_init=1).fit(np.eye(4)), [], "KMeans is neither a classifier nor a regressor"),
        (lambda: fitted_regressor(3), ["--feature-names", "a,b"], "FEATURE_NAMES has 2 names, the estimator expects 3"),
        (lambda: fitted_regressor(2), ["--feature-names", "a,a"], "must be distinct"),
        (lambda: fitted_regressor(2), ["--eval-csv", "x.csv"], "--eval-csv needs --target"),
    ],
)
def test_bad_estimators_are_refused_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, extra: list[str], message: str
) -> None:
    est = dump(make(), tmp_path / "e.joblib")  # type: ignore[operator]
    assert run("--estimator", est, *extra, "--out", str(tmp_path / "m")) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()  # nothing half-written


def test_estimator_saved_by_another_sklearn_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fitted_regressor(2)
    monkeypatch.setattr(sklearn.base, "__version__", "1.0.2")  # as if pickled by scikit-learn 1.0.2
    est = dump(model, tmp_path / "old.joblib")
    monkeypatch.undo()
    assert run("--estimator", est, "--out", str(tmp_path / "m")) == 2
    err = capsys.readouterr().err
    assert "was saved with scikit-learn 1.0.2" in err
    assert f"re-fit it with scikit-learn {sklearn.__version__}" in err.lower()


def test_missing_estimator_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--estimator", str(tmp_path / "none.joblib"), "--out", str(tmp_path / "m")) == 2
    assert "estimator file not found" in capsys.readouterr().err


def test_tree_models_without_eval_data_are_proven_by_threshold_probes_or_kept_on_scikit_learn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """HistGradientBoosting alone: its float64 graph is proven without EVAL_CSV on rows either side of its
    thresholds. Behind a PCA, which cannot be inverted to reach them, auto wants real rows and says so;
    RUNTIME=onnx is the user's explicit choice and still runs the gate."""
    x, y = load_diabetes(return_X_y=True)
    alone = dump(HistGradientBoostingRegressor(max_iter=20, random_state=0).fit(x, y), tmp_path / "hgb.joblib")
    assert run("--estimator", alone, "--out", str(tmp_path / "alone")) == 0
    onnx = json.loads((tmp_path / "alone" / "manifest.json").read_text())["onnx"]
    assert (onnx["input_dtype"], onnx["step_dtypes"]) == ("float64", {"histgradientboostingregressor": "float64"})
    assert onnx["parity"]["splits_probed"] == onnx["parity"]["splits_total"] > 0

    behind_pca = make_pipeline(PCA(5), HistGradientBoostingRegressor(max_iter=20, random_state=0)).fit(x, y)
    est = dump(behind_pca, tmp_path / "pca-hgb.joblib")
    assert run("--estimator", est, "--out", str(tmp_path / "auto")) == 0
    manifest = json.loads((tmp_path / "auto" / "manifest.json").read_text())
    assert manifest["runtime"] == "sklearn"
    assert (
        "split thresholds cannot be probed through the preprocessing (PCA mixes or repeats columns"
        in (manifest["runtime_choice"])
    )
    assert "only real rows can prove the graph; give EVAL_CSV=" in manifest["runtime_choice"]
    assert "is served by scikit-learn: auto: ONNX not used (the trees' split thresholds" in capsys.readouterr().err
    assert run("--estimator", est, "--runtime", "onnx", "--out", str(tmp_path / "onnx")) == 0
    assert json.loads((tmp_path / "onnx" / "manifest.json").read_text())["runtime"] == "onnx"


def test_eval_csv_with_empty_or_wrong_values_is_refused_with_the_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.housing import FEATURES, regressor, table

    frame = table(300, seed=1)
    est = dump(regressor().fit(frame[FEATURES], frame.price), tmp_path / "price.joblib")
    empty = frame.iloc[:20].copy()
    empty.loc[empty.index[:3], "city"] = None
    empty.to_csv(tmp_path / "empty.csv", index=False)
    args = ["--estimator", est, "--target", "price", "--out", str(tmp_path / "m")]
    assert run(*args, "--eval-csv", str(tmp_path / "empty.csv")) == 2
    assert "has empty values in city (3 rows): requests cannot send them" in capsys.readouterr().err
    frame.iloc[:20].assign(rooms="three").to_csv(tmp_path / "words.csv", index=False)
    assert run(*args, "--eval-csv", str(tmp_path / "words.csv")) == 2
    assert "words.csv: column rooms is a numeric feature, but could not convert string to float: 'three'" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "m").exists()
