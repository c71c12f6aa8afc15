"""API Gateway stages for ASGI: the URL prefix a browser sees becomes the ASGI ``root_path``.

Mangum always sets ``root_path`` to "" and, for HTTP API (v2) events, passes ``rawPath``-like paths
that still carry a named stage. ``stage_scope`` reads the raw event (Mangum puts it in
``scope["aws.event"]``) and fixes both, so routes match and ``/docs`` points at the right
``openapi.json``; the outermost middleware applies it before anything routes the request
(predictor/web/middleware.py):

- REST API (v1): ``requestContext.path`` is what the client requested ("/prod/docs" on the
  execute-api domain, "/docs" or "/base/docs" on a custom domain) and ``path`` is the route ("/docs").
  The prefix is the difference. ``sam local start-api`` puts the route template in
  ``requestContext.path`` (e.g. "/{proxy+}"), which is not a suffix match, so no prefix: right,
  because the local URL has no stage in it. Events some tools generate have no
  ``requestContext.path``: then, on an execute-api host (``<id>.execute-api.<region>.amazonaws.com``,
  where every URL begins with the stage), the prefix is ``/<requestContext.stage>``; on any other host
  (custom domain, ``sam local``) there is none.
- HTTP API (v2): a named stage appears as the first path segment ("/prod/predict"); the
  ``$default`` stage has none.
- ALB events and plain HTTP (uvicorn) are left untouched.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import Scope

EXECUTE_API_HOST = re.compile(
    r"[a-z0-9]+(-vpce-[a-z0-9]+)?\.execute-api\.[a-z0-9-]+\.(vpce\.)?amazonaws\.com(\.cn)?(:\d+)?", re.IGNORECASE
)


def _host(event: dict[str, Any]) -> str:
    """The Host header as Mangum reads it: ``multiValueHeaders`` (joined) over ``headers``."""
    host = ""
    headers, multi = event.get("headers"), event.get("multiValueHeaders")
    for name, value in (headers if isinstance(headers, dict) else {}).items():
        if name.lower() == "host" and isinstance(value, str):
            host = value
    for name, values in (multi if isinstance(multi, dict) else {}).items():
        if name.lower() == "host" and isinstance(values, list):
            host = ", ".join(v for v in values if isinstance(v, str))
    return host


def _rest_prefix(event: dict[str, Any], context: dict[str, Any]) -> str:
    requested = context.get("path")
    route = event.get("path")
    if requested is None:  # no requested path: only an execute-api host says the stage is in the URL
        stage = context.get("stage")
        if isinstance(stage, str) and stage and stage != "$default" and EXECUTE_API_HOST.fullmatch(_host(event)):
            return f"/{stage}"
        return ""
    if (
        isinstance(requested, str)
        and isinstance(route, str)
        and route
        and requested != route
        and requested.endswith(route)
        and requested[: -len(route)].startswith("/")
    ):
        return requested[: -len(route)].rstrip("/")
    return ""


def stage_prefix(event: dict[str, Any], path: str) -> str:
    context = event.get("requestContext")
    if not isinstance(context, dict):
        return ""
    if event.get("version") == "2.0":
        stage = context.get("stage")
        if isinstance(stage, str) and stage and stage != "$default":
            prefix = f"/{stage}"
            if path == prefix or path.startswith(prefix + "/"):
                return prefix
        return ""
    if "httpMethod" in event and "elb" not in context:  # REST API v1 (v1 HTTP API events too)
        return _rest_prefix(event, context)
    return ""


def stage_scope(scope: Scope) -> Scope:
    """``scope`` with the stage prefix as its ``root_path`` (a copy), or ``scope`` itself when it has none."""
    event = scope.get("aws.event")
    if scope["type"] == "http" and isinstance(event, dict):
        prefix = stage_prefix(event, scope["path"])
        if prefix:
            scope = dict(scope)
            scope["root_path"] = prefix
            # Starlette strips root_path from path when path starts with it (v2); a v1 path
            # does not carry the stage and is routed as is.
    return scope
