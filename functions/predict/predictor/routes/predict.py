"""The endpoints: /predict, /health, /model. Routes are ``async def``: no thread-pool hop per request; each takes
the request alone and finds the bundle and settings in the app's state: no dependency solving per request
(predictor/web/request_route.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from predictor.model.bundle import ModelBundle
from predictor.model.manifest import manifest_dict
from predictor.model.runtime import Rows
from predictor.pipeline import get_bundle, serve
from predictor.rows import parse_request, to_matrix
from predictor.schemas import BatchPrediction, ErrorResponse, Health, PredictRequest, SinglePrediction
from predictor.settings import Settings
from predictor.web.json_answer import JsonAnswer
from predictor.web.request_route import DocumentedLater

router = APIRouter()
routes = DocumentedLater(router)  # predictor/api.py documents them when the OpenAPI document is first built


def _error(description: str, detail: str) -> dict[str, Any]:
    return {
        "model": ErrorResponse,
        "description": description,
        "content": {"application/json": {"example": {"detail": detail}}},
    }


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _error(
        "Body is not JSON (malformed, truncated or empty).",
        "malformed JSON: EOF while parsing a list at line 1 column 17",
    ),
    413: _error(
        "More rows than MAX_BATCH_ROWS, or a body over MAX_BODY_BYTES.",
        "too many rows: 1001 > 1000 (MAX_BATCH_ROWS); split the batch",
    ),
    422: _error(
        "JSON that does not fit the model (wrong count, names, types).",
        "features[2]: expected a number, got boolean true",
    ),
    503: _error(
        "The model bundle was refused at load; detail says why.", "model not loaded: sha256 mismatch: manifest says ..."
    ),
}


def predict_documentation() -> dict[str, Any]:
    return {
        "summary": "Predict one row (features) or a batch (instances)",
        "response_model": SinglePrediction | BatchPrediction,
        "responses": _ERRORS,
        "openapi_extra": {
            # The body is read raw and validated once, by pydantic-core, straight from bytes: faster than
            # FastAPI's json.loads + validate, accepted whatever the Content-Type (curl -d sends a form
            # type), and with error messages that name the row and feature.
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
            }
        },
    }


@routes.route("/predict", "POST", predict_documentation)
async def predict(request: Request) -> JSONResponse:
    bundle = await get_bundle(request)
    result, single = await serve(request, bundle, predict_body)
    manifest = bundle.manifest
    content: dict[str, Any]
    if single:
        content = {"prediction": result.predictions[0]}
        if result.probabilities is not None:
            content["probabilities"] = result.probabilities[0]
    else:
        content = {"predictions": result.predictions}
        if result.probabilities is not None:
            content["probabilities"] = result.probabilities
    if manifest.classes is not None:
        content["classes"] = manifest.classes
    content["model_version"] = manifest.version
    return JsonAnswer(content)


def predict_body(body: bytes, bundle: ModelBundle, settings: Settings) -> tuple[Rows, bool]:
    """/predict's body: one row (``features``) or a batch (``instances``), as rows, and whether it was one row."""
    features = bundle.features
    return to_matrix(parse_request(body, features.typed), features, settings.max_batch_rows)


@routes.route("/health", "GET", lambda: {"response_model": Health, "responses": {503: {"model": Health}}})
async def health(request: Request) -> JSONResponse:
    bundle: ModelBundle | None = request.app.state.bundle
    if bundle is None:
        return JSONResponse(
            {"status": "error", "model_version": None, "detail": request.app.state.bundle_error}, status_code=503
        )
    return JSONResponse({"status": "ok", "model_version": bundle.manifest.version})


@routes.route("/model", "GET", lambda: {"summary": "The model card (the bundle's manifest)",
                                        "responses": {503: {"model": ErrorResponse}}})  # fmt: skip
async def model_card(request: Request) -> JSONResponse:
    return JSONResponse(manifest_dict((await get_bundle(request)).manifest))
