"""The FastAPI application: routes, error shapes, the X-Model-Version header and stage handling."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predictor.bundle import LoadedBundle, PredictionError
from predictor.features import RequestError
from predictor.routes import router
from predictor.settings import Settings
from predictor.stage import StageRootPath

logger = logging.getLogger(__name__)

MODEL_VERSION_HEADER = "X-Model-Version"


class ModelVersionHeader:
    """Adds ``X-Model-Version`` to every response (when a model is loaded)."""

    def __init__(self, app: ASGIApp, version: str | None) -> None:
        self.app = app
        self.header = (MODEL_VERSION_HEADER.lower().encode(), version.encode()) if version else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.header is None:
            await self.app(scope, receive, send)
            return
        header = self.header

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_header)


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
    logger.error("prediction refused: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=500)


def create_app(settings: Settings, loaded: LoadedBundle) -> FastAPI:
    manifest = loaded.bundle.manifest if loaded.bundle else None
    app = FastAPI(
        title="Serverless model inference",
        summary=f"{manifest.name} {manifest.version} ({manifest.task})" if manifest else "no model loaded",
        version=manifest.version if manifest else "unavailable",
    )
    app.state.settings = settings
    app.state.bundle = loaded.bundle
    app.state.bundle_error = loaded.error
    app.include_router(router)
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PredictionError, _prediction_error)
    # Outermost first: the stage prefix must be known before routing; the header wraps every response.
    app.add_middleware(ModelVersionHeader, version=manifest.version if manifest else None)
    app.add_middleware(StageRootPath)
    return app
