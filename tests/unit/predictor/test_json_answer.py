"""The function's JSON answers are Starlette's JSONResponse text, byte for byte."""

from __future__ import annotations

import math

import pytest
from fastapi.responses import JSONResponse

from predictor.web.json_answer import JsonAnswer


@pytest.mark.parametrize(
    "content",
    [
        {"prediction": 209.77497707765832, "model_version": "b618488aaffa"},
        {"predictions": ["élevé", "低"], "probabilities": [[0.1, 0.9], [1e-300, 1.0]], "classes": [True, 3]},
        {"detail": "features[3] (city): unknown category 'Zürich'"},
    ],
)
def test_the_same_bytes_as_starlettes_json_response(content: object) -> None:
    assert JsonAnswer(content).body == JSONResponse(content).body


def test_nan_is_refused_as_starlette_refuses_it() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        JsonAnswer({"prediction": math.nan})
