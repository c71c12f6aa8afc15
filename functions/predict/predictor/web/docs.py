"""``/docs`` (Swagger UI) with no outside request: its assets are served by the function.

FastAPI's own page loads Swagger UI from a CDN and a favicon from another host: blank without internet,
behind a proxy, or on a private API Gateway endpoint. The assets here come from the PyPI package
``fastapi-offline`` (Swagger UI 5.32, which renders OpenAPI 3.1, and a favicon), pinned in
requirements.txt; only its files are used, found without importing it. They are read when asked for, not
at import (cold start). Every URL in the page carries the ASGI ``root_path`` (the stage prefix,
predictor/events/stage.py), so it works behind ``/prod`` as on ``sam local`` and uvicorn.

``/redoc`` is not served: Redoc 2 (also in the package) loads its logo from cdn.redoc.ly, an outside
request; the function's build drops its bundle (functions/predict/Makefile).

The favicon is inlined as a ``data:`` URL: a PNG would be a binary response, which API Gateway (REST)
returns as base64 text unless the API lists binary media types.
"""

from __future__ import annotations

import base64
import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from predictor.web.request_route import RequestRoute

ASSETS_PATH = "/docs/assets"
# name -> media type: the only files served (text types: Mangum returns them as text, not base64).
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
CACHE_CONTROL = "public, max-age=86400"


@cache
def static_dir() -> Path:
    """fastapi-offline's ``static`` folder, located without running the package's ``__init__``."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed: /docs has no assets (functions/predict/requirements.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@cache
def favicon_url() -> str:
    return "data:image/png;base64," + base64.b64encode((static_dir() / "favicon.png").read_bytes()).decode()


# Not in the document; the endpoints take the request alone: no FastAPI field is made for them at init
# (predictor/web/request_route.py).
router = APIRouter(include_in_schema=False, route_class=RequestRoute)


@router.get(ASSETS_PATH + "/{name}")
async def docs_asset(request: Request) -> FileResponse:
    name = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(status_code=404, detail="Not Found")
    return FileResponse(static_dir() / name, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    app: FastAPI = request.app
    return get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=favicon_url(),
        swagger_ui_parameters=app.swagger_ui_parameters,
    )
