"""The one prediction pipeline, shared by every router (/predict, the Open Inference Protocol, TF Serving):
the served bundle (or the 503 that says why there is none), the time the invocation has left, the body read
within its limit, and the bundle's ``predict`` on the rows (predictor/model/features.py), timed and counted.

A router finds its bundle (``get_bundle``, or a protocol's model name and version), hands ``serve`` the
parser of its own body (predictor/rows.py, predictor/protocols/...), and shapes its own answer from what
``serve`` returns: the request passes this module once on its way to the model. Routers import this module,
never each other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from fastapi import HTTPException, Request
from starlette.requests import ClientDisconnect

from predictor.model.bundle import ModelBundle, Prediction
from predictor.model.runtime import Rows
from predictor.observability import Telemetry
from predictor.settings import Settings
from predictor.web.errors import RequestError

Parsed = TypeVar("Parsed")
# A router's body parser: (body, bundle, settings) -> (the rows, what else the router needs for its answer)
Parser = Callable[[bytes, ModelBundle, Settings], tuple[Rows, Parsed]]

# The bundle and the settings are read from the app's state, set at init: no FastAPI dependency is solved per
# request (predictor/web/request_route.py).


async def get_bundle(request: Request) -> ModelBundle:
    bundle: ModelBundle | None = request.app.state.bundle
    if bundle is None:
        raise HTTPException(status_code=503, detail=f"model not loaded: {request.app.state.bundle_error}")
    return bundle


def check_time_left(request: Request, minimum_ms: int) -> None:
    """On Lambda, refuse (503, retryable) a request that the invocation's timeout would cut off."""
    context = request.scope.get("aws.context")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining) and remaining() < minimum_ms:
        raise HTTPException(
            status_code=503,
            detail=f"not enough time left in this invocation ({remaining()} ms < MIN_TIME_LEFT_MS={minimum_ms}); retry",
        )


def too_large(limit: int) -> RequestError:
    return RequestError(413, f"request body over {limit:,} bytes (MAX_BODY_BYTES); split the batch")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``limit`` bytes. Read from the ASGI messages
    themselves: Mangum sends the whole body in one, a server in as many as it likes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def predict_rows(bundle: ModelBundle, rows: Rows, telemetry: Telemetry) -> Prediction:
    """The one prediction path of every route (/predict and the standard protocols): the bundle's
    ``predict`` on the rows (predictor/model/features.py), timed and counted in the telemetry."""
    start = time.perf_counter()
    result = bundle.predict(rows)
    telemetry.prediction(len(rows), time.perf_counter() - start)
    return result


async def serve(request: Request, bundle: ModelBundle, parse: Parser[Parsed]) -> tuple[Prediction, Parsed]:
    """The pipeline, in one pass: time left, the body within its limit, the router's parser, the bundle's prediction;
    the app's settings and telemetry read once (from its state, set at init)."""
    state = request.app.state
    settings: Settings = state.settings
    check_time_left(request, settings.min_time_left_ms)
    rows, parsed = parse(await read_body(request, settings.max_body_bytes), bundle, settings)
    return predict_rows(bundle, rows, state.telemetry), parsed
