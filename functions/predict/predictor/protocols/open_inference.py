"""Open Inference Protocol v2 (KServe v2, Triton, MLServer REST) beside /predict, with Triton's binary
tensor data extension as ``tritonclient.http`` uses it by default (predictor/protocols/tensors.py).

Same bundle, limits, telemetry and headers as /predict; the pipeline is ``pipeline.serve``. Errors
are ``{"error": ...}`` (predictor/web/errors.py): 400 for a wrong tensor name, shape or datatype, 404 for an
unknown model or version, 413 for too many rows or bytes, 503 when the bundle was refused.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from predictor.model.bundle import ModelBundle
from predictor.model.manifest import Categorical, Manifest
from predictor.model.runtime import FloatMatrix, Rows
from predictor.pipeline import serve
from predictor.protocols.feature_inputs import feature_rows
from predictor.protocols.open_inference_schemas import (
    InferRequest,
    InferResponse,
    Liveness,
    ModelMetadata,
    Readiness,
    RequestInput,
    ServerMetadata,
)
from predictor.protocols.served_model import (
    ERRORS,
    INPUT_NAME,
    TensorSpec,
    feature_specs,
    input_spec,
    output_specs,
    output_values,
    parse_body,
    request_body_schema,
    served_model,
    versioned,
)
from predictor.protocols.tensors import (
    INFERENCE_HEADER,
    BinaryData,
    binary_part,
    check_datatype,
    from_binary,
    from_json,
    output_bytes,
    refuse_unsupported,
    split_body,
)
from predictor.rows import check_row_count
from predictor.settings import Settings
from predictor.web.errors import RequestError

router = APIRouter(prefix="/v2", tags=["Open Inference Protocol v2 (KServe v2, Triton)"])

SERVER = {"name": "sklearn-serverless-inference", "version": "0.1.0", "extensions": ["binary_tensor_data"]}
PLATFORMS = {
    "sklearn": "sklearn_sklearn",
    "xgboost": "xgboost_sklearn",
    "lightgbm": "lightgbm_sklearn",
    "onnx": "onnxruntime_onnx",
}
OCTET_STREAM_RANGES = ("application/octet-stream", "application/*", "*/*")


@router.get("/health/live", response_model=Liveness)
async def live() -> JSONResponse:
    return JSONResponse({"live": True})


@router.get("/health/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(request: Request) -> JSONResponse:
    if request.app.state.bundle is None:
        return JSONResponse({"ready": False, "error": f"model not loaded: {request.app.state.bundle_error}"}, 503)
    return JSONResponse({"ready": True})


@router.get("", response_model=ServerMetadata, summary="Server metadata")
async def server_metadata() -> JSONResponse:
    return JSONResponse(SERVER)


@router.get("/models/{name}", response_model=ModelMetadata, responses=ERRORS, summary="Model metadata")
@router.get(
    "/models/{name}/versions/{version}", response_model=ModelMetadata, responses=ERRORS, openapi_extra=versioned()
)
async def model_metadata(request: Request, name: str) -> JSONResponse:
    return JSONResponse(metadata_of(served_model(request, name).manifest))


@router.get("/models/{name}/ready", response_model=Readiness, responses=ERRORS, summary="Model readiness")
@router.get(
    "/models/{name}/versions/{version}/ready", response_model=Readiness, responses=ERRORS, openapi_extra=versioned()
)
async def model_ready(request: Request, name: str) -> JSONResponse:
    served_model(request, name)
    return JSONResponse({"ready": True})


INFER_DOCS: dict[str, Any] = {
    "parameters": [
        {
            "name": INFERENCE_HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
            "description": "Binary tensor data extension: the JSON header's length; binary tensors follow it.",
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": request_body_schema(InferRequest)},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


@dataclass(frozen=True)
class Inference:
    """What an infer answer needs of its request besides the prediction: its id and the outputs asked for."""

    id: str | None
    wanted: dict[str, bool]


@router.post("/models/{name}/infer", response_model=InferResponse, responses=ERRORS, openapi_extra=INFER_DOCS)
@router.post("/models/{name}/versions/{version}/infer", response_model=InferResponse, responses=ERRORS,
             openapi_extra=versioned(INFER_DOCS))  # fmt: skip
async def infer(request: Request, name: str) -> Response:
    bundle = served_model(request, name)
    encoding, header_length = request.headers.get("content-encoding"), request.headers.get(INFERENCE_HEADER)
    binary_ok = binary_reaches_client(request)

    def infer_body(body: bytes, bundle: ModelBundle, settings: Settings) -> tuple[Rows, Inference]:
        header, binary = split_body(inflated(body, encoding, settings.max_body_bytes), header_length)
        inference = parse_body(InferRequest, header)
        if bundle.features.typed:  # one input per feature (predictor/protocols/feature_inputs.py)
            rows = feature_rows(inference.inputs, BinaryData(binary), bundle, settings.max_batch_rows)
        else:
            rows = input_rows(inference.inputs, BinaryData(binary), bundle.manifest, settings.max_batch_rows)
        return rows, Inference(inference.id, requested_outputs(inference, bundle.manifest, binary_ok))

    result, inference = await serve(request, bundle, infer_body)
    return answer(bundle.manifest, inference.id, inference.wanted, output_values(bundle.manifest, result))


def metadata_of(manifest: Manifest) -> dict[str, Any]:
    def tensor(spec: TensorSpec, **parameters: Any) -> dict[str, Any]:
        described = {"name": spec.name, "datatype": spec.datatype, "shape": spec.shape}
        return {**described, "parameters": parameters} if parameters else described

    classes = {"classes": manifest.classes} if manifest.classes is not None else {}
    inputs = [tensor(input_spec(manifest), feature_names=manifest.feature_names)]
    if manifest.has_categories:  # one input per feature; a categorical one lists its categories
        categorical = manifest.categorical or {}
        inputs = [tensor(spec, **category_parameters(categorical.get(spec.name))) for spec in feature_specs(manifest)]
    return {
        "name": manifest.name,
        "versions": [manifest.version],
        "platform": PLATFORMS.get(manifest.runtime, manifest.runtime),
        "inputs": inputs,
        "outputs": [tensor(spec, **classes) for spec in output_specs(manifest)],
        "parameters": {"task": manifest.task, **classes},
    }


def category_parameters(categorical: Categorical | None) -> dict[str, Any]:
    """A categorical input's metadata parameters: its categories, and whether others are served (``ignore``) or
    refused (``error``), as its encoder does."""
    if categorical is None:
        return {}
    return {"categories": categorical.categories, "unknown_categories": categorical.unknown}


def input_rows(inputs: list[RequestInput], binary: BinaryData, manifest: Manifest, max_rows: int) -> FloatMatrix:
    """The one input, ``features`` [n_rows, n_features], from its JSON data or its binary data."""
    if len(inputs) != 1 or inputs[0].name != INPUT_NAME:
        got = ", ".join(repr(tensor.name) for tensor in inputs)
        raise RequestError(400, f"this model takes one input, {INPUT_NAME!r} [-1, {manifest.n_features}], got {got}")
    tensor, where = inputs[0], "inputs[0]"
    check_datatype(tensor.datatype, where)
    shape = tensor.shape
    if len(shape) != 2 or shape[1] != manifest.n_features or shape[0] < 1:
        raise RequestError(400, f"{where}: shape {shape} does not fit [-1, {manifest.n_features}]: send [n_rows, n]")
    check_row_count(shape[0], max_rows)
    raw = binary_part(tensor.parameters or {}, tensor.data is not None, binary, where)
    if raw is not None:
        rows = from_binary(raw, tensor.datatype, shape, where)
    else:
        rows = from_json(tensor.data or [], tensor.datatype, shape, where)
    binary.check_used_up()
    return rows


def requested_outputs(inference: InferRequest, manifest: Manifest, binary_ok: bool) -> dict[str, bool]:
    """The outputs to answer, each with whether its data goes binary (every output by default)."""
    names = [spec.name for spec in output_specs(manifest)]
    default = flag(inference.parameters or {}, "binary_data_output", False, "parameters")
    if inference.outputs is None:
        return dict.fromkeys(names, default and binary_ok)
    wanted: dict[str, bool] = {}
    for i, output in enumerate(inference.outputs):
        where = f"outputs[{i}]"
        if output.name not in names:
            raise RequestError(400, f"{where}: unknown output {output.name!r}: this model's are {', '.join(names)}")
        if output.name in wanted:
            raise RequestError(400, f"{where}: output {output.name!r} is asked for twice")
        parameters = output.parameters or {}
        refuse_unsupported(parameters, where)
        wanted[output.name] = flag(parameters, "binary_data", default, where) and binary_ok
    return wanted


def flag(parameters: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = parameters.get(key, default)
    if not isinstance(value, bool):
        raise RequestError(400, f"{where}.parameters.{key}: expected true or false, got {value!r}")
    return value


def answer(manifest: Manifest, request_id: str | None, wanted: dict[str, bool], values: dict[str, Any]) -> Response:
    """The inference response: JSON, or a JSON header followed by the binary outputs."""
    datatypes = {spec.name: spec.datatype for spec in output_specs(manifest)}
    outputs, chunks = [], []
    for name, binary in wanted.items():
        array = np.asarray(values[name], dtype=object if datatypes[name] == "BYTES" else None)
        tensor: dict[str, Any] = {"name": name, "datatype": datatypes[name], "shape": list(array.shape)}
        if binary:
            chunks.append(output_bytes(datatypes[name], array))
            tensor["parameters"] = {"binary_data_size": len(chunks[-1])}
        else:
            tensor["data"] = array.ravel().tolist()
        outputs.append(tensor)
    identity = {"id": request_id} if request_id is not None else {}
    head = {"model_name": manifest.name, "model_version": manifest.version, **identity, "outputs": outputs}
    text = json.dumps(head, separators=(",", ":"), allow_nan=False).encode()
    if not chunks:
        return Response(text, media_type="application/json")
    headers = {INFERENCE_HEADER: str(len(text))}
    return Response(text + b"".join(chunks), media_type="application/octet-stream", headers=headers)


def binary_reaches_client(request: Request) -> bool:
    """Whether raw bytes in the answer reach the client. They do from uvicorn, an HTTP API, an ALB or a function
    URL. A REST API (v1 event) decodes the function's base64 answer only when the request's Accept header matches
    the API's binary media types (template.yaml: */*), and ``sam local start-api`` only when it accepts
    application/octet-stream; tritonclient sends no Accept header. There, outputs are answered as JSON instead,
    which tritonclient reads just the same."""
    event = request.scope.get("aws.event")
    if not isinstance(event, dict) or "version" in event or "elb" in (event.get("requestContext") or {}):
        return True
    ranges = [part.split(";")[0].strip().lower() for part in request.headers.get("accept", "").split(",")]
    return any(r in OCTET_STREAM_RANGES for r in ranges)


def inflated(body: bytes, encoding: str | None, limit: int) -> bytes:
    """A body sent with ``Content-Encoding: gzip`` or ``deflate`` (tritonclient's request_compression_algorithm),
    inflated up to MAX_BODY_BYTES."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name not in ("gzip", "deflate"):
        raise RequestError(400, f"Content-Encoding {encoding!r} is not accepted: send gzip, deflate or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if name == "gzip" else zlib.MAX_WBITS)
    try:
        plain = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise RequestError(400, f"the body is not valid {name} data ({exc})") from None
    if len(plain) > limit:
        raise RequestError(413, f"request body over {limit:,} bytes once inflated (MAX_BODY_BYTES); split the batch")
    if not inflater.eof:
        raise RequestError(400, f"the {name} body is truncated")
    return plain
