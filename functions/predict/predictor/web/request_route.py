"""Routes for endpoints that take the request alone and return their own response, documented when the OpenAPI
document is first built.

FastAPI serves every call of its routes through a generic handler: the dependencies solved (here: just the
``Request``), the endpoint's context extracted, the answer checked for being a response: ~55-80 µs a request in
a cProfile of the handler. And it makes, at init, a pydantic field per response model it documents (the first one
imports ``pydantic.v1``, to tell the two apart: 21 ms of ``import app`` under ``-X importtime``, 67 ms in the
python3.13 image on a loaded machine), which these endpoints never use: they return their own responses.

``RequestRoute`` calls the endpoint with the request directly and is left out of the OpenAPI document.
``DocumentedLater`` registers such routes on an ``APIRouter`` and keeps their documentation (summary, response
models, ...) as a function; ``document()`` adds, for each, a plain ``APIRoute`` with the same path, method, endpoint
and documentation after it in the router: FastAPI documents that one as it would have documented the route
(same operation id: the same endpoint's name, path and method), and never routes a request to it (the
``RequestRoute`` before it matches first). What is lost: FastAPI's own OpenTelemetry spans do not learn the route
of these requests (the function configures no OpenTelemetry provider).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]
Documentation = Callable[[], dict[str, Any]]  # add_api_route's keyword arguments, made when the document is


class RequestRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is ``async def endpoint(request: Request) -> Response``, called as is."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        annotations = [p.annotation for p in inspect.signature(endpoint).parameters.values()]
        if not inspect.iscoroutinefunction(endpoint) or annotations not in ([Request], ["Request"]):
            raise TypeError(f"{endpoint.__name__}: a RequestRoute endpoint is async def (request: Request) -> Response")
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Endpoint:
        return self.endpoint


class DocumentedLater:
    """``RequestRoute``s on ``router``, each documented by a twin ``APIRoute`` once ``document()`` is called."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.pending: list[tuple[str, list[str], Endpoint, Documentation]] = []

    def route(self, path: str, method: str, documentation: Documentation) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self.router.add_api_route(
                path, endpoint, methods=[method], include_in_schema=False, route_class_override=RequestRoute
            )
            self.pending.append((path, [method], endpoint, documentation))
            return endpoint

        return register

    def document(self) -> None:
        """The twins, in the routes' order (once: the router, and so its twins, is shared by every app)."""
        while self.pending:
            path, methods, endpoint, documentation = self.pending.pop(0)
            self.router.add_api_route(path, endpoint, methods=methods, route_class_override=APIRoute, **documentation())
