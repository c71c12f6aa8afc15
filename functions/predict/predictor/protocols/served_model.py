"""What the two standard protocols share (predictor/protocols/open_inference.py: KServe v2 / Triton / MLServer;
predictor/protocols/tf_serving.py: TensorFlow Serving / KServe v1): the served model looked up by name and version,
JSON bodies parsed into pydantic models with a 400 that names the field, and the model's tensors.

The model's name is the manifest's ``name`` and its one version the manifest's ``version``. It has one
input, ``features``: numbers, shape [-1, n_features], columns in the order of ``feature_names``; a model with
categorical features has one input per feature instead, named as the feature, shape [-1, 1]: BYTES (strings) for
a categorical feature, FP64 for a numeric one (``feature_specs``: as an ONNX graph of such a model takes them). Its
outputs: a regressor's ``prediction`` ([-1], or [-1, k] for k targets); a classifier's ``label`` ([-1])
and, when it has predict_proba, ``probabilities`` ([-1, n_classes], columns in the order of ``classes``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from predictor.model.bundle import ModelBundle, Prediction
from predictor.model.manifest import Manifest
from predictor.rows import location
from predictor.schemas import ProtocolErrorResponse
from predictor.web.errors import RequestError, listed

INPUT_NAME = "features"
Body = TypeVar("Body", bound=BaseModel)

# The error answers of every protocol route, for /docs.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ProtocolErrorResponse, "description": "Malformed body; wrong tensor name, shape or datatype."},
    404: {"model": ProtocolErrorResponse, "description": "Unknown model name or version."},
    413: {"model": ProtocolErrorResponse, "description": "Over MAX_BATCH_ROWS rows, or over MAX_BODY_BYTES."},
    422: {"model": ProtocolErrorResponse, "description": "The model's output for these inputs is not finite."},
    503: {"model": ProtocolErrorResponse, "description": "The model bundle was refused at load; error says why."},
}


@dataclass(frozen=True)
class TensorSpec:
    name: str
    datatype: str  # the Open Inference Protocol's name: FP64, BYTES, INT64, BOOL
    shape: list[int]  # -1: any number of rows


def input_spec(manifest: Manifest) -> TensorSpec:
    return TensorSpec(INPUT_NAME, "FP64", [-1, manifest.n_features])


def feature_specs(manifest: Manifest) -> list[TensorSpec]:
    """A model with categorical features: one input per feature, in feature order, strings for the categorical."""
    categorical = manifest.categorical or {}
    return [TensorSpec(name, "BYTES" if name in categorical else "FP64", [-1, 1]) for name in manifest.feature_names]


def label_datatype(classes: list[Any]) -> str:
    """The datatype of a classifier's labels: strings are BYTES tensors (length-prefixed in binary)."""
    if classes and all(isinstance(c, str) for c in classes):
        return "BYTES"
    if classes and all(isinstance(c, bool) for c in classes):
        return "BOOL"
    if classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        return "INT64"
    return "FP64"


def output_specs(manifest: Manifest) -> list[TensorSpec]:
    if manifest.task == "regression":
        first = manifest.reference.predictions[0]
        return [TensorSpec("prediction", "FP64", [-1, len(first)] if isinstance(first, list) else [-1])]
    classes = manifest.classes or []
    specs = [TensorSpec("label", label_datatype(classes), [-1])]
    if manifest.has_probabilities:
        specs.append(TensorSpec("probabilities", "FP64", [-1, len(classes)]))
    return specs


def output_values(manifest: Manifest, prediction: Prediction) -> dict[str, list[Any]]:
    """Each output's values for the rows predicted, by output name (as ``output_specs`` names them)."""
    if manifest.task == "regression":
        return {"prediction": prediction.predictions}
    values = {"label": prediction.predictions}
    if prediction.probabilities is not None:
        values["probabilities"] = prediction.probabilities
    return values


VERSION_IN_PATH = {
    "name": "version",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "The model's version (the manifest's); any other is a 404.",
}


def versioned(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a ``.../versions/{version}...`` route: its ``version`` path parameter. Handlers
    read it from the path (``served_model``), not from their signature, which they share with the
    unversioned route: there FastAPI would document it as a query parameter the protocols do not have."""
    return {**(extra or {}), "parameters": [*(extra or {}).get("parameters", []), VERSION_IN_PATH]}


def served_model(request: Request, name: str) -> ModelBundle:
    """The bundle, when ``name`` (and the path's ``{version}``, when it has one) are the manifest's; else
    404 (503: refused)."""
    version = request.path_params.get("version")
    bundle: ModelBundle | None = request.app.state.bundle
    if bundle is None:
        raise RequestError(503, f"model not loaded: {request.app.state.bundle_error}")
    manifest = bundle.manifest
    if name != manifest.name:
        raise RequestError(404, f"unknown model {name!r}: this server serves {manifest.name!r}")
    if version is not None and version != manifest.version:
        raise RequestError(404, f"model {name!r} has no version {version!r}: it serves version {manifest.version!r}")
    return bundle


def parse_body(model: type[Body], body: bytes) -> Body:
    """``body`` as ``model``, or a 400 naming what is wrong (malformed JSON, a field, a type)."""
    if not body.strip():
        raise RequestError(400, "empty request body: send a JSON object")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise RequestError(400, validation_detail(exc)) from None


def validation_detail(exc: ValidationError, where: str = "") -> str:
    errors = exc.errors(include_url=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        reason = str(first["ctx"].get("error", first["msg"])) if first.get("ctx") else first["msg"]
        return f"malformed JSON: {reason}"
    if first["type"] == "model_type":
        return f"the body must be a JSON object, got {type(first['input']).__name__}"
    return listed([f"{location((where, *e['loc']) if where else tuple(e['loc']))}: {e['msg']}" for e in errors])


@contextmanager
def unfit_as_bad_request() -> Iterator[None]:
    """/predict answers a body that does not fit the model with 422; the protocols call that a 400."""
    try:
        yield
    except RequestError as exc:
        if exc.status != 422:
            raise
        raise RequestError(400, exc.detail) from None


def request_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined: an OpenAPI request body cannot resolve them."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return inline(schema)  # type: ignore[no-any-return]
