"""schemathesis against the app's own OpenAPI document: generated requests for every operation
(schema-conforming and not), zero 5xx, every 4xx with a JSON ``detail`` (``error`` under /v1 and /v2)."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from tests.utils import make_app
from tools.model import package_model

# schemathesis parametrizes at import; its fixture loader does not work with pytest 9, so the app
# (over the default model, packaged by the project's own packager) is built here.
_BUNDLE = Path(tempfile.mkdtemp(prefix="schemathesis-")) / "model"
with contextlib.redirect_stdout(io.StringIO()):
    assert package_model.main(["--out", str(_BUNDLE)]) == 0
APP = make_app(_BUNDLE)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
CALLS: list[int] = []


PROTOCOLS = r"^/v[12](/|$)"  # /v1: TensorFlow Serving, /v2: Open Inference Protocol; their errors are {"error": ...}


@schema.exclude(path_regex=PROTOCOLS).parametrize()
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_every_4xx_says_why(case: Any) -> None:
    check(case, "detail")


# Fewer examples per operation (2000 each made this file 10 times slower): the protocols have 15 operations,
# most of them a path with and without a version; their tensor checks are tests/functional/test_open_inference.py's.
@schema.include(path_regex=PROTOCOLS).parametrize()
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_protocols_no_5xx_and_every_4xx_says_why(case: Any) -> None:
    check(case, "error")


def check(case: Any, key: str) -> None:
    response = case.call()
    CALLS.append(response.status_code)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()[key], response.text


def test_schemathesis_sent_thousands_of_requests() -> None:
    """Runs after the generated tests (file order): they really ran, and many."""
    print(f"\nschemathesis: {len(CALLS)} requests, statuses {sorted(set(CALLS))}")
    assert len(CALLS) >= 1000
