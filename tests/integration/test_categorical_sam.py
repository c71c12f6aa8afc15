"""A DataFrame pipeline with string columns (tests/housing.py) through `sam local start-api`: the price regressor
(ONNX Runtime, a graph with one input per feature) in the ONNX layer, in the python3.13 Lambda image behind SAM's
API Gateway emulation; named and positional rows holding strings answered as the pipeline's own ``predict`` on a
DataFrame of the same rows, an unknown city served, the client's mistakes refused with the feature and value named.
And a LightGBM classifier that encodes its pandas category columns itself, in the LightGBM layer, by `sam local
invoke`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import joblib
import pytest

from predictor.model.manifest import read_manifest
from tests.conftest import load_event
from tests.housing import BoosterFiles, HousingFiles, held_out, json_rows, with_categories
from tests.integration.conftest import ModelLayer, build_with_layer, invoke_event, sam_start_api
from tests.utils import assert_labels_equal, assert_predictions_close
from tools.build.model_layer import copy_bundle

pytestmark = [pytest.mark.build, pytest.mark.sam, pytest.mark.docker]


@pytest.fixture(scope="module")
def price_api(
    built: Path, model_layers: dict[str, ModelLayer], price_bundle: Path, lambda_image: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:  # fmt: skip
    manifest = read_manifest(price_bundle)
    folder = tmp_path_factory.mktemp("categorical")
    layer = build_with_layer(built, model_layers[manifest.runtime], "CategoricalLayer", folder)
    copy_bundle(manifest, price_bundle, layer / "model")
    with sam_start_api(layer.parent, lambda_image, folder / "sam.log") as base:
        yield base


def test_rows_with_strings_through_sam_local_start_api(price_api: str, price_bundle: Path,
                                                       housing: HousingFiles) -> None:  # fmt: skip
    pipeline = joblib.load(housing.regressor)
    frame = held_out(housing.price_csv).iloc[:50]
    unknown = frame.iloc[:2].assign(city="Grenoble")
    with httpx2.Client(base_url=price_api, timeout=120) as client:
        positional = client.post("/predict", json={"instances": json_rows(frame)})
        named = client.post("/predict", json={"features": frame.iloc[0].to_dict()})
        unseen = client.post("/predict", json={"instances": unknown.to_dict(orient="records")})
        number = client.post("/predict", json={"features": [50.0, 30.0, 3.0, 75, "flat"]})
        misspelt = client.post("/predict", json={"features": {**frame.iloc[0].to_dict(), "citty": "Paris"}})
    assert positional.status_code == 200, positional.text
    assert_predictions_close(positional.json()["predictions"], pipeline.predict(frame), price_bundle)
    assert named.json()["prediction"] == positional.json()["predictions"][0]
    assert unseen.status_code == 200, unseen.text
    assert_predictions_close(unseen.json()["predictions"], pipeline.predict(unknown), price_bundle)
    assert number.status_code == 422
    assert "features[3] (city): expected a category" in number.json()["detail"]
    assert "got number 75" in number.json()["detail"]
    assert misspelt.status_code == 422
    assert "unknown features: citty" in misspelt.json()["detail"]


def test_a_lightgbm_models_own_category_columns_through_sam_local_invoke(
    built: Path, model_layers: dict[str, ModelLayer], lightgbm_bundle: Path, booster_files: BoosterFiles,
    housing: HousingFiles, lambda_image: str, tmp_path: Path,
) -> None:  # fmt: skip
    """LightGBM fitted on pandas category columns, in the LightGBM layer: string rows (an unseen city among them)
    answered as the classifier's own predict on a DataFrame of category columns."""
    manifest = read_manifest(lightgbm_bundle)
    layer = build_with_layer(built, model_layers[manifest.runtime], "CategoricalLightgbmLayer", tmp_path)
    copy_bundle(manifest, lightgbm_bundle, layer / "model")
    frame = held_out(housing.band_csv).iloc[:40]
    frame.loc[frame.index[:3], "city"] = "Grenoble"
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({**load_event("rest-predict-batch"), "body": json.dumps({"instances": json_rows(frame)})})
    )
    response = invoke_event(layer.parent, lambda_image, event)
    assert response["statusCode"] == 200, response["body"]
    answer = json.loads(response["body"])
    model = joblib.load(booster_files.lightgbm)
    assert_labels_equal(answer["predictions"], model.predict(with_categories(frame)))
    assert_predictions_close(answer["probabilities"], model.predict_proba(with_categories(frame)), lightgbm_bundle)
