"""The client's mistakes and the model's refusals, and the JSON each is answered with: ``{"detail": ...}``
(plus ``errors`` when there are several problems), never a stack trace.

The exception classes carry no web framework; ``add_error_handlers`` binds them to FastAPI."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from predictor.observability import logger


class RequestError(Exception):
    """A client error: HTTP status, a one-line detail and the individual problems."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


class PredictionError(RuntimeError):
    """The model produced an output that must not be served (NaN, infinity): answered 422, never served."""


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


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestError, _request_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PredictionError, _prediction_error)
    app.add_exception_handler(Exception, _unhandled)
