"""The predict function's code, in capability wings (docs/architecture.md).

A request's path, each module once on its way to the model:
API Gateway/ALB event -> ``app.handler`` (functions/predict/app.py) -> ``events.read`` (shape checks, Mangum's
reading; ``events.answers`` for the handler's own 400/500) -> the FastAPI app of ``api.create_app``, through
``web.middleware`` (X-Model-Version, telemetry), ``events.stage`` (root path behind a stage) and CORS ->
a router: ``routes.predict`` (/predict) or ``protocols.open_inference`` / ``protocols.tf_serving`` ->
``pipeline.serve`` (time left, body, the router's parser: ``rows`` or the protocol's tensors) ->
``model.bundle.ModelBundle.predict`` -> ``model.onnx_runtime`` or ``model.native_runtime``.
"""
