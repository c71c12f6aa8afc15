"""Predictions through the Lambda handler equal the fitted estimator's predict on the same rows (within the
bundle's tolerance: ONNX Runtime serves them; labels are identical),
for REST (v1), HTTP API (v2) and ALB events - including events printed by `sam local generate-event` -
for the default model and for a user's classifier pipeline packaged with `make model MODEL=...`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from tests.conftest import IRIS_NAMES, ROOT, Handler, import_app, production_handler
from tests.utils import assert_predictions_close

SAM = ROOT / ".venv-sam" / "bin" / "sam"


def rest_event(path: str, body: str) -> dict[str, Any]:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "requestContext": {"path": f"/prod{path}", "stage": "prod", "identity": {"sourceIp": "203.0.113.9"}},
        "body": body,
        "isBase64Encoded": False,
    }


def http_event(path: str, body: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": f"/prod{path}",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "stage": "prod",
            "http": {"method": "POST", "path": f"/prod{path}", "sourceIp": "203.0.113.9", "protocol": "HTTP/1.1"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def alb_event(path: str, body: str) -> dict[str, Any]:
    return {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:::targetgroup/x/y"}},
        "httpMethod": "POST",
        "path": path,
        "queryStringParameters": {},
        "headers": {"content-type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
    }


BUILDERS: dict[str, Callable[[str, str], dict[str, Any]]] = {"rest": rest_event, "http": http_event, "alb": alb_event}


def sam_generated(kind: str, body: str) -> dict[str, Any]:
    """An event exactly as `sam local generate-event` prints it (the body arrives base64-encoded)."""
    args = {"rest": ["apigateway", "aws-proxy"], "http": ["apigateway", "http-api-proxy"], "alb": ["alb", "request"]}
    out = subprocess.run(
        [str(SAM), "local", "generate-event", *args[kind], "--method", "POST", "--path", "predict", "--body", body],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def predict_all(handler: Handler, build: Callable[[str, str], dict[str, Any]], rows: np.ndarray) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(rows), 100):
        response = handler(build("/predict", json.dumps({"instances": rows[start : start + 100].tolist()})))
        assert response["statusCode"] == 200, response["body"]
        out.extend(json.loads(response["body"])["predictions"])
    return out


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_default_model_over_the_whole_dataset(
    kind: str, handler: Handler, default_bundle: Path, default_estimator: Any
) -> None:
    rows = load_diabetes().data  # 442 rows, in batches of 100
    served = predict_all(handler, BUILDERS[kind], rows)
    assert_predictions_close(served, default_estimator.predict(rows), default_bundle)  # ONNX Runtime vs sklearn


@pytest.mark.sam
@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_events_from_sam_generate_event(
    kind: str, handler: Handler, default_bundle: Path, default_estimator: Any
) -> None:
    rows = load_diabetes().data[10:13]
    event = sam_generated(kind, json.dumps({"instances": rows.tolist()}))
    assert event["isBase64Encoded"] is True
    response = handler(event)
    assert response["statusCode"] == 200, response["body"]
    served = json.loads(response["body"])["predictions"]
    assert_predictions_close(served, default_estimator.predict(rows), default_bundle)


@pytest.fixture(scope="module")
def made_iris_bundle(tmp_path_factory: pytest.TempPathFactory, iris_estimator: Path) -> Path:
    """`make model MODEL=... FEATURE_NAMES=...`, exactly as a user brings a model (into a temp folder)."""
    out = tmp_path_factory.mktemp("make") / "model"
    subprocess.run(
        ["make", "--no-print-directory", "-s", "model", f"MODEL={iris_estimator}",
         f"FEATURE_NAMES={','.join(IRIS_NAMES)}", "MODEL_VERSION=2.0.0", f"MODEL_OUT={out}"],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    return out


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_user_classifier_pipeline_packaged_with_make_model(
    kind: str, made_iris_bundle: Path, iris_estimator: Path
) -> None:
    manifest = json.loads((made_iris_bundle / "manifest.json").read_text())
    assert manifest["task"] == "classification"
    assert manifest["feature_names"] == IRIS_NAMES
    assert manifest["classes"] == ["setosa", "versicolor", "virginica"]
    model = joblib.load(iris_estimator)
    handler = production_handler(import_app(made_iris_bundle))
    rows = load_iris().data
    named = [dict(zip(IRIS_NAMES, map(float, r), strict=True)) for r in rows[:40]]
    response = handler(BUILDERS[kind]("/predict", json.dumps({"instances": named})))
    assert response["statusCode"] == 200, response["body"]
    out = json.loads(response["body"])
    assert out["predictions"] == model.predict(rows[:40]).tolist()  # labels: identical in every runtime
    assert_predictions_close(out["probabilities"], model.predict_proba(rows[:40]), made_iris_bundle)
    assert out["classes"] == manifest["classes"]
    assert out["model_version"] == "2.0.0"
    headers = response.get("headers") or {}
    multi = response.get("multiValueHeaders") or {}
    assert headers.get("x-model-version", (multi.get("x-model-version") or [None])[-1]) == "2.0.0"
    assert predict_all(handler, BUILDERS[kind], rows) == model.predict(rows).tolist()


def test_single_row_of_a_classifier_has_its_probabilities(
    iris_handler: Handler, iris_bundle: Path, iris_estimator: Path
) -> None:
    model = joblib.load(iris_estimator)
    row = load_iris().data[120]
    response = iris_handler(rest_event("/predict", json.dumps({"features": row.tolist()})))
    out = json.loads(response["body"])
    assert out["prediction"] == model.predict([row])[0] == "virginica"
    assert_predictions_close(out["probabilities"], model.predict_proba([row])[0], iris_bundle)
    assert abs(sum(out["probabilities"]) - 1) < 1e-9
