"""Routers that only some requests need, included on first use instead of at cold start.

The standard protocols' routers (predictor/protocols/) cost ~0.09 s of ``import app`` (``-X importtime``): their
modules, their pydantic models and FastAPI's routes over them. The first ``/predict`` needs none of it.
``LazyRouters`` stands in the app's routes for them: the first request under one of their path prefixes, or the
first build of the OpenAPI document, imports them, includes them in the app as ``include_router`` would have at
init, and steps aside; that request is then routed again, now to the real routes. Their routes are appended after
the app's others: the paths are disjoint, and the routes added after them (``/docs``, ``/metrics``) are not in the
OpenAPI document, so its paths come in the same order (tests/functional/test_openapi_document.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send


class LazyRouters(BaseRoute):
    """A route that matches the paths under ``prefixes`` until ``include`` has put the real routers in the app."""

    def __init__(self, app: FastAPI, prefixes: tuple[str, ...], load: Callable[[], list[APIRouter]]) -> None:
        self.app = app
        self.prefixes = prefixes
        self.load = load
        self.included = False
        self.lock = threading.Lock()

    def route_path(self, scope: Scope) -> str:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        return path[len(root) :] if root and path.startswith(root) else path

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self.route_path(scope).startswith(self.prefixes):
            return Match.FULL, {}
        return Match.NONE, {}

    def include(self) -> None:
        """The routers imported and included (once), this stand-in removed from the app's routes."""
        with self.lock:
            if self.included:
                return
            for router in self.load():
                self.app.include_router(router)
            self.app.router.routes.remove(self)
            self.included = True

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.include()
        await self.app.router(scope, receive, send)

    def __repr__(self) -> str:
        return f"LazyRouters(prefixes={self.prefixes!r}, included={self.included})"
