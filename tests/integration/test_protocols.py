"""The standard clients against real servers: NVIDIA's tritonclient.http (Open Inference Protocol v2, binary
tensors by default) and plain HTTP for TensorFlow Serving's REST API, against uvicorn (a regressor, a classifier
with string labels, a regressor with categorical features) and against `sam local start-api` (the built stack).
Every answer is compared with the estimator's own predict/predict_proba, within the bundle's tolerance (another
process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import joblib
import numpy as np
import pytest
import tritonclient.http as triton
from sklearn.datasets import load_diabetes, load_iris
from tritonclient.utils import InferenceServerException

from tests.housing import CATEGORICAL, FEATURES, HousingFiles, held_out
from tests.integration.conftest import BUNDLE, serve
from tests.utils import (
    as_sent,
    assert_labels_equal,
    assert_predictions_close,
    manifest_of,
    triton_feature_inputs,
    triton_features,
)

ROWS = load_diabetes().data[10:40]
IRIS = load_iris().data[::5]


def refused(call: Any) -> tuple[str, str]:
    """The status and message of the InferenceServerException that ``call()`` raises."""
    with pytest.raises(InferenceServerException) as caught:
        call()
    return str(caught.value.status()), caught.value.message()


@pytest.fixture(scope="module")
def iris_server(iris_bundle: Path) -> Iterator[str]:
    with serve(iris_bundle) as base:
        yield base


def test_tritonclient_and_tf_serving_against_uvicorn_regressor(
    server: str, default_bundle: Path, default_estimator: Any
) -> None:
    name = manifest_of(default_bundle)["name"]
    with triton.InferenceServerClient(url=server.removeprefix("http://")) as client:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready(name)
        assert not client.is_model_ready("resnet50")
        assert client.get_model_metadata(name)["inputs"][0]["shape"] == [-1, 10]
        for datatype in ("FP64", "FP32"):
            for binary in (True, False):  # binary inputs (the client's default) and JSON ones
                result = client.infer(name, [triton_features(ROWS, datatype, binary)])  # outputs: binary, default
                expected = default_estimator.predict(as_sent(ROWS, datatype))
                assert_predictions_close(result.as_numpy("prediction").tolist(), expected, default_bundle)
        as_json = [triton.InferRequestedOutput("prediction", binary_data=False)]
        result = client.infer(name, [triton_features(ROWS)], outputs=as_json, request_id="7")
        assert result.get_response()["id"] == "7"
        assert_predictions_close(
            result.get_output("prediction")["data"], default_estimator.predict(ROWS), default_bundle
        )
        bad_shape = triton_features(ROWS[:, :9])
        assert refused(lambda: client.infer(name, [bad_shape])) == (
            "400",
            "inputs[0]: shape [30, 9] does not fit [-1, 10]: send [n_rows, n]",
        )
        text = triton.InferInput("features", [1, 10], "BYTES").set_data_from_numpy(np.full((1, 10), b"1", object))
        assert refused(lambda: client.infer(name, [text]))[0] == "400"
        status, message = refused(lambda: client.infer("resnet50", [triton_features(ROWS)]))
        assert (status, message) == ("404", f"unknown model 'resnet50': this server serves {name!r}")
    check_tf_serving(server, name, ROWS, default_estimator.predict(ROWS), default_bundle)
    # Counted like /predict's: 5 inferences and 2 TF Serving predictions served, the refusals as 4xx.
    metrics, version = httpx2.get(f"{server}/metrics").text, manifest_of(default_bundle)["version"]
    assert f'predict_predictions_total{{model_version="{version}"}} 7.0' in metrics
    assert f'predict_http_responses_total{{model_version="{version}",status_class="4xx"}} 5.0' in metrics


def check_tf_serving(base: str, name: str, rows: Any, expected: Any, bundle: Path) -> None:
    with httpx2.Client(base_url=base, timeout=60) as client:
        status = client.get(f"/v1/models/{name}").json()["model_version_status"]
        assert [s["state"] for s in status] == ["AVAILABLE"]
        predictions = client.post(f"/v1/models/{name}:predict", json={"instances": rows.tolist()})
        assert predictions.status_code == 200
        assert_predictions_close(predictions.json()["predictions"], expected, bundle)
        outputs = client.post(f"/v1/models/{name}:predict", json={"inputs": {"features": rows.tolist()}})
        assert_predictions_close(outputs.json()["outputs"], expected, bundle)
        bad = client.post(f"/v1/models/{name}:predict", json={"instances": [[1.0, 2.0]]})
        assert bad.status_code == 400
        assert bad.json() == {"error": f"instances[0]: expected {rows.shape[1]} features, got 2"}


def test_tritonclient_against_uvicorn_classifier_with_string_labels(
    iris_server: str, iris_bundle: Path, iris_estimator: Path
) -> None:
    model, name = joblib.load(iris_estimator), manifest_of(iris_bundle)["name"]
    with triton.InferenceServerClient(url=iris_server.removeprefix("http://")) as client:
        metadata = client.get_model_metadata(name, "2.0.0")
        assert [o["name"] for o in metadata["outputs"]] == ["label", "probabilities"]
        assert metadata["outputs"][1]["parameters"]["classes"] == model.classes_.tolist()
        for datatype in ("FP32", "FP64"):
            result = client.infer(name, [triton_features(IRIS, datatype)])  # every output, binary
            sent = as_sent(IRIS, datatype)
            assert_labels_equal([label.decode() for label in result.as_numpy("label")], model.predict(sent))
            probabilities = result.as_numpy("probabilities")
            assert probabilities.shape == (len(IRIS), 3)
            assert_predictions_close(probabilities.tolist(), model.predict_proba(sent), iris_bundle)
        label_only = [triton.InferRequestedOutput("label", binary_data=False)]
        result = client.infer(name, [triton_features(IRIS)], outputs=label_only)
        assert [o["name"] for o in result.get_response()["outputs"]] == ["label"]
        assert_labels_equal(result.as_numpy("label").tolist(), model.predict(IRIS))
        wrong = [triton.InferRequestedOutput("prediction")]
        status, message = refused(lambda: client.infer(name, [triton_features(IRIS)], outputs=wrong))
        assert (status, message) == (
            "400",
            "outputs[0]: unknown output 'prediction': this model's are label, probabilities",
        )
    with httpx2.Client(base_url=iris_server, timeout=60) as http:
        answer = http.post(f"/v1/models/{name}:predict", json={"instances": IRIS.tolist()}).json()["predictions"]
    assert_labels_equal([row["label"] for row in answer], model.predict(IRIS))
    assert_predictions_close([row["probabilities"] for row in answer], model.predict_proba(IRIS), iris_bundle)


@pytest.mark.build
@pytest.mark.sam
@pytest.mark.docker
def test_tritonclient_and_tf_serving_through_sam_local(start_api: str) -> None:
    """Through the built stack as `make local` serves it. The expected answers are the manifest's reference
    predictions: what the packaged estimator's own predict gave for those rows, whatever the runtime."""
    manifest = manifest_of(BUNDLE)
    name, rows = manifest["name"], np.array(manifest["reference"]["rows"], dtype=np.float64)
    expected = manifest["reference"]["predictions"]
    with triton.InferenceServerClient(url=start_api.removeprefix("http://"), network_timeout=120) as client:
        assert client.is_server_live()
        assert client.is_server_ready()
        assert client.is_model_ready(name, manifest["version"])
        assert client.get_model_metadata(name)["versions"] == [manifest["version"]]
        # The client's defaults: binary input, binary outputs asked for; with no Accept header the REST API
        # answers JSON (docs/protocols.md), which the client reads the same way.
        result = client.infer(name, [triton_features(rows)])
        assert_predictions_close(result.as_numpy("prediction").tolist(), expected, BUNDLE)
        accept = {"Accept": "application/octet-stream"}  # binary outputs all the way through
        result = client.infer(name, [triton_features(rows)], headers=accept)
        assert "binary_data_size" in result.get_output("prediction")["parameters"]
        assert_predictions_close(result.as_numpy("prediction").tolist(), expected, BUNDLE)
        # FP32 (JSON data): the same answer as the float32 values sent as FP64.
        fp32 = client.infer(name, [triton_features(rows, "FP32", binary=False)]).as_numpy("prediction")
        fp64 = client.infer(name, [triton_features(as_sent(rows, "FP32"), "FP64")]).as_numpy("prediction")
        assert fp32.tolist() == fp64.tolist()
        assert refused(lambda: client.infer(name, [triton_features(rows[:, :3])]))[0] == "400"
        assert refused(lambda: client.infer("resnet50", [triton_features(rows)]))[0] == "404"
    check_tf_serving(start_api, name, rows, expected, BUNDLE)


@pytest.fixture(scope="module")
def price_server(price_bundle: Path) -> Iterator[str]:
    with serve(price_bundle) as base:
        yield base


def test_tritonclient_bytes_inputs_and_tf_serving_strings_against_uvicorn(
    price_server: str, price_bundle: Path, housing: HousingFiles
) -> None:
    """A model with categorical features (tests/housing.py): one input per feature, BYTES for a categorical one."""
    frame = held_out(housing.price_csv).iloc[:25]
    pipeline, name = joblib.load(housing.regressor), manifest_of(price_bundle)["name"]
    with triton.InferenceServerClient(url=price_server.removeprefix("http://")) as client:
        inputs = client.get_model_metadata(name)["inputs"]
        assert [(i["name"], i["datatype"], i["shape"]) for i in inputs] == [
            (feature, "BYTES" if feature in CATEGORICAL else "FP64", [-1, 1]) for feature in FEATURES
        ]
        for binary in (True, False):  # binary BYTES (length-prefixed strings, the client's default) and JSON
            result = client.infer(name, triton_feature_inputs(frame, CATEGORICAL, binary))
            assert_predictions_close(result.as_numpy("prediction").tolist(), pipeline.predict(frame), price_bundle)
        unknown = frame.assign(city="Grenoble")  # served as the one-hot encoder ignores it
        result = client.infer(name, triton_feature_inputs(unknown, CATEGORICAL))
        assert_predictions_close(result.as_numpy("prediction").tolist(), pipeline.predict(unknown), price_bundle)
        city = triton.InferInput("city", [1, 1], "FP64").set_data_from_numpy(np.array([[3.0]]))
        one_row = [city if i.name() == "city" else i for i in triton_feature_inputs(frame.iloc[:1], CATEGORICAL)]
        assert refused(lambda: client.infer(name, one_row)) == (
            "400", "inputs[3] (city): datatype 'FP64' is not accepted: a categorical feature is BYTES"
        )  # fmt: skip
        status, message = refused(lambda: client.infer(name, [triton_features(np.ones((1, 5)))]))
        assert status == "400"
        assert message.startswith("this model takes one input per feature, each [n_rows, 1]: income (FP64), ")
    with httpx2.Client(base_url=price_server, timeout=60) as http:
        rows = frame.to_dict(orient="records")
        predictions = http.post(f"/v1/models/{name}:predict", json={"instances": rows}).json()["predictions"]
        assert_predictions_close(predictions, pipeline.predict(frame), price_bundle)
        columns = {feature: frame[feature].tolist() for feature in FEATURES}
        outputs = http.post(f"/v1/models/{name}:predict", json={"inputs": columns}).json()["outputs"]
        assert_predictions_close(outputs, pipeline.predict(frame), price_bundle)
