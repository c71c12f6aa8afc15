"""The FastAPI application: routes, error handlers, middleware (in a stated order), telemetry."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response

from predictor.model.bundle import LoadedBundle
from predictor.observability import EmfTelemetry, PrometheusTelemetry, Telemetry
from predictor.routes.predict import router, routes
from predictor.settings import Settings
from predictor.web.docs import router as docs_router
from predictor.web.errors import add_error_handlers
from predictor.web.lazy_routers import LazyRouters
from predictor.web.middleware import MODEL_VERSION_HEADER, FirstResponse, ObserveResponses
from predictor.web.openapi_examples import add_model_examples
from predictor.web.request_route import RequestRoute

PROTOCOL_PREFIXES = ("/v2", "/v1")  # the Open Inference Protocol's /v2..., TF Serving's /v1/models/...


def protocol_routers() -> list[APIRouter]:
    """The standard protocols' routers, imported on first use (predictor/web/lazy_routers.py)."""
    from predictor.protocols.open_inference import router as open_inference_router  # KServe v2, Triton, MLServer
    from predictor.protocols.tf_serving import router as tf_serving_router  # TensorFlow Serving, KServe v1

    return [open_inference_router, tf_serving_router]


def build_document_lazily(app: FastAPI, protocols: LazyRouters) -> None:
    """Wrap ``app.openapi``: what only the document needs (the protocols' routes, the documentation of /predict,
    /health and /model: predictor/web/request_route.py) is built when the document is first asked for, then FastAPI
    builds it as it would have at init."""
    build = app.openapi

    def openapi() -> dict[str, object]:
        routes.document()
        protocols.include()
        return build()

    app.openapi = openapi  # type: ignore[method-assign]


def route_directly(app: FastAPI, router: APIRouter) -> None:
    """``router``'s ``RequestRoute``s (``/predict``, ``/health``, ``/model``) put first in the app's own routes too,
    where the app's router matches them itself. A route of an included router is matched through two more layers
    (FastAPI's ``_IncludedRouter``: the route matched once to pick the router, then again in it): ~15 µs of the warm
    one-row handler (the handler's p50 with and without them, alternating rounds). The included router still holds
    them, for the OpenAPI document: they are left out of it (``include_in_schema=False``), their documented twins
    (predictor/web/request_route.py) are in it, as before; requests never reach the included copies."""
    app.router.routes[:0] = [route for route in router.routes if isinstance(route, RequestRoute)]


def local_telemetry(version: str | None) -> Telemetry:
    """Prometheus when prometheus_client is installed (the dev venv); the deployed package has none."""
    try:
        return PrometheusTelemetry(version)
    except ImportError:
        return EmfTelemetry(version)


def add_metrics_route(app: FastAPI, telemetry: PrometheusTelemetry) -> None:
    """``/metrics`` in Prometheus' format: served locally only (the deployed function emits EMF)."""

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        body, content_type = telemetry.exposition()
        return Response(body, media_type=content_type)


def create_app(settings: Settings, loaded: LoadedBundle, telemetry: Telemetry | None = None) -> FastAPI:
    manifest = loaded.bundle.manifest if loaded.bundle else None
    version = manifest.version if manifest else None
    if telemetry is None:
        telemetry = EmfTelemetry(version) if settings.on_lambda else local_telemetry(version)
    app = FastAPI(
        title="Serverless model inference",
        summary=f"{manifest.name} {manifest.version} ({manifest.task})" if manifest else "no model loaded",
        version=version or "unavailable",
        docs_url=None,  # /docs is served offline by predictor/web/docs.py (no CDN)
        redoc_url=None,  # and /redoc not at all: Redoc loads its logo from a CDN
        # The function's telemetry is its JSON logs, EMF metrics and Lambda's own X-Ray tracing (template.yaml:
        # Tracing); it configures no OpenTelemetry provider. FastAPI's native OpenTelemetry hooks would look for
        # three providers on every request (three environment reads) to find none: off.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.bundle = loaded.bundle
    app.state.bundle_error = loaded.error
    app.state.telemetry = telemetry
    app.state.first_response = FirstResponse()  # X-Cold-Start: reset after a SnapStart restore (predictor/snapstart.py)
    app.include_router(router)
    route_directly(app, router)
    protocols = LazyRouters(app, PROTOCOL_PREFIXES, protocol_routers)  # /v2 and /v1/models, on first use
    app.router.routes.append(protocols)
    app.include_router(docs_router)
    build_document_lazily(app, protocols)
    if manifest:
        add_model_examples(app, manifest)  # Swagger UI's examples: this model's rows, answers, name and version
    if isinstance(telemetry, PrometheusTelemetry):
        add_metrics_route(app, telemetry)
    add_error_handlers(app)
    # add_middleware wraps everything added before it, so a request meets the middleware in the reverse
    # order of these calls: ObserveResponses (which also sets the stage prefix, needed before routing) -> CORS
    # (when configured) -> the routes.
    if settings.cors_allow_origins:  # only the origins listed in CORS_ALLOW_ORIGINS (prod lists them)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_allow_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "x-api-key", "authorization"],
            expose_headers=[MODEL_VERSION_HEADER, "X-Cold-Start"],
            max_age=600,
        )
    # Outermost: every response is observed, the preflights CORS answers by itself included.
    app.add_middleware(ObserveResponses, version=version, telemetry=telemetry, first=app.state.first_response)
    return app
