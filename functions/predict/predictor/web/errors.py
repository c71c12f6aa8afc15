"""The client's mistakes and the model's refusals, and the JSON each is answered with: ``{"detail": ...}`` (plus
``errors``, each problem with its location, when the body's values were checked), never a stack trace. Under the
standard protocols' paths (``/v2``: Open Inference Protocol, ``/v1``: TensorFlow Serving) the same errors are
``{"error": ...}``, the shape their clients read (tritonclient raises with that message), unknown routes there
included.

The exception classes carry no web framework; ``add_error_handlers`` binds them to FastAPI."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from predictor.model.bundle import PredictionError
from predictor.observability import logger

PROTOCOL_PATH = re.compile(r"/v[12](/|$)")  # /v1/...: TensorFlow Serving REST; /v2, /v2/...: Open Inference
MAX_LISTED_ERRORS = 5  # problems named in a one-line detail; the others counted


def listed(problems: list[str]) -> str:
    """One line: the first ``MAX_LISTED_ERRORS`` problems, and how many more there are."""
    more = len(problems) - MAX_LISTED_ERRORS
    return "; ".join(problems[:MAX_LISTED_ERRORS]) + (f" (and {more} more)" if more > 0 else "")


class RequestError(Exception):
    """A client error: HTTP status, a one-line detail and the individual problems."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


def speaks_protocol(request: Request) -> bool:
    """Whether the request's route (its path less the stage prefix) is one of the standard protocols'."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return PROTOCOL_PATH.match(path) is not None


def error_content(request: Request, detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    if speaks_protocol(request):
        return {"error": detail}
    return {"detail": detail, "errors": errors} if errors else {"detail": detail}


async def _request_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return JSONResponse(error_content(request, exc.detail, exc.errors), status_code=exc.status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return JSONResponse(error_content(request, "; ".join(problems) or "invalid request"), status_code=422)


async def _http_error(request: Request, exc: Exception) -> Any:
    """404/405 for unknown routes, 503 for a refused bundle: FastAPI's answer, or the protocols' shape."""
    assert isinstance(exc, StarletteHTTPException)
    if not speaks_protocol(request):
        return await http_exception_handler(request, exc)
    return JSONResponse(error_content(request, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _prediction_error(request: Request, exc: Exception) -> JSONResponse:
    # Finite inputs that drive the model to NaN/infinity (e.g. 1e306) are the request's doing: a 4xx,
    # logged as a warning so a model that does this to ordinary inputs still shows in the logs.
    logger.warning("prediction refused: %s", exc)
    return JSONResponse(error_content(request, str(exc)), status_code=422)


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error")  # the trace goes to the log, never to the client
    return JSONResponse(error_content(request, "internal error"), status_code=500)


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PredictionError, _prediction_error)
    app.add_exception_handler(Exception, _unhandled)
