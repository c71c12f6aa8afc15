"""Property-based fuzzing: generated bodies and raw events through the Lambda handler.

Every answer is a response with a status below 500; every 4xx carries a JSON ``detail``; every 200
carries exactly the model's predictions. Counts: see ``max_examples`` (and the RELIABILITY section).
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Handler, load_event
from tests.utils import assert_predictions_close

FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
NAMES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

scalars = st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=12) | st.dictionaries(st.text(max_size=6), inner, max_size=6),
    max_leaves=40,
)
rows = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=10, max_size=10)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "features": rows | json_values | st.dictionaries(st.sampled_from([*NAMES, "x"]), json_values, max_size=11),
        "instances": st.lists(rows | json_values, max_size=5) | json_values,
        "extra": json_values,
    },
)


def event_with(body: bytes | str, b64: bool = False) -> dict[str, Any]:
    event = load_event("rest-predict-single")
    raw = body if isinstance(body, bytes) else body.encode()
    event["body"] = base64.b64encode(raw).decode() if b64 else raw.decode("utf-8", "replace")
    event["isBase64Encoded"] = b64
    return event


def check(response: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(response["statusCode"], int)
    assert response["statusCode"] < 500, response["body"]
    payload = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert isinstance(payload["detail"], str)
        assert payload["detail"]
        assert "Traceback" not in response["body"]
    return payload  # type: ignore[no-any-return]


@FUZZ
@given(body=shaped | json_values)
def test_generated_json_bodies(handler: Handler, default_bundle: Any, default_estimator: Any, body: Any) -> None:
    text = json.dumps(body, allow_nan=True)
    response = handler(event_with(text))
    payload = check(response)
    if response["statusCode"] == 200:
        items = [body["features"]] if body.get("features") is not None else body["instances"]
        x = np.array([[r[n] for n in NAMES] if isinstance(r, dict) else r for r in items], dtype=np.float64)
        got = [payload["prediction"]] if "prediction" in payload else payload["predictions"]
        assert_predictions_close(got, default_estimator.predict(x), default_bundle)


@FUZZ
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes(handler: Handler, body: bytes) -> None:
    response = handler(event_with(body, b64=True))
    check(response)
    assert response["statusCode"] in (400, 422)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(rows, min_size=1, max_size=50))
def test_valid_batches_get_exactly_the_models_predictions(
    handler: Handler, default_bundle: Any, default_estimator: Any, batch: list[list[float]]
) -> None:
    response = handler(event_with(json.dumps({"instances": batch})))
    assert response["statusCode"] == 200
    served = json.loads(response["body"])["predictions"]
    assert_predictions_close(served, default_estimator.predict(np.array(batch)), default_bundle)


SOURCES = ["rest-predict-single", "http-predict-single", "alb-predict-single", "rest-health"]


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*prefix, key))
    return found


@st.composite
def malformed_events(draw: st.DrawFn) -> dict[str, Any]:
    event = copy.deepcopy(load_event(draw(st.sampled_from(SOURCES))))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(event)))
        parent = event
        for key in where[:-1]:
            parent = parent[key]
        if not isinstance(parent, dict) or where[-1] not in parent:
            continue
        action = draw(st.sampled_from(["delete", "replace", "huge"]))
        if action == "delete":
            del parent[where[-1]]
        elif action == "replace":
            parent[where[-1]] = draw(json_values)
        else:
            parent[where[-1]] = "x" * 100_000
    return event


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=malformed_events() | json_values)
def test_malformed_events_get_a_clear_answer(handler: Handler, event: Any) -> None:
    response = handler(event)  # no time limit here: how fast is for benchmarks, not for a shared CI machine
    assert isinstance(response, dict)
    status = response["statusCode"]
    assert isinstance(status, int)
    assert status < 500 or status == 503, response
    if status == 400 and "malformed event" in response.get("body", ""):
        assert json.loads(response["body"])["detail"].startswith("malformed event:")
