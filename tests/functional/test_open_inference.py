"""Open Inference Protocol v2 through the production handler: API Gateway REST (v1) and HTTP API (v2) events
whose bodies are exactly what tritonclient.http sends (its own request builder), base64-encoded as API Gateway
passes them with BinaryMediaTypes */*, and answers read back with tritonclient's own response parser."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import tritonclient.http as triton
from sklearn.datasets import load_diabetes, load_iris

from predictor.protocols.open_inference import SERVER
from tests.conftest import ROOT, Handler, import_app, production_handler
from tests.utils import (
    FakeLambdaContext,
    as_sent,
    assert_labels_equal,
    assert_predictions_close,
    http_event,
    manifest_of,
    rest_event,
    triton_features,
)

ROWS = load_diabetes().data[:7]
IRIS = load_iris().data[::15]  # 10 rows, every class


def triton_request(inputs: list[Any], outputs: list[Any] | None = None, **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    """The body and headers tritonclient.http's infer() sends for these inputs and outputs."""
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs, outputs=outputs, **kwargs)
    return body, ({"Inference-Header-Content-Length": str(json_size)} if json_size is not None else {})


def infer_result(response: dict[str, Any]) -> Any:
    """The handler's answer as tritonclient.http reads it (binary outputs after the JSON header, or all JSON)."""
    assert response["statusCode"] == 200, response["body"]
    raw = base64.b64decode(response["body"]) if response["isBase64Encoded"] else response["body"].encode()
    length = response["headers"].get("inference-header-content-length")
    return triton.InferenceServerClient.parse_response_body(raw, header_length=int(length) if length else None)


def error_of(response: dict[str, Any]) -> str:
    return json.loads(response["body"])["error"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def iris_name(iris_bundle: Path) -> str:
    return manifest_of(iris_bundle)["name"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("datatype", ["FP64", "FP32"])
def test_tritonclient_binary_request_through_a_rest_api(
    handler: Handler, name: str, default_bundle: Path, default_estimator: Any, datatype: str
) -> None:
    body, headers = triton_request([triton_features(ROWS, datatype)], request_id="r-1")
    expected = default_estimator.predict(as_sent(ROWS, datatype))
    # tritonclient sends no Accept header: a REST API would hand binary answers over as base64 text, so the
    # outputs come back as JSON, which the client reads the same way.
    as_json = handler(rest_event("POST", f"/v2/models/{name}/infer", body, headers))
    assert not as_json["isBase64Encoded"]
    assert "inference-header-content-length" not in as_json["headers"]
    result = infer_result(as_json)
    assert result.get_response()["id"] == "r-1"
    assert_predictions_close(result.as_numpy("prediction").tolist(), expected, default_bundle)
    # With an Accept header that takes octet-stream, the outputs are binary, base64 for API Gateway to decode.
    binary = handler(rest_event("POST", f"/v2/models/{name}/infer", body, {**headers, "Accept": "*/*"}))
    assert binary["isBase64Encoded"]
    assert binary["headers"]["content-type"] == "application/octet-stream"
    result = infer_result(binary)
    assert result.get_output("prediction")["parameters"] == {"binary_data_size": 8 * len(ROWS)}
    assert_predictions_close(result.as_numpy("prediction").tolist(), expected, default_bundle)
    assert binary["headers"]["x-model-version"] == result.get_response()["model_version"]


def test_classifier_with_string_labels_through_an_http_api(
    iris_handler: Handler, iris_name: str, iris_bundle: Path, iris_estimator: Path
) -> None:
    model = joblib.load(iris_estimator)
    body, headers = triton_request([triton_features(IRIS, "FP32")])
    result = infer_result(iris_handler(http_event("POST", f"/v2/models/{iris_name}/infer", body, headers)))
    sent = as_sent(IRIS, "FP32")
    labels = result.as_numpy("label")  # a BYTES tensor: 4-byte length-prefixed strings
    assert [label.decode() for label in labels] == model.predict(sent).tolist()
    assert result.as_numpy("probabilities").shape == (len(IRIS), 3)
    assert_predictions_close(result.as_numpy("probabilities").tolist(), model.predict_proba(sent), iris_bundle)
    # One output asked for, as JSON: the labels are plain strings.
    only = [triton.InferRequestedOutput("label", binary_data=False)]
    body, headers = triton_request([triton_features(IRIS, "FP64", binary=False)], outputs=only)
    answer = infer_result(iris_handler(http_event("POST", f"/v2/models/{iris_name}/versions/2.0.0/infer", body)))
    assert [o["name"] for o in answer.get_response()["outputs"]] == ["label"]
    assert_labels_equal(answer.get_output("label")["data"], model.predict(IRIS))


def test_metadata_and_health_name_the_model_its_tensors_and_class_order(
    iris_handler: Handler, iris_name: str, iris_estimator: Path
) -> None:
    classes = joblib.load(iris_estimator).classes_.tolist()
    live, ready = (iris_handler(rest_event("GET", f"/v2/health/{what}")) for what in ("live", "ready"))
    assert (live["statusCode"], ready["statusCode"]) == (200, 200)
    server = json.loads(iris_handler(rest_event("GET", "/v2"))["body"])
    assert "binary_tensor_data" in server["extensions"]
    metadata = json.loads(iris_handler(http_event("GET", f"/v2/models/{iris_name}"))["body"])
    assert metadata["versions"] == ["2.0.0"]
    assert metadata["inputs"][0] == {
        "name": "features",
        "datatype": "FP64",
        "shape": [-1, 4],
        "parameters": {"feature_names": ["sepal_length", "sepal_width", "petal_length", "petal_width"]},
    }
    outputs = {o["name"]: (o["datatype"], o["shape"], o["parameters"]["classes"]) for o in metadata["outputs"]}
    assert outputs == {"label": ("BYTES", [-1], classes), "probabilities": ("FP64", [-1, 3], classes)}
    ready_model = iris_handler(rest_event("GET", f"/v2/models/{iris_name}/versions/2.0.0/ready"))
    assert ready_model["statusCode"] == 200


def test_compressed_request_as_tritonclient_sends_it(handler: Handler, name: str, default_bundle: Path) -> None:
    body, headers = triton_request([triton_features(ROWS)])
    headers["Content-Encoding"] = "gzip"  # infer(..., request_compression_algorithm="gzip")
    result = infer_result(handler(rest_event("POST", f"/v2/models/{name}/infer", gzip.compress(body), headers)))
    plain = infer_result(
        handler(rest_event("POST", f"/v2/models/{name}/infer", *triton_request([triton_features(ROWS)])))
    )
    assert result.as_numpy("prediction").tolist() == plain.as_numpy("prediction").tolist()


def json_infer(tensor: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"inputs": [tensor], **extra}).encode()


def features(shape: list[int], data: Any, datatype: str = "FP64", **parameters: Any) -> dict[str, Any]:
    tensor = {"name": "features", "shape": shape, "datatype": datatype, "data": data}
    return {**tensor, "parameters": parameters} if parameters else tensor


ROW = [float(v) for v in ROWS[0]]
BAD_REQUESTS = [
    # (path suffix, body, headers, status, error)
    ("infer", json_infer(features([1, 9], ROW[:9])), {}, 400, "inputs[0]: shape [1, 9] does not fit [-1, 10]"),
    ("infer", json_infer(features([2, 10], ROW)), {}, 400, "inputs[0].data: 10 values [10] do not fill shape [2, 10]"),
    ("infer", json_infer(features([1, 10], [[*ROW[:9], 1.0, 2.0]])), {}, 400, "do not fill shape [1, 10]"),
    ("infer", json_infer(features([1, 10], ["a"] * 10, "BYTES")), {}, 400, "datatype 'BYTES' is not accepted"),
    ("infer", json_infer(features([1, 10], [True] * 10, "BOOL")), {}, 400, "datatype 'BOOL' is not accepted"),
    (
        "infer",
        json_infer(features([1, 10], [True, *ROW[1:]])),
        {},
        400,
        "inputs[0].data[0]: Input should be a valid number",
    ),
    ("infer", json_infer(features([1, 10], [1.5] * 10, "INT32")), {}, 400, "values that are not INT32 integers"),
    ("infer", json_infer({**features([1, 10], ROW), "name": "input-0"}), {}, 400, "takes one input, 'features'"),
    ("infer", json_infer(features([1, 10], ROW), outputs=[{"name": "label"}]), {}, 400, "unknown output 'label'"),
    ("infer", json_infer(features([1, 10], ROW), ouputs=[]), {}, 400, "ouputs: Extra inputs are not permitted"),
    ("infer", b'{"inputs": [', {}, 400, "malformed JSON"),
    ("infer", b"", {}, 400, "empty request body"),
    (
        "infer",
        json_infer(features([1, 10], None, binary_data_size=80)),
        {},
        400,
        "binary_data_size 80 but only 0 bytes",
    ),
    ("infer", json_infer(features([1, 10], ROW)), {"Inference-Header-Content-Length": "x"}, 400, "must be a number"),
    ("infer", json_infer(features([1, 10], ROW)), {"Inference-Header-Content-Length": "9999"}, 400, "the body has"),
    ("infer", json_infer(features([1, 10], ROW)), {"Content-Encoding": "br"}, 400, "Content-Encoding 'br'"),
    ("infer", json_infer(features([1001, 10], ROW * 1001)), {}, 413, "too many rows: 1001 > 1000 (MAX_BATCH_ROWS)"),
    ("infer", json_infer(features([1, 10], ROW, shared_memory_region="r")), {}, 400, "shared_memory_region"),
    ("versions/1/infer", json_infer(features([1, 10], ROW)), {}, 404, "has no version '1'"),
    ("config", b"", {}, 404, "Not Found"),  # Triton's model configuration extension: not served
]


@pytest.mark.parametrize(("suffix", "body", "headers", "status", "error"), BAD_REQUESTS)
def test_client_mistakes_are_4xx_in_the_protocols_error_shape(
    handler: Handler, name: str, suffix: str, body: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    method = "GET" if suffix == "config" else "POST"
    for event in (rest_event(method, f"/v2/models/{name}/{suffix}", body, headers),
                  http_event(method, f"/v2/models/{name}/{suffix}", body, headers)):  # fmt: skip
        response = handler(event)
        assert response["statusCode"] == status, response["body"]
        assert error in error_of(response)
        assert response["headers"]["x-model-version"]


def test_binary_tensors_that_do_not_fit_are_400(handler: Handler, name: str) -> None:
    fp32_body, fp32_headers = triton_request([triton_features(ROWS, "FP32")])
    with_nan = ROWS.copy()
    with_nan[3, 2] = np.nan
    body, headers = triton_request([triton_features(ROWS)])
    cases = [
        # 7 x 10 FP32 values (280 bytes) declared FP64 (same header length): the size gives it away
        (fp32_body.replace(b'"FP32"', b'"FP64"'), fp32_headers, "280 bytes of FP64 data, but shape [7, 10] takes 560"),
        (*triton_request([triton_features(with_nan)]), "inputs[0]: NaN or infinity in row(s) 3"),
        (body + b"\0" * 8, headers, "8 bytes after the last binary tensor"),
        (body[:-8], headers, "binary_data_size 560 but only 552 bytes of binary data left"),
    ]
    for payload, sent, error in cases:
        response = handler(rest_event("POST", f"/v2/models/{name}/infer", payload, sent))
        assert response["statusCode"] == 400, error
        assert error in error_of(response)


def test_unknown_model_and_refused_bundle(handler: Handler, default_bundle: Path, tmp_path: Path) -> None:
    unknown = handler(rest_event("POST", "/v2/models/resnet50/infer", *triton_request([triton_features(ROWS)])))
    assert unknown["statusCode"] == 404
    assert error_of(unknown).startswith("unknown model 'resnet50': this server serves ")
    broken = Path(shutil.copytree(default_bundle, tmp_path / "model"))
    artifact = json.loads((broken / "manifest.json").read_text())["artifact"]
    (broken / artifact).write_bytes(b"tampered")
    refused = production_handler(import_app(broken))
    assert refused(rest_event("GET", "/v2/health/live"))["statusCode"] == 200
    for method, path in (("GET", "/v2/health/ready"), ("GET", "/v2/models/m"), ("POST", "/v2/models/m/infer")):
        response = refused(rest_event(method, path, *triton_request([triton_features(ROWS)])))
        assert response["statusCode"] == 503, path
        assert "sha256 mismatch" in error_of(response)


def test_json_tensors_flat_or_nested_fp32_rounded_as_triton_does(
    handler: Handler, name: str, default_bundle: Path, default_estimator: Any
) -> None:
    nested = features([7, 10], ROWS.tolist())
    flat = features([7, 10], ROWS.ravel().tolist(), "FP32")
    for tensor, datatype in ((nested, "FP64"), (flat, "FP32")):
        response = handler(http_event("POST", f"/v2/models/{name}/infer", json_infer(tensor)))
        assert response["statusCode"] == 200, response["body"]
        (output,) = json.loads(response["body"])["outputs"]
        assert output["shape"] == [7]
        expected = default_estimator.predict(as_sent(ROWS, datatype))
        assert_predictions_close(output["data"], expected, default_bundle)
    # float32 rounding shows: the FP32 answer is not the FP64 one
    assert default_estimator.predict(as_sent(ROWS, "FP32")).tolist() != default_estimator.predict(ROWS).tolist()


def test_counted_in_the_metrics_like_predict(handler: Handler, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    handler(rest_event("POST", f"/v2/models/{name}/infer", *triton_request([triton_features(ROWS)])))
    handler(rest_event("POST", f"/v1/models/{name}:predict", json.dumps({"instances": ROWS[:3].tolist()}).encode()))
    handler(rest_event("POST", f"/v2/models/{name}/infer", json_infer(features([1, 3], [1.0, 2.0, 3.0]))))
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    blobs = [blob for blob in blobs if "ColdStart" not in blob]
    assert [blob.get("PredictedRows") for blob in blobs] == [[7.0], [3.0], None]
    assert [blob.get("ClientErrors") for blob in blobs] == [None, None, [1.0]]
    assert all(blob["Requests"] == [1.0] for blob in blobs)


def test_listed_in_the_openapi_document_behind_the_stage(handler: Handler) -> None:
    paths = json.loads(handler(rest_event("GET", "/openapi.json"))["body"])["paths"]
    for path in ("/v2", "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer",
                 "/v1/models/{name}:predict", "/v1/models/{name}/metadata"):  # fmt: skip
        assert path in paths
    infer = paths["/v2/models/{name}/infer"]["post"]
    assert set(infer["requestBody"]["content"]) == {"application/json", "application/octet-stream"}
    assert "$ref" not in json.dumps(infer["requestBody"])  # inlined: nothing left to resolve
    assert "Inference-Header-Content-Length" in [p["name"] for p in infer["parameters"]]
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == SERVER["version"]


def test_too_little_time_left_is_503_in_the_protocols_shape(app_module: Any, name: str) -> None:
    hurried = production_handler(app_module, FakeLambdaContext(remaining_time_ms=50))
    for path in (f"/v2/models/{name}/infer", f"/v1/models/{name}:predict"):
        response = hurried(rest_event("POST", path, json_infer(features([1, 10], ROW))))
        assert response["statusCode"] == 503
        assert error_of(response).startswith("not enough time left in this invocation")
