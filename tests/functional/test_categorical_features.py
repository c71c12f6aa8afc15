"""Models as data scientists train them: DataFrame pipelines with named numeric and string columns (tests/housing.py),
packaged with and without EVAL_CSV and served through the production Lambda handler. Every answer is compared with
the pipeline's own ``predict`` on a DataFrame of the same rows, within the bundle's tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import pytest

from tests.conftest import Handler
from tests.housing import CATEGORICAL, FEATURES, HousingFiles, held_out, json_rows
from tests.utils import assert_labels_equal, assert_predictions_close, manifest_of, post, rest_event


def test_the_manifest_types_each_feature_from_the_encoders(price_bundle: Path, band_bundle: Path) -> None:
    price, band = manifest_of(price_bundle), manifest_of(band_bundle)
    assert price["feature_names"] == FEATURES
    assert set(price["categorical"]) == set(CATEGORICAL)
    assert price["categorical"]["city"] == {
        "categories": ["Lille", "Lyon", "Marseille", "Nantes", "Paris"], "unknown": "ignore", "encoder": "OneHotEncoder"
    }  # fmt: skip
    assert band["categorical"]["property_type"]["unknown"] == "error"
    assert price["runtime"] == "onnx"
    assert price["onnx"]["input_per_feature"] is True
    assert band["runtime"] == "onnx"


def test_without_eval_csv_the_trees_are_served_by_scikit_learn_and_the_reason_given(price_native_bundle: Path) -> None:
    manifest = manifest_of(price_native_bundle)
    assert manifest["runtime"] == "sklearn"
    assert "encoder of its categorical features" in manifest["runtime_choice"]
    assert "EVAL_CSV" in manifest["runtime_choice"]
    # the reference rows hold each category (drawn rows: the categories in turn)
    cities = {row[3] for row in manifest["reference"]["rows"]}
    assert cities == {"Lille", "Lyon", "Marseille", "Nantes", "Paris"}


@pytest.mark.parametrize("which", ["price_handler", "price_native_handler"])
def test_held_out_rows_by_position_and_by_name_are_the_pipelines_own_answers(
    which: str, request: pytest.FixtureRequest, housing: HousingFiles
) -> None:
    handler: Handler = request.getfixturevalue(which)
    bundle = request.getfixturevalue(which.replace("_handler", "_bundle"))
    frame = held_out(housing.price_csv)
    expected = joblib.load(housing.regressor).predict(frame)
    status, batch = post(handler, {"instances": json_rows(frame)})
    assert status == 200, batch
    assert_predictions_close(batch["predictions"], expected, bundle)
    by_name = frame.iloc[:20].to_dict(orient="records")
    status, named = post(handler, {"instances": by_name})
    assert status == 200, named
    assert_predictions_close(named["predictions"], expected[:20], bundle)
    status, one = post(handler, {"features": by_name[0]})
    assert status == 200
    assert one["prediction"] == named["predictions"][0]


@pytest.mark.parametrize("which", ["price_handler", "price_native_handler"])
def test_an_unknown_city_is_served_as_the_one_hot_encoder_ignores_it(
    which: str, request: pytest.FixtureRequest, housing: HousingFiles
) -> None:
    handler: Handler = request.getfixturevalue(which)
    frame = held_out(housing.price_csv).iloc[:3].assign(city="Grenoble")
    status, answer = post(handler, {"instances": json_rows(frame)})
    assert status == 200, answer
    expected = joblib.load(housing.regressor).predict(frame)
    assert_predictions_close(
        answer["predictions"], expected, request.getfixturevalue(which.replace("_handler", "_bundle"))
    )


def test_the_classifier_answers_the_pipelines_labels(band_handler: Handler, band_bundle: Path,
                                                     housing: HousingFiles) -> None:  # fmt: skip
    frame = held_out(housing.band_csv)
    pipeline = joblib.load(housing.classifier)
    status, answer = post(band_handler, {"instances": json_rows(frame)})
    assert status == 200, answer
    assert_labels_equal(answer["predictions"], pipeline.predict(frame))
    assert_predictions_close(answer["probabilities"], pipeline.predict_proba(frame), band_bundle)


def test_an_unknown_category_the_encoder_refuses_is_a_422_naming_it_and_the_known_ones(band_handler: Handler) -> None:
    row = {"income": 50.0, "age": 30, "rooms": 3, "city": "Paris", "property_type": "castle"}
    status, answer = post(band_handler, {"features": row})
    assert status == 422
    assert answer["detail"] == "features.property_type: unknown category 'castle' (known: flat, house, studio)"
    assert answer["errors"] == [{"loc": "features.property_type", "msg": answer["detail"].split(": ", 1)[1]}]


def test_a_number_for_the_city_and_a_string_for_a_number_are_422s_naming_feature_and_value(
    price_handler: Handler,
) -> None:
    status, answer = post(
        price_handler, {"instances": [[50.0, 30.0, 3.0, "Paris", "flat"], [50.0, "old", 3.0, 75, "flat"]]}
    )
    assert status == 422
    assert answer["detail"] == (
        "instances[1][1] (age): expected a number, got string 'old'; instances[1][3] (city): expected a category "
        "(a string: Lille, Lyon, Marseille, Nantes, Paris), got number 75"
    )
    assert len(answer["errors"]) == 2


def test_a_misspelt_feature_name_is_a_422_that_suggests_the_right_one(price_handler: Handler) -> None:
    row = {"income": 50.0, "age": 30, "rooms": 3, "citty": "Paris", "property_type": "flat"}
    status, answer = post(price_handler, {"features": row})
    assert status == 422
    assert answer["detail"] == (
        "features: unknown features: citty (did you mean city?); missing features: city "
        "(expected: income, age, rooms, city, property_type)"
    )


def test_the_model_card_and_the_docs_show_the_types_and_string_examples(price_handler: Handler) -> None:
    card = json.loads(price_handler(rest_event("GET", "/model"))["body"])
    assert card["categorical"]["property_type"]["categories"] == ["flat", "house", "studio"]
    document = json.loads(price_handler(rest_event("GET", "/openapi.json"))["body"])
    body = document["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    example = body["examples"]["one_row"]["value"]["features"]
    assert isinstance(example[3], str)
    assert isinstance(example[0], float)
    by_name = body["schema"]["properties"]["features"]["anyOf"][1]
    assert by_name["properties"]["city"]["type"] == "string"
    assert "Lille, Lyon, Marseille, Nantes, Paris; others are served" in by_name["properties"]["city"]["description"]
    assert by_name["properties"]["income"] == {"type": "number"}
