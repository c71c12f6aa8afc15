"""XGBoost and LightGBM as data scientists fit them on a DataFrame: string columns as pandas ``category`` columns,
which the booster encodes itself (tests/housing.py ``boosters``). Packaged with EVAL_CSV and served by the booster's
own library through the production Lambda handler; requests carry the strings, and every answer is compared with
the booster's own ``predict`` on a DataFrame of the same rows as it was fitted (category columns)."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

from tests.conftest import Handler, import_app, production_handler
from tests.housing import FEATURES, BoosterFiles, HousingFiles, held_out, json_rows, with_categories
from tests.utils import assert_labels_equal, assert_predictions_close, manifest_of, post, rest_event
from tools.model import package_model

CITIES = ["Lille", "Lyon", "Marseille", "Nantes", "Paris"]


@pytest.fixture(scope="module")
def lightgbm_handler(lightgbm_bundle: Path) -> Handler:
    return production_handler(import_app(lightgbm_bundle))


@pytest.fixture(scope="module")
def xgboost_handler(xgboost_bundle: Path) -> Handler:
    return production_handler(import_app(xgboost_bundle))


def test_the_manifest_records_the_categories_the_booster_learnt(lightgbm_bundle: Path, xgboost_bundle: Path) -> None:
    band, price = manifest_of(lightgbm_bundle), manifest_of(xgboost_bundle)
    assert (band["runtime"], price["runtime"]) == ("lightgbm", "xgboost")
    assert band["categorical"]["city"] == {
        "categories": CITIES, "unknown": "ignore", "encoder": "LGBMClassifier", "codes": True
    }  # fmt: skip
    assert price["categorical"]["property_type"] == {
        "categories": ["flat", "house", "studio"], "unknown": "error", "encoder": "XGBRegressor", "codes": True
    }  # fmt: skip
    assert "encodes its categorical columns itself (city, property_type)" in band["runtime_choice"]
    assert price["metrics"]["eval_r2"] > 0.9  # the eval CSV's strings reached the booster as its categories


def test_held_out_rows_are_the_lightgbm_classifiers_own_answers(
    lightgbm_handler: Handler, booster_files: BoosterFiles, housing: HousingFiles, lightgbm_bundle: Path
) -> None:
    frame = held_out(housing.band_csv)
    model = joblib.load(booster_files.lightgbm)
    status, answer = post(lightgbm_handler, {"instances": json_rows(frame)})
    assert status == 200, answer
    assert_labels_equal(answer["predictions"], model.predict(with_categories(frame)))
    assert_predictions_close(answer["probabilities"], model.predict_proba(with_categories(frame)), lightgbm_bundle)
    status, named = post(lightgbm_handler, {"features": frame.iloc[0].to_dict()})
    assert status == 200, named
    assert named["prediction"] == answer["predictions"][0]


def test_held_out_rows_are_the_xgboost_regressors_own_answers(
    xgboost_handler: Handler, booster_files: BoosterFiles, housing: HousingFiles, xgboost_bundle: Path
) -> None:
    frame = held_out(housing.price_csv)
    expected = joblib.load(booster_files.xgboost).predict(with_categories(frame))
    status, answer = post(xgboost_handler, {"instances": frame.to_dict(orient="records")})
    assert status == 200, answer
    assert_predictions_close(answer["predictions"], expected, xgboost_bundle)


def test_an_unknown_city_is_what_each_booster_does_with_it(
    lightgbm_handler: Handler, xgboost_handler: Handler, booster_files: BoosterFiles, housing: HousingFiles,
    lightgbm_bundle: Path,
) -> None:  # fmt: skip
    """LightGBM sends a category it never saw where a missing value goes (its own predict, the city's code NaN);
    XGBoost's own answer for one is not to be relied on (an error, or its first category): the function refuses it,
    naming it."""
    frame = held_out(housing.band_csv).iloc[:4].assign(city="Grenoble")
    status, answer = post(lightgbm_handler, {"instances": json_rows(frame)})
    assert status == 200, answer
    own = joblib.load(booster_files.lightgbm).predict_proba(with_categories(frame))
    assert_predictions_close(answer["probabilities"], own, lightgbm_bundle)
    status, refused = post(xgboost_handler, {"instances": json_rows(frame)})
    assert status == 422
    assert refused["detail"].startswith("instances[0][3] (city): unknown category 'Grenoble' (known: Lille, Lyon")


def test_a_number_for_a_category_is_a_422_naming_the_feature(xgboost_handler: Handler) -> None:
    status, answer = post(xgboost_handler, {"features": [50.0, 30.0, 3.0, 2, "flat"]})
    assert status == 422
    assert "features[3] (city): expected a category (a string: Lille, Lyon" in answer["detail"]


def test_open_inference_bytes_tensors_reach_the_booster_as_its_categories(
    xgboost_handler: Handler, xgboost_bundle: Path, booster_files: BoosterFiles, housing: HousingFiles
) -> None:
    frame = held_out(housing.price_csv).iloc[:25]
    tensors = [
        {"name": name, "shape": [len(frame), 1], "datatype": "FP64" if frame[name].dtype.kind == "f" else "BYTES",
         "data": frame[name].tolist()}
        for name in FEATURES
    ]  # fmt: skip
    name = manifest_of(xgboost_bundle)["name"]
    body = json.dumps({"inputs": tensors}).encode()
    response = xgboost_handler(rest_event("POST", f"/v2/models/{name}/infer", body))
    assert response["statusCode"] == 200, response["body"]
    (output,) = json.loads(response["body"])["outputs"]
    expected = joblib.load(booster_files.xgboost).predict(with_categories(frame))
    assert_predictions_close(output["data"], expected, xgboost_bundle)


def test_runtime_onnx_is_refused_with_the_reason(
    booster_files: BoosterFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--estimator", str(booster_files.xgboost), "--runtime", "onnx", "--out", str(tmp_path / "model")]
    assert package_model.main(args) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("package_model: error: RUNTIME=onnx: XGBRegressor cannot be served by ONNX Runtime")
    assert "encodes its categorical columns itself (city, property_type)" in error
