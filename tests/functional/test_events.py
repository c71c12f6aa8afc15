"""Every file in events/ through the Lambda handler, as `sam local invoke -e events/<name>.json` does."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from tests.conftest import Handler, event_names, load_event

# name -> (status, what the body must contain). A new event file without an entry here fails the suite.
EXPECTED: dict[str, tuple[int, str]] = {
    "rest-predict-single": (200, '"prediction":'),
    "rest-predict-batch": (200, '"predictions":'),
    "rest-predict-named": (200, '"predictions":'),
    "rest-predict-base64": (200, '"prediction":'),
    "rest-health": (200, '"status":"ok"'),
    "rest-model": (200, '"feature_names":'),
    "rest-docs": (200, "url: '/prod/openapi.json'"),
    "rest-openapi": (200, '"servers":[{"url":"/prod"}]'),
    "rest-bad-feature-count": (422, "features: expected 10 features, got 11"),
    "rest-bad-nan": (422, "features[3]: expected a finite number, got NaN"),
    "rest-bad-string": (422, "features[0]: expected a number, got string '0.03'"),
    "rest-bad-unknown-feature": (422, "instances[0]: unknown features: weight"),
    "rest-bad-malformed-json": (400, "malformed JSON"),
    "rest-bad-empty-body": (400, "empty request body"),
    "rest-bad-too-many-rows": (413, "too many rows: 1001 > 1000"),
    "rest-not-found": (404, '"detail":"Not Found"'),
    "rest-wrong-method": (405, '"detail":"Method Not Allowed"'),
    "http-predict-single": (200, '"prediction":'),
    "http-health": (200, '"status":"ok"'),
    "http-stage-predict-batch": (200, '"predictions":'),
    "http-stage-docs": (200, "url: '/prod/openapi.json'"),
    "http-bad-json-array": (422, "must be a JSON object with 'features' or 'instances', got an array"),
    "alb-predict-single": (200, '"prediction":'),
    "alb-health": (200, '"status":"ok"'),
    "alb-bad-boolean": (422, "features[0]: expected a number, got boolean true"),
}


def body_of(event: dict[str, Any]) -> bytes:
    raw = event.get("body") or ""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()


def header(response: dict[str, Any], name: str) -> str | None:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    multi = {k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items() if v}
    return headers.get(name) or multi.get(name)


def test_every_event_file_has_an_expectation() -> None:
    assert event_names() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event(name: str, handler: Handler) -> None:
    status, needle = EXPECTED[name]
    event = load_event(name)
    response = handler(event)
    assert response["statusCode"] == status, response["body"]
    assert needle in response["body"]
    assert header(response, "x-model-version")
    if status >= 400:
        assert json.loads(response["body"])["detail"]  # every error says what was wrong


@pytest.mark.parametrize("name", [n for n, (s, _) in EXPECTED.items() if s == 200 and "predict" in n])
def test_event_predictions_equal_model_predict(name: str, handler: Handler, app_module: Any) -> None:
    """The handler's numbers are exactly the bundle's numbers on the rows in the event's body (one process,
    one runtime: whatever the event source and encoding, the same rows reach the model)."""
    event = load_event(name)
    request = json.loads(body_of(event))
    names = app_module.app.state.bundle.feature_names
    raw_rows = [request["features"]] if "features" in request else request["instances"]
    rows = np.array([[r[n] for n in names] if isinstance(r, dict) else r for r in raw_rows], dtype=np.float64)
    expected = app_module.app.state.bundle.predict(rows).predictions
    out = json.loads(handler(event)["body"])
    assert (out["predictions"] if "predictions" in out else [out["prediction"]]) == expected
