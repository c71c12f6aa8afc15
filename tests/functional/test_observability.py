"""What an operator sees: JSON logs with the Lambda context, EMF metrics on Lambda, /metrics locally."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_diabetes

from predictor.observability import metrics
from tests.conftest import Handler, load_event
from tests.utils import fail_inside_mangum, make_app

ROW = [float(v) for v in load_diabetes().data[0]]


def emf_blobs(out: str) -> list[dict[str, Any]]:
    blobs = [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
    return [b for b in blobs if "ColdStart" not in b]


def test_handler_logs_json_with_request_id_cold_start_and_model_version(
    handler: Handler, app_module: Any, log_lines: io.StringIO
) -> None:
    handler(load_event("rest-predict-batch"))
    line = json.loads(log_lines.getvalue().splitlines()[-1])
    assert line["message"] == "request"
    assert line["function_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert isinstance(line["cold_start"], bool)
    assert line["model_version"] == app_module.app.state.bundle.manifest.version
    assert (line["method"], line["path"], line["status"]) == ("POST", "/predict", 200)
    assert "body" not in line  # request bodies are never logged


def test_handler_emits_emf_metrics(handler: Handler, app_module: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    handler(load_event("rest-predict-batch"))
    (blob,) = emf_blobs(capsys.readouterr().out)
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ServerlessInference"
    assert ["service"] in directive["Dimensions"]  # what the rollback alarm watches
    assert ["model_version"] in directive["Dimensions"]  # what the dashboard splits by
    assert blob["model_version"] == app_module.app.state.bundle.manifest.version
    names = {m["Name"] for m in directive["Metrics"]}
    assert {"Requests", "Predictions", "PredictedRows", "PredictLatency"} <= names
    assert blob["PredictedRows"] == [5.0]
    assert blob["PredictLatency"][0] > 0


def test_client_errors_are_counted(handler: Handler, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    handler(load_event("rest-bad-nan"))
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert blob["ClientErrors"] == [1.0]
    assert "Predictions" not in blob


def test_local_metrics_endpoint_in_prometheus_format(default_bundle: Path) -> None:
    client = TestClient(make_app(default_bundle))
    version = client.get("/health").json()["model_version"]
    client.post("/predict", json={"instances": [ROW, ROW, ROW]})
    client.post("/predict", json={"features": [1]})
    text = client.get("/metrics").text
    assert f'predict_predictions_total{{model_version="{version}"}} 1.0' in text
    assert f'predict_rows_total{{model_version="{version}"}} 3.0' in text
    assert f'predict_latency_seconds_count{{model_version="{version}"}} 1.0' in text
    assert f'predict_http_responses_total{{model_version="{version}",status_class="4xx"}} 1.0' in text
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_no_metrics_endpoint_on_lambda(default_bundle: Path) -> None:
    client = TestClient(make_app(default_bundle, on_lambda=True))
    try:
        assert client.get("/metrics").status_code == 404
    finally:
        metrics.clear_metrics()  # buffered for a flush that only the Lambda handler does


def test_an_internal_error_in_the_handler_is_logged_and_counted_as_a_server_error(
    handler: Handler, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], log_lines: io.StringIO
) -> None:
    fail_inside_mangum(monkeypatch)
    capsys.readouterr()
    assert handler(load_event("rest-predict-single"))["statusCode"] == 500
    (blob,) = emf_blobs(capsys.readouterr().out)
    assert blob["ServerErrors"] == [1.0]  # what ServerErrorsAlarm watches
    line = json.loads(log_lines.getvalue().splitlines()[-1])
    assert line["level"] == "ERROR"
    assert "There is no current event loop" in line["exception"]
