"""The floor of the mandated stack, warm: a no-op FastAPI route behind Mangum, called in process with the same
API Gateway event as the handler. What the handler costs above it is this project's own work (event checks,
middleware, validation, the model, the log line and the metrics).

bench/handler.py measures it in the same run as the handler, in alternating rounds, and prints
handler p50 / floor p50 against ``TARGET_RATIO``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from mangum import Mangum

TARGET_RATIO = 2.5  # issue 22: warm one-row handler p50 at most 2.5x the floor's


def floor_app() -> FastAPI:
    """FastAPI with one ``async def`` POST route that answers ``{}``: routing, the ASGI cycle, a JSON response."""
    app = FastAPI()

    @app.post("/predict")
    async def predict() -> JSONResponse:
        return JSONResponse({})

    return app


def floor_handler() -> Mangum:
    """The floor as a Lambda handler: ``Mangum(app, lifespan="off")``, as the function's entry point uses it."""
    return Mangum(floor_app(), lifespan="off")


def verdict(handler_p50: float, floor_p50: float) -> tuple[float, str]:
    """The ratio handler / floor and PASS or MISS against ``TARGET_RATIO``."""
    ratio = handler_p50 / floor_p50
    return ratio, "PASS" if ratio <= TARGET_RATIO else "MISS"


def answers(handler: Mangum, event: dict[str, Any], context: Any) -> bool:
    """Whether the floor answers the event with 200 (checked once before it is timed)."""
    return int(handler(event, context)["statusCode"]) == 200
