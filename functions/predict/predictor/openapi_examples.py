"""The ``/predict`` examples in the OpenAPI document (what Swagger UI's "Try it out" starts from), taken
from the served bundle, not from the default model: its own reference rows (so the body fits its features),
the answers the packager recorded for them, its classes and its version. With a refused bundle there are
none. FastAPI builds the document when ``/openapi.json`` is first asked for, so this costs the cold start
nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from predictor.manifest import Manifest

PREDICT = "/predict"


def _answer(manifest: Manifest, rows: slice, single: bool) -> dict[str, Any]:
    reference = manifest.reference
    predictions, probabilities = reference.predictions[rows], reference.probabilities
    answer: dict[str, Any] = {"prediction": predictions[0]} if single else {"predictions": predictions}
    if probabilities is not None:
        answer["probabilities"] = probabilities[rows][0] if single else probabilities[rows]
    if manifest.classes is not None:
        answer["classes"] = manifest.classes
    answer["model_version"] = manifest.version
    return answer


def predict_examples(manifest: Manifest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Named OpenAPI examples (request, 200 answer): one row, one row by feature name, a batch of two."""
    rows = manifest.reference.rows
    first, batch = slice(0, 1), slice(0, 2)
    by_name = dict(zip(manifest.feature_names, rows[0], strict=True))
    requests = {
        "one_row": {"summary": "one row", "value": {"features": rows[0]}},
        "by_name": {"summary": "one row, by feature name", "value": {"features": by_name}},
        "batch": {"summary": "a batch of rows", "value": {"instances": rows[batch]}},
    }
    answers = {
        "one_row": {"summary": "one row", "value": _answer(manifest, first, single=True)},
        "batch": {"summary": "a batch of rows", "value": _answer(manifest, batch, single=False)},
    }
    return requests, answers


def add_predict_examples(app: FastAPI, manifest: Manifest) -> None:
    """Wrap ``app.openapi`` so that the document it builds (once) carries the model's examples."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            operation = document["paths"][PREDICT]["post"]
            requests, answers = predict_examples(manifest)
            operation["requestBody"]["content"]["application/json"]["examples"] = requests
            operation["responses"]["200"]["content"]["application/json"]["examples"] = answers
        return app.openapi_schema  # type: ignore[return-value]  # build() stored it

    app.openapi = openapi  # type: ignore[method-assign]
