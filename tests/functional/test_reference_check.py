"""Through the production handler: a bundle whose stored answers this runtime does not reproduce is
refused at cold start like a hash mismatch (/health 503, /predict never serves)."""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from predictor.observability import logger
from tests.conftest import Handler, import_app, load_event, production_handler


def test_bundle_whose_reference_outputs_differ_is_never_served(default_bundle: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(default_bundle, tmp_path / "model"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["reference"]["predictions"][11] += 0.001  # model.joblib untouched: its sha256 still matches
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    handler = production_handler(import_app(bundle))

    health = handler(load_event("rest-health"))
    assert health["statusCode"] == 503
    detail = json.loads(health["body"])["detail"]
    assert detail.startswith("reference predictions not reproduced: row 11 prediction: served ")
    assert "|difference| 0.001 > tolerance" in detail

    for name in ("rest-predict-single", "rest-predict-batch", "http-predict-single", "alb-predict-single"):
        response = handler(load_event(name))
        assert response["statusCode"] == 503, name
        assert json.loads(response["body"])["detail"] == f"model not loaded: {detail}"


@pytest.fixture
def function_log() -> Iterator[io.StringIO]:
    """What the function's JSON log handler (Powertools, shared with the predictor loggers) writes."""
    stream = io.StringIO()
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.setStream(stream) for h in handlers]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def test_the_check_and_a_refusal_are_logged_as_json(
    default_bundle: Path, tmp_path: Path, function_log: io.StringIO
) -> None:
    import_app(default_bundle)
    import_app(tmp_path / "absent")
    lines = [json.loads(line) for line in function_log.getvalue().splitlines()]
    assert lines[0]["message"].startswith("reference predictions reproduced: 32 rows in ")
    assert (lines[0]["level"], lines[0]["name"]) == ("INFO", "predictor.model.bundle")
    assert lines[-1]["message"] == f"model bundle refused: model directory not found: {tmp_path / 'absent'}"
    assert lines[-1]["level"] == "ERROR"


def test_finite_inputs_that_overflow_the_model_get_a_422_not_a_500(handler: Handler) -> None:
    # pytest turns warnings into errors: numpy's overflow warning must not escape as a 500 either.
    event = load_event("rest-predict-single")
    event["body"] = json.dumps({"features": [1e306] * 10})
    response = handler(event)
    assert response["statusCode"] == 422, response["body"]
    assert json.loads(response["body"])["detail"].startswith("the model's prediction is not a finite number for row")
