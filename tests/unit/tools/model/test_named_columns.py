"""A DataFrame pipeline whose ColumnTransformer selects columns by name (tools/model/named_columns.py): packaged
as it is (no retraining), with and without EVAL_CSV, for both runtimes, and served by name and by position with
the answers of the original pipeline on a DataFrame of the same rows."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from tests.utils import assert_predictions_close, make_app
from tests.zoo import housing, package

NAMES = ["income", "age", "rooms", "lat", "lon"]


@pytest.fixture(scope="module")
def frame() -> tuple[pd.DataFrame, pd.Series]:
    x, y = housing()
    return pd.DataFrame(x[:4000], columns=NAMES), pd.Series(y[:4000], name="price")


@pytest.fixture(scope="module")
def named_pipeline(frame: tuple[pd.DataFrame, pd.Series]) -> object:
    columns = ColumnTransformer(
        [("num", StandardScaler(), ["income", "age"]), ("geo", MinMaxScaler(), ["lat", "lon"])], remainder="passthrough"
    )
    x, y = frame
    return make_pipeline(columns, HistGradientBoostingRegressor(max_iter=40, random_state=0)).fit(x[:3000], y[:3000])


@pytest.mark.parametrize(("runtime", "with_eval"), [("auto", False), ("auto", True), ("sklearn", True)])
def test_columns_selected_by_name_are_served_as_the_pipeline_answers(
    named_pipeline: object, frame: tuple[pd.DataFrame, pd.Series], tmp_path: Path, runtime: str, with_eval: bool
) -> None:
    x, y = frame
    path = tmp_path / "named.joblib"
    joblib.dump(named_pipeline, path)
    args = ["--estimator", str(path), "--runtime", runtime, "--out", str(tmp_path / "model")]
    if with_eval:
        x[3000:3500].assign(price=y[3000:3500]).to_csv(tmp_path / "holdout.csv", index=False)
        args += ["--eval-csv", str(tmp_path / "holdout.csv"), "--target", "price"]
    code, _, err = package(args)
    assert code == 0, err
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["feature_names"] == NAMES  # the DataFrame's columns, in its order
    assert manifest["runtime"] == ("sklearn" if runtime == "sklearn" else "onnx")
    if with_eval:
        assert manifest["metrics"]["n_eval"] == 500
    rows = x[3500:3600]
    named = [{name: float(value) for name, value in row.items()} for _, row in rows.iterrows()]
    response = TestClient(make_app(tmp_path / "model")).post(
        "/predict", json={"instances": [*named, *rows.to_numpy().tolist()]}
    )
    assert response.status_code == 200, response.text
    expected = named_pipeline.predict(rows).tolist()  # type: ignore[attr-defined]
    assert_predictions_close(response.json()["predictions"], expected * 2, tmp_path / "model")
