"""The endpoints: /predict, /health, /model. Routes are ``async def``: no thread-pool hop per request."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from predictor.bundle import ModelBundle, Prediction
from predictor.errors import RequestError
from predictor.features import parse_request, to_matrix
from predictor.manifest import manifest_dict
from predictor.outputs import FloatMatrix
from predictor.schemas import BatchPrediction, ErrorResponse, Health, PredictRequest, SinglePrediction
from predictor.settings import Settings

router = APIRouter()

# Dependencies are `async def` too: FastAPI runs plain `def` ones in a thread pool, a hop per call.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_bundle(request: Request) -> ModelBundle:
    bundle: ModelBundle | None = request.app.state.bundle
    if bundle is None:
        raise HTTPException(status_code=503, detail=f"model not loaded: {request.app.state.bundle_error}")
    return bundle


BundleDep = Annotated[ModelBundle, Depends(get_bundle)]


def check_time_left(request: Request, minimum_ms: int) -> None:
    """On Lambda, refuse (503, retryable) a request that the invocation's timeout would cut off."""
    context = request.scope.get("aws.context")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining) and remaining() < minimum_ms:
        raise HTTPException(
            status_code=503,
            detail=f"not enough time left in this invocation ({remaining()} ms < MIN_TIME_LEFT_MS={minimum_ms}); retry",
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit`` bytes."""
    too_large = RequestError(413, f"request body over {limit:,} bytes (MAX_BODY_BYTES); split the batch")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def predict_rows(request: Request, bundle: ModelBundle, rows: FloatMatrix) -> Prediction:
    """The one prediction path of every route (/predict and the standard protocols): the bundle's
    ``predict`` on a float64 (n, n_features) matrix, timed and counted in the telemetry."""
    start = time.perf_counter()
    result = bundle.predict(rows)
    request.app.state.telemetry.prediction(len(rows), time.perf_counter() - start)
    return result


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


@router.post(
    "/predict",
    summary="Predict one row (features) or a batch (instances)",
    response_model=SinglePrediction | BatchPrediction,
    responses=_ERRORS,
    openapi_extra={
        # The body is read raw and validated once, by pydantic-core, straight from bytes: faster than
        # FastAPI's json.loads + validate, accepted whatever the Content-Type (curl -d sends a form
        # type), and with error messages that name the row and feature.
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PredictRequest.model_json_schema()}},
        }
    },
)
async def predict(request: Request) -> JSONResponse:
    # The hot route reads the bundle and settings itself: with FastAPI's dependency solving the one-row
    # handler p50 was 585 µs, without it 537 µs (same run); /model keeps the dependency.
    bundle, settings = await get_bundle(request), await get_settings(request)
    check_time_left(request, settings.min_time_left_ms)
    body = parse_request(await read_body(request, settings.max_body_bytes))
    rows, single = to_matrix(body, bundle.feature_names, settings.max_batch_rows)
    result = predict_rows(request, bundle, rows)
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
    return JSONResponse(content)


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    bundle: ModelBundle | None = request.app.state.bundle
    if bundle is None:
        return JSONResponse(
            {"status": "error", "model_version": None, "detail": request.app.state.bundle_error}, status_code=503
        )
    return JSONResponse({"status": "ok", "model_version": bundle.manifest.version})


@router.get("/model", summary="The model card (the bundle's manifest)", responses={503: {"model": ErrorResponse}})
async def model_card(bundle: BundleDep) -> JSONResponse:
    return JSONResponse(manifest_dict(bundle.manifest))
