"""schemathesis against the OpenAPI document of a model with categorical features (tests/housing.py's price
pipeline, served by ONNX Runtime with one input per feature): generated bodies, schema-conforming (numbers and the
categories' strings where the schema says) and not, zero 5xx, every 4xx with a JSON ``detail`` (``error`` under the
standard protocols)."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from tests.housing import write_files
from tests.utils import make_app
from tools.model import package_model

# Built at import, as tests/functional/test_schemathesis.py does (schemathesis parametrizes at import).
_FOLDER = Path(tempfile.mkdtemp(prefix="schemathesis-categorical-"))
_FILES = write_files(_FOLDER)
with contextlib.redirect_stdout(io.StringIO()):
    _ARGS = ["--estimator", str(_FILES.regressor), "--eval-csv", str(_FILES.price_csv), "--target", "price"]
    assert package_model.main([*_ARGS, "--out", str(_FOLDER / "model")]) == 0
schema = schemathesis.openapi.from_asgi("/openapi.json", make_app(_FOLDER / "model"))
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
CALLS: list[int] = []


@schema.include(path="/predict").parametrize()
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
def test_predict_with_strings_no_5xx_and_every_4xx_says_why(case: Any) -> None:
    response = case.call()
    CALLS.append(response.status_code)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["detail"], response.text


def test_schemathesis_sent_both_answers_and_refusals() -> None:
    """Runs after the generated test (file order): schema-conforming bodies were answered, others refused."""
    print(f"\nschemathesis (categorical): {len(CALLS)} requests, statuses {sorted(set(CALLS))}")
    assert len(CALLS) >= 300
    assert {200, 422} <= set(CALLS)
