"""Packaging a user's estimator: feature names, task, and the errors that stop a bad bundle early."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn.base
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

from tools import package_model


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
    assert (tmp_path / "a" / "model.joblib").read_bytes() == (tmp_path / "b" / "model.joblib").read_bytes()


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
    rows = np.array(reference["rows"])
    assert rows.shape == (32, 10)
    used = np.unique(np.concatenate([t.tree_.feature[t.tree_.feature >= 0] for t in forest.estimators_]))
    low, high = x.min(axis=0)[used], x.max(axis=0)[used]  # a feature no tree splits on can take any value
    assert (rows[:, used] >= low - 0.2 * (high - low)).all()
    assert (rows[:, used] <= high + 0.2 * (high - low)).all()
    assert reference["predictions"] == forest.predict(rows).tolist()


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
