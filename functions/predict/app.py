"""Lambda entry point (template.yaml: ``Handler: app.handler``).

The model bundle is loaded once per execution environment, here at import (cold start). A bundle that
fails verification is not served: every call answers 503 with the reason, and /health says it too.
An event Mangum cannot translate (not API Gateway v1/v2 or ALB, missing or mistyped fields, a body
that is not the base64 it claims to be) gets a 400 with a JSON detail instead of an invocation error;
so do CloudFront (Lambda@Edge) and VPC Lattice events, refused by name (predictor/events/read.py; the
answers: predictor/events/answers.py). Mangum failing on an event it could read is this function's
fault: a 500, logged and counted in ServerErrors.
Each invocation's JSON logs carry the Lambda context (request id, cold start) and its metrics go out as
EMF (predictor/invocation.py); Mangum turns the API Gateway/ALB event into an ASGI request for ``app``
(read once, by ``read_event``) and the app's answer into the event source's response. After a SnapStart
restore the next invocation is a cold start again (predictor/snapstart.py).
"""

from typing import Any

from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from mangum import Mangum
from mangum.protocols import HTTPCycle

from predictor import snapstart
from predictor.api import create_app
from predictor.events.answers import internal_error, malformed_event
from predictor.events.read import read_event
from predictor.invocation import Invocations
from predictor.model.bundle import load_or_error
from predictor.observability import logger
from predictor.settings import Settings

copy_config_to_registered_loggers(source_logger=logger, include={"predictor"})  # predictor.* logs as JSON too
settings = Settings.from_env()
loaded = load_or_error(settings.model_dir)
app = create_app(settings, loaded)
adapter = Mangum(app, lifespan="off")  # reads events (read_event) and shapes answers
model_version = loaded.bundle.manifest.version if loaded.bundle else None
logger.append_keys(model_version=model_version)
invocations = Invocations(app.state.telemetry, settings.initialization_type)
snapstart.register(app, invocations)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cold = invocations.begin(context)
    try:
        return respond(event, context)
    finally:
        invocations.end(context, cold)


def respond(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = read_event(adapter, event, context)
    except Exception as exc:  # noqa: BLE001 - a failure here is the event's shape: the client's 400
        app.state.telemetry.response(400)
        return malformed_event(event, exc, model_version)
    try:  # what Mangum.__call__ does with lifespan off; the app's own errors are its answers (500s too)
        return request.source(HTTPCycle(request.scope, request.body)(app))
    except Exception:  # noqa: BLE001 - Mangum failed on an event it read: ours, a 500 the alarm counts
        app.state.telemetry.response(500)
        return internal_error(event, model_version)
