"""The FastAPI application: routes, error shapes, the X-Model-Version header, telemetry, stage handling."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predictor.bundle import LoadedBundle, PredictionError
from predictor.events import MalformedBody, UnservedEventSource
from predictor.features import RequestError
from predictor.observability import EmfTelemetry, PrometheusTelemetry, Telemetry, logger
from predictor.routes import router
from predictor.settings import Settings
from predictor.stage import StageRootPath

MODEL_VERSION_HEADER = "X-Model-Version"
COLD_START_HEADER = (b"x-cold-start", b"true")  # lets a load client count cold starts it met


class ObserveResponses:
    """Adds ``X-Model-Version`` to every response (and ``X-Cold-Start: true`` to a process's first),
    counts it by status, and logs one line per request."""

    def __init__(self, app: ASGIApp, version: str | None, telemetry: Telemetry) -> None:
        self.app = app
        self.header = (MODEL_VERSION_HEADER.lower().encode(), version.encode()) if version else None
        self.telemetry = telemetry
        self.cold = True  # the first response of this process (execution environment) says so

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # if the app dies before it starts a response, that is what the client gets

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [self.header] if self.header is not None else []
                if self.cold:
                    self.cold = False
                    extra.append(COLD_START_HEADER)
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.telemetry.response(status)
            logger.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                },
            )


async def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    content: dict[str, object] = {"detail": exc.detail}
    if exc.errors:
        content["errors"] = exc.errors
    return JSONResponse(content, status_code=exc.status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, status_code=422)


async def _prediction_error(request: Request, exc: Exception) -> JSONResponse:
    # Finite inputs that drive the model to NaN/infinity (e.g. 1e306) are the request's doing: a 4xx,
    # logged as a warning so a model that does this to ordinary inputs still shows in the logs.
    logger.warning("prediction refused: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error")  # the trace goes to the log, never to the client
    return JSONResponse({"detail": "internal error"}, status_code=500)


def _event_problem(exc: Exception) -> str:
    """The client-facing detail for an event the handler refused: the source or the body when it is
    one of those, else why the event is not an API Gateway or ALB request."""
    if isinstance(exc, UnservedEventSource):
        return str(exc)
    if isinstance(exc, MalformedBody):
        return f"malformed event: {exc}"
    reason = f"{type(exc).__name__}: {exc}"[:300]
    return f"malformed event: not an API Gateway (REST or HTTP API) or ALB request ({reason})"


def _wants_multi_value_headers(event: Any) -> bool:
    """An ALB target group with multi-value headers on sends ``multiValueHeaders`` and must get them back,
    not ``headers`` (Mangum's ALB handler decides the same way); API Gateway accepts ``headers``."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    return isinstance(context, dict) and "elb" in context and "multiValueHeaders" in event


def malformed_event(event: Any, exc: Exception, version: str | None) -> dict[str, Any]:
    """What the handler answers for an event it refused (before the app ran), in the event's response
    shape and with ``X-Model-Version`` when a model is loaded, like every answer the app makes."""
    detail = _event_problem(exc)
    logger.warning("malformed event", extra={"reason": detail})
    headers = {"content-type": "application/json"}
    if version:
        headers[MODEL_VERSION_HEADER.lower()] = version
    response: dict[str, Any] = {"statusCode": 400, "body": json.dumps({"detail": detail}), "isBase64Encoded": False}
    if _wants_multi_value_headers(event):
        response["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        response["headers"] = headers
    return response


def local_telemetry(version: str | None) -> Telemetry:
    """Prometheus when prometheus_client is installed (the dev venv); the deployed package has none."""
    try:
        return PrometheusTelemetry(version)
    except ImportError:
        return EmfTelemetry(version)


def create_app(settings: Settings, loaded: LoadedBundle, telemetry: Telemetry | None = None) -> FastAPI:
    manifest = loaded.bundle.manifest if loaded.bundle else None
    version = manifest.version if manifest else None
    if telemetry is None:
        telemetry = EmfTelemetry(version) if settings.on_lambda else local_telemetry(version)
    app = FastAPI(
        title="Serverless model inference",
        summary=f"{manifest.name} {manifest.version} ({manifest.task})" if manifest else "no model loaded",
        version=version or "unavailable",
    )
    app.state.settings = settings
    app.state.bundle = loaded.bundle
    app.state.bundle_error = loaded.error
    app.state.telemetry = telemetry
    app.include_router(router)
    if isinstance(telemetry, PrometheusTelemetry):
        exposition = telemetry.exposition

        @app.get("/metrics", include_in_schema=False)
        async def prometheus_metrics() -> Response:
            body, content_type = exposition()
            return Response(body, media_type=content_type)

    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PredictionError, _prediction_error)
    app.add_exception_handler(Exception, _unhandled)
    # add_middleware wraps everything added before it: the last added sees each request first.
    if settings.cors_allow_origins:  # only the origins listed in CORS_ALLOW_ORIGINS (prod lists them)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "x-api-key", "authorization"],
            expose_headers=[MODEL_VERSION_HEADER, "X-Cold-Start"],
            max_age=600,
        )
    app.add_middleware(StageRootPath)  # the stage prefix must be known before routing
    # Outermost, so every response is observed, the preflights CORS answers by itself included.
    app.add_middleware(ObserveResponses, version=version, telemetry=telemetry)
    return app
