"""The app over plain HTTP semantics (TestClient = what uvicorn serves), errors included."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from tests.conftest import import_app, package, production_handler
from tests.utils import (
    FakeLambdaContext,
    assert_offline_docs,
    assert_predictions_close,
    make_app,
    manifest_of,
    rewrite_manifest,
)

ROW = [float(v) for v in load_diabetes().data[0]]


@pytest.fixture(scope="module")
def client(default_bundle: Path) -> TestClient:
    return TestClient(make_app(default_bundle, max_batch_rows=50))


def test_health_and_model_card(client: TestClient, default_bundle: Path) -> None:
    manifest = json.loads((default_bundle / "manifest.json").read_text())
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "model_version": manifest["version"]}
    card = client.get("/model").json()
    assert card["sha256"] == manifest["sha256"]
    assert card["feature_names"] == manifest["feature_names"]
    assert card["metrics"] == manifest["metrics"]


def test_every_response_carries_the_model_version(client: TestClient, default_bundle: Path) -> None:
    version = json.loads((default_bundle / "manifest.json").read_text())["version"]
    for response in (
        client.post("/predict", json={"features": ROW}),
        client.post("/predict", content=b"{"),
        client.get("/nope"),
        client.get("/docs"),
    ):
        assert response.headers["x-model-version"] == version


def test_predict_single_and_batch(client: TestClient, default_bundle: Path, default_estimator: Any) -> None:
    single = client.post("/predict", json={"features": ROW})
    assert single.status_code == 200
    assert_predictions_close([single.json()["prediction"]], default_estimator.predict(np.array([ROW])), default_bundle)
    rows = load_diabetes().data[:50]
    batch = client.post("/predict", json={"instances": rows.tolist()})
    assert_predictions_close(batch.json()["predictions"], default_estimator.predict(rows), default_bundle)


def test_any_content_type_is_read_as_json(client: TestClient) -> None:
    # curl -d sends application/x-www-form-urlencoded; the body is still JSON.
    body = json.dumps({"features": ROW})
    for content_type in ("application/x-www-form-urlencoded", "text/plain", ""):
        response = client.post("/predict", content=body, headers={"content-type": content_type})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (json.dumps({"features": [*ROW, 1.0]}), 422, "features: expected 10 features, got 11"),
        (json.dumps({"instances": [ROW] * 51}), 413, "too many rows: 51 > 50 (MAX_BATCH_ROWS)"),
        ('{"features": [1, 2', 400, "malformed JSON"),
        ("", 400, "empty request body"),
        ("[]", 422, "must be a JSON object"),
        ("null", 422, "must be a JSON object"),
        (json.dumps({"instances": [{"age": 1}]}), 422, "missing features: sex, bmi"),
    ],
)
def test_bad_input_is_a_4xx_with_detail(client: TestClient, body: str, status: int, detail: str) -> None:
    response = client.post("/predict", content=body)
    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert "prediction" not in response.json()
    assert "predictions" not in response.json()


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert client.get("/predictions").status_code == 404
    wrong = client.get("/predict")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert client.post("/health").status_code == 405


def test_docs_without_a_stage_use_plain_paths(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert_offline_docs(docs.text)
    spec = client.get("/openapi.json").json()
    assert "servers" not in spec
    own = {path for path in spec["paths"] if not path.startswith(("/v1/", "/v2"))}  # the protocols: their own tests
    assert own == {"/predict", "/health", "/model"}
    schema = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"features", "instances"}


def test_docs_assets_are_served_by_the_function(client: TestClient) -> None:
    for name, media_type in [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
    ]:
        asset = client.get(f"/docs/assets/{name}")
        assert asset.status_code == 200
        assert asset.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert len(asset.content) > 100_000
    assert b"5.32" in client.get("/docs/assets/swagger-ui-bundle.js").content  # Swagger UI 5: OpenAPI 3.1
    for name in ["favicon.png", "redoc.standalone.js", "..%2Fcore.py", "swagger-ui.js"]:
        assert client.get(f"/docs/assets/{name}").status_code == 404
    assert client.get("/redoc").status_code == 404  # not served: Redoc loads its logo from a CDN


def test_broken_bundle_answers_503_with_the_reason(default_bundle: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(default_bundle, tmp_path / "model"))
    (broken / "model.onnx").write_bytes(b"not the model")
    client = TestClient(make_app(broken))
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["status"] == "error"
    assert "sha256 mismatch" in health.json()["detail"]
    predict = client.post("/predict", json={"features": ROW})
    assert predict.status_code == 503
    assert predict.json()["detail"].startswith("model not loaded: sha256 mismatch")
    assert client.get("/model").status_code == 503


def test_missing_model_directory_is_named(tmp_path: Path) -> None:
    handler = production_handler(import_app(tmp_path / "absent"))
    event = {
        "resource": "/{proxy+}",
        "path": "/health",
        "httpMethod": "GET",
        "headers": {},
        "requestContext": {"path": "/prod/health", "stage": "prod"},
        "body": None,
        "isBase64Encoded": False,
    }
    response = handler(event)
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["detail"] == f"model directory not found: {tmp_path / 'absent'}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_model_that_outputs_nan_is_not_served(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    # sqrt of the linear prediction: NaN wherever the linear part is negative
    model = TransformedTargetRegressor(LinearRegression(), func=np.square, inverse_func=np.sqrt, check_inverse=False)
    model.fit(x, np.sqrt(y))
    joblib.dump(model, tmp_path / "sqrt.joblib")
    bundle = package(tmp_path / "model", "--estimator", str(tmp_path / "sqrt.joblib"))
    client = TestClient(make_app(bundle))
    negative = (-np.ones(10) * 10).tolist()
    response = client.post("/predict", json={"features": negative})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the model's prediction is not a finite number for row(s) 0")
    batch = client.post("/predict", json={"instances": [[0.0] * 10, negative, negative]})
    assert batch.status_code == 422
    assert "row(s) 1, 2:" in batch.json()["detail"]
    assert "predictions" not in batch.json()  # nothing is served, not even the good row


def test_only_the_first_response_of_a_process_says_cold_start(default_bundle: Path) -> None:
    client = TestClient(make_app(default_bundle))
    first, second = client.get("/health"), client.post("/predict", json={"features": ROW})
    assert first.headers["x-cold-start"] == "true"
    assert "x-cold-start" not in second.headers


def test_cors_only_for_listed_origins(default_bundle: Path) -> None:
    client = TestClient(make_app(default_bundle, cors_allow_origins=("https://app.example.com",)))
    preflight = {"origin": "https://app.example.com", "access-control-request-method": "POST",
                 "access-control-request-headers": "content-type,x-api-key"}  # fmt: skip
    allowed = client.options("/predict", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    denied = client.options("/predict", headers={**preflight, "origin": "https://evil.example"})
    assert denied.status_code == 400
    assert "access-control-allow-origin" not in denied.headers
    plain = client.post("/predict", json={"features": ROW}, headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in plain.headers
    no_cors = TestClient(make_app(default_bundle))
    assert "access-control-allow-origin" not in no_cors.post("/predict", json={"features": ROW}).headers


class CountedStatuses:
    """A Telemetry that remembers the statuses it was told about."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def response(self, status: int) -> None:
        self.statuses.append(status)

    def prediction(self, rows: int, seconds: float) -> None:
        pass


def test_cors_preflights_carry_the_model_version_and_are_counted(default_bundle: Path) -> None:
    version = json.loads((default_bundle / "manifest.json").read_text())["version"]
    telemetry = CountedStatuses()
    client = TestClient(make_app(default_bundle, telemetry, cors_allow_origins=("https://app.example.com",)))
    preflight = {"origin": "https://app.example.com", "access-control-request-method": "POST"}
    allowed = client.options("/predict", headers=preflight)
    denied = client.options("/predict", headers={**preflight, "origin": "https://evil.example"})
    assert (allowed.status_code, denied.status_code) == (200, 400)
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["x-model-version"] == denied.headers["x-model-version"] == version
    assert telemetry.statuses == [200, 400]  # answered by the CORS middleware, still observed


def test_a_request_the_timeout_would_cut_off_is_refused(app_module: ModuleType) -> None:
    hurried = production_handler(app_module, FakeLambdaContext(remaining_time_ms=300))
    event = {
        "resource": "/{proxy+}", "path": "/predict", "httpMethod": "POST", "headers": {},
        "requestContext": {"path": "/prod/predict", "stage": "prod"},
        "body": json.dumps({"features": ROW}), "isBase64Encoded": False,
    }  # fmt: skip
    response = hurried(event)
    assert response["statusCode"] == 503
    assert "not enough time left in this invocation (300 ms < MIN_TIME_LEFT_MS=1000)" in response["body"]
    assert production_handler(app_module)(event)["statusCode"] == 200


def examples_of(body_or_response: dict[str, Any]) -> dict[str, Any]:
    return {name: e["value"] for name, e in body_or_response["content"]["application/json"]["examples"].items()}


@pytest.mark.parametrize("bundle", ["default_bundle", "iris_bundle"])
def test_swagger_examples_are_the_served_models_and_answer_as_documented(
    request: pytest.FixtureRequest, bundle: str
) -> None:
    bundle_dir: Path = request.getfixturevalue(bundle)
    client = TestClient(make_app(bundle_dir))
    predict = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    bodies = examples_of(predict["requestBody"])
    documented = examples_of(predict["responses"]["200"])
    assert set(bodies) == {"one_row", "by_name", "batch"}
    assert set(documented) == {"one_row", "batch"}
    answers = {name: client.post("/predict", json=body) for name, body in bodies.items()}
    assert all(answer.status_code == 200 for answer in answers.values()), {n: a.text for n, a in answers.items()}
    assert answers["by_name"].json() == answers["one_row"].json()
    for name, expected in documented.items():  # what "Try it out" answers is what the page documents
        served = answers[name].json()
        assert served.keys() == expected.keys()
        assert (served["model_version"], served.get("classes")) == (expected["model_version"], expected.get("classes"))
        key = "prediction" if name == "one_row" else "predictions"
        if "classes" in expected:
            assert served[key] == expected[key]
            assert_predictions_close(served["probabilities"], expected["probabilities"], bundle_dir)
        else:
            assert_predictions_close(served[key], expected[key], bundle_dir)


@pytest.mark.parametrize("bundle", ["default_bundle", "iris_bundle", "price_bundle", "band_bundle"])
def test_swagger_protocol_examples_fit_the_served_model(request: pytest.FixtureRequest, bundle: str) -> None:
    bundle_dir: Path = request.getfixturevalue(bundle)
    manifest = manifest_of(bundle_dir)
    client = TestClient(make_app(bundle_dir))
    paths = client.get("/openapi.json").json()["paths"]
    tried = 0
    for path, operations in paths.items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            assert all(p["in"] != "query" for p in parameters), path  # the protocols have no query parameters
            values = {p["name"]: p["example"] for p in parameters if p["in"] == "path"}
            assert values == {k: manifest[k] for k in ("name", "version") if "{" + k + "}" in path}, path
            url = path.format(**values)
            bodies = examples_of(operation["requestBody"]).values() if "requestBody" in operation else [None]
            for body in bodies:
                answer = client.request(method, url, json=body)
                assert answer.status_code == 200, (method, url, body, answer.text)
                tried += 1
    assert tried >= 20  # every operation, each body example of /predict, /infer and :predict


def test_a_wide_models_document_has_one_example_that_answers(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(40, 2_000))
    joblib.dump(LinearRegression().fit(x, x[:, :3].sum(axis=1)), tmp_path / "wide.joblib")
    bundle = package(tmp_path / "model", "--estimator", str(tmp_path / "wide.joblib"), "--runtime", "sklearn")
    client = TestClient(make_app(bundle))
    document = client.get("/openapi.json")
    assert len(document.content) < 200_000  # one row of 2,000 numbers, not seven examples of two rows each
    predict = document.json()["paths"]["/predict"]["post"]
    (body,) = examples_of(predict["requestBody"]).values()
    assert client.post("/predict", json=body).status_code == 200
    assert (
        "examples"
        not in document.json()["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]["application/json"]
    )


def test_a_refused_bundle_documents_no_examples(default_bundle: Path, tmp_path: Path) -> None:
    broken = tmp_path / "model"
    shutil.copytree(default_bundle, broken)
    rewrite_manifest(broken, lambda m: m.update(sha256="0" * 64))
    predict = TestClient(make_app(broken)).get("/openapi.json").json()["paths"]["/predict"]["post"]
    assert "examples" not in predict["requestBody"]["content"]["application/json"]
