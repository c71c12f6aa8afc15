"""tools/local/invoke.py (`make invoke`): events fitted to a user's bundle; the answer's status as the exit status."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IRIS_NAMES, Handler, event_names, load_event
from tests.functional.test_events import EXPECTED
from tests.utils import manifest_of
from tools.local import invoke, make_events


def body(event: dict[str, Any]) -> Any:
    raw = event["body"]
    return json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)


def test_event_features_are_the_ones_the_events_are_made_with() -> None:
    assert invoke.EVENT_FEATURES == make_events.NAMES


@pytest.mark.parametrize("name", event_names())
def test_events_untouched_for_the_default_bundle(name: str, default_bundle: Path) -> None:
    assert invoke.fit_event(load_event(name), manifest_of(default_bundle)) is None


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fitted_events_get_the_same_answer_from_a_users_model(
    name: str, iris_bundle: Path, iris_handler: Handler
) -> None:
    """Every event, fitted to the iris bundle's 4 features, gets the status the default model gives the original:
    the good ones are answered, the bad ones stay bad for the same reason."""
    event = load_event(name)
    fitted = invoke.fit_event(event, manifest_of(iris_bundle)) or event
    status, needle = EXPECTED[name]
    response = iris_handler(fitted)
    assert response["statusCode"] == status, response["body"]
    assert needle.replace("expected 10 features, got 11", "expected 4 features, got 5") in response["body"]


def test_fitted_body_keeps_the_events_shape(iris_bundle: Path) -> None:
    manifest = manifest_of(iris_bundle)
    references = manifest["reference"]["rows"]
    single = body(invoke.fit_event(load_event("rest-predict-single"), manifest) or {})
    assert single == {"features": references[0]}
    named = body(invoke.fit_event(load_event("rest-predict-named"), manifest) or {})
    assert [sorted(row) for row in named["instances"]] == [sorted(IRIS_NAMES)] * len(named["instances"])
    b64 = invoke.fit_event(load_event("rest-predict-base64"), manifest) or {}
    assert b64["isBase64Encoded"] is True
    assert body(b64) == {"features": references[0]}


def test_without_reference_rows_a_row_of_zeros() -> None:
    manifest = {"feature_names": ["a", "b"]}
    fitted = invoke.fit_event(load_event("http-predict-single"), manifest) or {}
    assert body(fitted) == {"features": [0.0, 0.0]}


@pytest.mark.parametrize(
    ("stdout", "status"),
    [
        (b'START\n{"statusCode": 422, "body": "{}"}\n', 422),
        (b'{"statusCode": 200, "body": "{}"}\n\n', 200),
        (b'{"errorMessage": "boom", "errorType": "Exception"}\n', None),
        (b"", None),
    ],
)
def test_answer_status(stdout: bytes, status: int | None) -> None:
    assert invoke.answer_status(stdout) == status
