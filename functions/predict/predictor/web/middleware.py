"""ObserveResponses, the outermost middleware: every response the app makes carries ``X-Model-Version``
(and a process's first one ``X-Cold-Start: true``), is counted by status and logged in one line. It also gives the
request its API Gateway stage as ``root_path`` (predictor/events/stage.py) before anything routes it: one
middleware for both, as each layer costs a coroutine and its frame per request."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predictor.access_log import log_request
from predictor.events.stage import stage_scope
from predictor.observability import Telemetry, logger

MODEL_VERSION_HEADER = "X-Model-Version"
COLD_START_HEADER = (b"x-cold-start", b"true")  # lets a load client count cold starts it met
REQUEST_LOGGER = logging.getLogger(logger.name)  # Powertools' logger underneath: its handlers and formatter


class FirstResponse:
    """Whether the app's next response is its first: in this process, or since a SnapStart restore."""

    def __init__(self) -> None:
        self.pending = True

    def take(self) -> bool:
        pending, self.pending = self.pending, False
        return pending

    def reset(self) -> None:
        self.pending = True


class ObserveResponses:
    """Adds ``X-Model-Version`` to every response (and ``X-Cold-Start: true`` to a process's first),
    counts it by status, and logs one line per request; the app gets the request with its stage as ``root_path``."""

    def __init__(self, app: ASGIApp, version: str | None, telemetry: Telemetry, first: FirstResponse) -> None:
        self.app = app
        self.header = (MODEL_VERSION_HEADER.lower().encode(), version.encode()) if version else None
        self.telemetry = telemetry
        self.first = first  # the first response of this process (execution environment) says so

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
                if self.first.pending and self.first.take():
                    extra.append(COLD_START_HEADER)
                if extra:
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(stage_scope(scope), receive, observed_send)
        finally:
            self.telemetry.response(status)
            duration_ms = round((time.perf_counter() - start) * 1000, 3)
            fields = {"method": scope["method"], "path": scope["path"], "status": status, "duration_ms": duration_ms}
            log_request(REQUEST_LOGGER, "request", fields)
