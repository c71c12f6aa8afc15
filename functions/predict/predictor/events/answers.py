"""The handler's own answers, made when the app never ran: the client's 400 for an event refused before
Mangum could hand it to the app (predictor/events/read.py), and this function's 500 for an event that was
read but could not be run. Each in the shape the event's source expects and in the error shape of the
route's protocol, with ``X-Model-Version`` when a model is loaded, like the app's own answers.
"""

from __future__ import annotations

import json
from typing import Any

from predictor.events.read import MalformedBody, UnservedEventSource
from predictor.events.stage import stage_prefix
from predictor.observability import logger
from predictor.web.errors import PROTOCOL_PATH
from predictor.web.middleware import MODEL_VERSION_HEADER


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


def _route(event: Any) -> str:
    """The route the event asks for, less any stage prefix ("" when the event does not say)."""
    if not isinstance(event, dict):
        return ""
    if event.get("version") != "2.0":  # REST API and ALB: ``path`` is the route (no stage in it)
        path = event.get("path")
        return path if isinstance(path, str) else ""
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    path = http.get("path") if isinstance(http, dict) else None
    if not isinstance(path, str):
        return ""
    return path[len(stage_prefix(event, path)) :]  # HTTP API: a named stage is the first segment


def _answer(event: Any, status: int, detail: str, version: str | None) -> dict[str, Any]:
    """An answer the handler makes itself (the app never ran), in the event's response shape, in the error
    shape of the route's protocol, and with ``X-Model-Version`` when a model is loaded, like the app's."""
    headers = {"content-type": "application/json"}
    if version:
        headers[MODEL_VERSION_HEADER.lower()] = version
    content = {"error": detail} if PROTOCOL_PATH.match(_route(event)) else {"detail": detail}
    response: dict[str, Any] = {"statusCode": status, "body": json.dumps(content), "isBase64Encoded": False}
    if _wants_multi_value_headers(event):
        response["multiValueHeaders"] = {name: [value] for name, value in headers.items()}
    else:
        response["headers"] = headers
    return response


def malformed_event(event: Any, exc: Exception, version: str | None) -> dict[str, Any]:
    """The 400 for an event refused before the app ran."""
    detail = _event_problem(exc)
    logger.warning("malformed event", extra={"reason": detail})
    return _answer(event, 400, detail, version)


def internal_error(event: Any, version: str | None) -> dict[str, Any]:
    """The 500 for an event that was read but could not be run (the trace is logged, never sent)."""
    logger.exception("internal error running the app")
    return _answer(event, 500, "internal error", version)
