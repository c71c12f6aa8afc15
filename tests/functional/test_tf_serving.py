"""TensorFlow Serving REST (KServe v1) through the production handler: the colon in ``:predict`` routed behind
the stage prefix of a REST API and of an HTTP API, both formats, and the errors in TF Serving's shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pytest
from sklearn.datasets import load_diabetes, load_iris

from tests.conftest import IRIS_NAMES, Handler
from tests.utils import assert_labels_equal, assert_predictions_close, http_event, manifest_of, rest_event

ROWS = load_diabetes().data[:5]
NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
IRIS = load_iris().data[::30]


def call(handler: Handler, method: str, path: str, body: Any = None, api: str = "rest") -> tuple[int, Any]:
    make = rest_event if api == "rest" else http_event
    response = handler(make(method, path, json.dumps(body).encode() if body is not None else b""))
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("api", ["rest", "http"])
def test_row_and_columnar_formats(
    handler: Handler, name: str, default_bundle: Path, default_estimator: Any, api: str
) -> None:
    expected = default_estimator.predict(ROWS)
    named = [dict(zip(NAMES, row, strict=True)) for row in ROWS.tolist()]
    columns = {feature: ROWS[:, i].tolist() for i, feature in enumerate(NAMES)}
    bodies = {
        "instances": {"instances": ROWS.tolist()},
        "named instances": {"instances": named},
        "inputs": {"inputs": ROWS.tolist()},
        "named input": {"inputs": {"features": ROWS.tolist()}},
        "columns": {"inputs": columns},
    }
    answers = {form: call(handler, "POST", f"/v1/models/{name}:predict", body, api) for form, body in bodies.items()}
    for form, (status, body) in answers.items():
        assert status == 200, (form, body)
        served = body["predictions"] if "instances" in form else body["outputs"]
        assert_predictions_close(served, expected, default_bundle)


def test_classifier_answers_label_and_probabilities_per_row(
    iris_handler: Handler, iris_bundle: Path, iris_estimator: Path
) -> None:
    model = joblib.load(iris_estimator)
    name = manifest_of(iris_bundle)["name"]
    status, rows = call(iris_handler, "POST", f"/v1/models/{name}/versions/2.0.0:predict", {"instances": IRIS.tolist()})
    assert status == 200
    assert_labels_equal([row["label"] for row in rows["predictions"]], model.predict(IRIS))
    probabilities = [row["probabilities"] for row in rows["predictions"]]
    assert_predictions_close(probabilities, model.predict_proba(IRIS), iris_bundle)
    status, columnar = call(iris_handler, "POST", f"/v1/models/{name}:predict", {"inputs": IRIS.tolist()}, "http")
    assert status == 200
    assert set(columnar["outputs"]) == {"label", "probabilities"}
    assert_labels_equal(columnar["outputs"]["label"], model.predict(IRIS))
    status, metadata = call(iris_handler, "GET", f"/v1/models/{name}/metadata")
    assert metadata["metadata"]["classes"] == model.classes_.tolist()  # the order of the probabilities
    assert metadata["metadata"]["feature_names"] == IRIS_NAMES


def test_status_and_metadata(handler: Handler, name: str, default_bundle: Path) -> None:
    version = json.loads((default_bundle / "manifest.json").read_text())["version"]
    for api in ("rest", "http"):
        status, body = call(handler, "GET", f"/v1/models/{name}", api=api)
        assert status == 200
        assert body == {
            "model_version_status": [
                {"version": version, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            ]
        }
    status, metadata = call(handler, "GET", f"/v1/models/{name}/versions/{version}/metadata")
    assert status == 200
    assert metadata["model_spec"] == {"name": name, "signature_name": "", "version": version}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    dims = signature["inputs"]["features"]["tensor_shape"]["dim"]
    assert [d["size"] for d in dims] == ["-1", "10"]
    assert signature["outputs"]["prediction"]["dtype"] == "DT_DOUBLE"


ROW = ROWS[0].tolist()
MISTAKES = [
    # (path suffix, body, status, error)
    (":predict", {"instances": [ROW[:3]]}, 400, "instances[0]: expected 10 features, got 3"),
    (":predict", {"instances": [{"age": 1.0}]}, 400, "instances[0]: missing features: sex, bmi"),
    (":predict", {"instances": [ROW], "inputs": [ROW]}, 400, "give either 'instances' (row format) or 'inputs'"),
    (":predict", {}, 400, "give either 'instances'"),
    (":predict", {"instances": []}, 400, "'instances' is empty"),
    (":predict", {"instances": [["1"] * 10]}, 400, "instances[0][0]: Input should be a valid number"),
    (":predict", {"inputs": {"age": [1.0, 2.0], "sex": [1.0]}}, 400, "inputs: columns of different lengths"),
    (":predict", {"inputs": {"weight": [1.0]}}, 400, "inputs[0]: unknown features: weight"),
    (":predict", {"inputs": 3}, 400, "inputs: should be an array of rows or an object"),
    (":predict", {"instances": [ROW], "signature_name": "classify"}, 400, "signature_name 'classify' not found"),
    (":predict", {"instances": [ROW] * 1001}, 413, "too many rows: 1001 > 1000 (MAX_BATCH_ROWS)"),
    (":classify", {"instances": [ROW]}, 400, "'classify' is not served"),
    ("/versions/7:predict", {"instances": [ROW]}, 404, "has no version '7'"),
]


@pytest.mark.parametrize(("suffix", "body", "status", "error"), MISTAKES)
def test_client_mistakes_are_4xx_in_tf_servings_error_shape(
    handler: Handler, name: str, suffix: str, body: Any, status: int, error: str
) -> None:
    for api in ("rest", "http"):
        answered, content = call(handler, "POST", f"/v1/models/{name}{suffix}", body, api)
        assert answered == status, content
        assert error in content["error"]


def test_unknown_model_is_404_and_malformed_json_400(handler: Handler, name: str) -> None:
    assert call(handler, "GET", "/v1/models/half_plus_two") == (
        404,
        {"error": f"unknown model 'half_plus_two': this server serves {name!r}"},
    )
    response = handler(rest_event("POST", f"/v1/models/{name}:predict", b'{"instances": [1,'))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"].startswith("malformed JSON")
