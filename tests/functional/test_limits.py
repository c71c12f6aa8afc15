"""Limits: the body size cap, the row cap, and the size of the largest answer."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sklearn.datasets import load_diabetes, load_iris

from tests.conftest import Handler, load_event
from tests.utils import make_app

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024  # synchronous invocation payload, bytes


def test_body_over_the_cap_is_413_before_it_is_parsed(default_bundle: Path) -> None:
    client = TestClient(make_app(default_bundle, max_body_bytes=2000))
    row = [float(v) for v in load_diabetes().data[0]]
    small = client.post("/predict", json={"instances": [row] * 5})
    assert small.status_code == 200
    big = client.post("/predict", content=json.dumps({"instances": [row] * 50}))
    assert big.status_code == 413
    assert big.json()["detail"] == "request body over 2,000 bytes (MAX_BODY_BYTES); split the batch"
    garbage = client.post("/predict", content=b"[" * 5000)  # refused on size, never parsed
    assert garbage.status_code == 413


def test_body_cap_applies_to_lambda_events_too(handler: Handler) -> None:
    event = load_event("rest-predict-single")
    event["body"] = json.dumps({"instances": [[0.0] * 10] * 120_000})  # ~5.3 MB
    response = handler(event)
    assert response["statusCode"] == 413
    assert "MAX_BODY_BYTES" in json.loads(response["body"])["detail"]


def test_largest_allowed_batch_answers_under_lambdas_6_mb(handler: Handler, iris_handler: Handler) -> None:
    regression = load_event("rest-predict-single")
    regression["body"] = json.dumps({"instances": load_diabetes().data[:442].tolist() * 2 + [[0.0] * 10] * 116})
    response = handler(regression)
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["predictions"]) == 1000
    classification = load_event("rest-predict-single")
    classification["body"] = json.dumps({"instances": (load_iris().data.tolist() * 7)[:1000]})
    answered = iris_handler(classification)
    assert answered["statusCode"] == 200
    sizes = [len(json.dumps(r)) for r in (response, answered)]
    print(f"\nlargest answers (1,000 rows): regression {sizes[0]:,} B, classifier with probabilities {sizes[1]:,} B")
    assert max(sizes) < LAMBDA_RESPONSE_LIMIT
