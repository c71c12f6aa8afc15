"""``RequestRoute``: FastAPI's route for an endpoint that takes the request alone and returns its own response.

FastAPI documents such a route as any other (its OpenAPI entry comes from the decorator's arguments, built when
the document is asked for), but serves every call through its generic handler: the dependencies solved (here:
just the ``Request``), the endpoint's context extracted, the answer checked for being a response, ~80 µs a
request. This route calls the endpoint with the request directly. What is lost: FastAPI's own OpenTelemetry spans
do not learn the route of these requests (the function configures no OpenTelemetry provider).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class RequestRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is ``async def endpoint(request: Request) -> Response``, called as is."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        parameters = list(inspect.signature(endpoint).parameters.values())
        if not inspect.iscoroutinefunction(endpoint) or [p.annotation for p in parameters] not in (
            [Request],
            ["Request"],
        ):
            raise TypeError(f"{endpoint.__name__}: a RequestRoute endpoint is async def (request: Request) -> Response")
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint
