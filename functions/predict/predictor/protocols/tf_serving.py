"""TensorFlow Serving REST (also KServe v1) beside /predict: model status, metadata and ``:predict``.

``POST /v1/models/{name}:predict`` takes the row format, ``{"instances": [row, ...]}`` (a row: n numbers,
or an object keyed by the manifest's feature names) answered with ``predictions``, or the columnar format,
``{"inputs": [row, ...]}``, ``{"inputs": {"features": [row, ...]}}`` or ``{"inputs": {feature: [value per
row], ...}}``, answered with ``outputs``. A regressor's answer is its numbers; a classifier with probabilities
answers ``{"label": ..., "probabilities": [...]}`` per row (row format) or per output (columnar), the
probabilities in the order of ``classes`` (see the metadata). Errors are ``{"error": ...}`` (400, 404, 413,
503) as in TF Serving. Same bundle, limits, telemetry and headers as /predict (``pipeline.serve``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError

from predictor.model.bundle import ModelBundle
from predictor.model.features import Features
from predictor.model.manifest import Manifest
from predictor.model.runtime import Rows
from predictor.pipeline import serve
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
    unfit_as_bad_request,
    validation_detail,
    versioned,
)
from predictor.rows import rows_to_matrix
from predictor.schemas import AnyRow, Number, Row
from predictor.settings import Settings
from predictor.web.errors import RequestError

router = APIRouter(prefix="/v1/models", tags=["TensorFlow Serving REST (KServe v1)"])

SIGNATURE = "serving_default"
TF_DTYPES = {"FP64": "DT_DOUBLE", "BYTES": "DT_STRING", "INT64": "DT_INT64", "BOOL": "DT_BOOL"}
ROWS = TypeAdapter(list[Row])
COLUMN = TypeAdapter(list[Number])
# A model with categorical features: any JSON value in a row or a column, each checked against its feature's type
ANY_ROWS = TypeAdapter(list[AnyRow])
ANY_COLUMN = TypeAdapter(list[Any])


def _inputs_form(value: Any) -> str | None:
    return "list" if isinstance(value, list) else "object" if isinstance(value, dict) else None


Inputs = Annotated[  # tagged "list" and "object", as schemas.Row: error locations leave the tags out
    Annotated[list[Any], Tag("list")] | Annotated[dict[str, list[Any]], Tag("object")],
    Discriminator(
        _inputs_form,
        custom_error_type="inputs_type",
        custom_error_message="should be an array of rows or an object {name: array}",
    ),
]


class TfPredictRequest(BaseModel):
    """Give ``instances`` (row format) or ``inputs`` (columnar format)."""

    model_config = ConfigDict(extra="forbid", strict=True)  # examples: the served model's (openapi_examples.py)

    signature_name: str | None = Field(default=None, description=f"Only {SIGNATURE!r}.")
    instances: list[Row] | None = Field(default=None, description="Row format: one row per instance.")
    inputs: Inputs | None = Field(default=None, description="Columnar format: rows, or {name: values}.")


class TypedTfPredictRequest(BaseModel):
    """A model with categorical features: ``instances`` rows hold strings for them (columns: ``inputs``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    signature_name: str | None = Field(default=None, description=f"Only {SIGNATURE!r}.")
    instances: list[AnyRow] | None = Field(default=None, description="Row format: one row per instance.")
    inputs: Inputs | None = Field(default=None, description="Columnar format: rows, or {name: values}.")


AnyTfPredictRequest = TfPredictRequest | TypedTfPredictRequest


class TfPredictResponse(BaseModel):
    predictions: list[Any] | None = Field(default=None, description="Row format: one answer per instance.")
    outputs: list[Any] | dict[str, list[Any]] | None = Field(default=None, description="Columnar format.")


class ModelVersionStatus(BaseModel):
    version: str
    state: str
    status: dict[str, str]


class ModelStatus(BaseModel):
    model_version_status: list[ModelVersionStatus]


PREDICT_BODY = {"application/json": {"schema": request_body_schema(TfPredictRequest)}}
PREDICT_DOCS = {"requestBody": {"required": True, "content": PREDICT_BODY}}


@router.get("/{name}", response_model=ModelStatus, responses=ERRORS, summary="Model status")
@router.get("/{name}/versions/{version}", response_model=ModelStatus, responses=ERRORS, openapi_extra=versioned())
async def model_status(request: Request, name: str) -> JSONResponse:
    manifest = served_model(request, name).manifest
    available = {"version": manifest.version, "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    return JSONResponse({"model_version_status": [available]})


@router.get("/{name}/metadata", responses=ERRORS, summary="Model metadata (signature def)")
@router.get("/{name}/versions/{version}/metadata", responses=ERRORS, openapi_extra=versioned())
async def model_metadata(request: Request, name: str) -> JSONResponse:
    return JSONResponse(metadata_of(served_model(request, name).manifest))


@router.post("/{name}:predict", response_model=TfPredictResponse, responses=ERRORS, openapi_extra=PREDICT_DOCS)
@router.post("/{name}/versions/{version}:predict", response_model=TfPredictResponse, responses=ERRORS,
             openapi_extra=versioned(PREDICT_DOCS))  # fmt: skip
async def predict(request: Request, name: str) -> JSONResponse:
    bundle = served_model(request, name)
    result, body = await serve(request, bundle, predict_body)
    values = output_values(bundle.manifest, result)
    if body.instances is not None:
        return JSONResponse({"predictions": per_row(values)})
    return JSONResponse({"outputs": values if len(values) > 1 else next(iter(values.values()))})


def predict_body(raw: bytes, bundle: ModelBundle, settings: Settings) -> tuple[Rows, AnyTfPredictRequest]:
    """A :predict body: its rows (``instances``, row format, or ``inputs``, columnar format) and the body."""
    typed = bundle.features.typed  # strings for the categorical features
    body: AnyTfPredictRequest = parse_body(TypedTfPredictRequest, raw) if typed else parse_body(TfPredictRequest, raw)
    if body.signature_name not in (None, SIGNATURE):
        raise RequestError(400, f"signature_name {body.signature_name!r} not found: this model has {SIGNATURE!r}")
    with unfit_as_bad_request():
        return request_rows(body, bundle.features, settings.max_batch_rows), body


@router.post("/{name}:{verb}", include_in_schema=False)
@router.post("/{name}/versions/{version}:{verb}", include_in_schema=False)
async def other_verb(request: Request, name: str, verb: str) -> JSONResponse:
    """:classify and :regress take tf.Example protos, which a scikit-learn model has no use for."""
    served_model(request, name)
    raise RequestError(400, f"{verb!r} is not served: POST /v1/models/{name}:predict with 'instances' or 'inputs'")


def request_rows(body: AnyTfPredictRequest, features: Features, max_rows: int) -> Rows:
    if (body.instances is None) == (body.inputs is None):
        raise RequestError(400, "give either 'instances' (row format) or 'inputs' (columnar format), not both")
    if body.instances is not None:
        return rows_to_matrix(body.instances, features, max_rows)
    rows, column = (ANY_ROWS, ANY_COLUMN) if features.typed else (ROWS, COLUMN)
    if isinstance(body.inputs, list):
        return rows_to_matrix(validated(rows, body.inputs, "inputs"), features, max_rows, "inputs")
    columns: dict[str, list[Any]] = body.inputs or {}
    if list(columns) == [INPUT_NAME]:
        return rows_to_matrix(validated(rows, columns[INPUT_NAME], "inputs.features"), features, max_rows, "inputs")
    values = {name: validated(column, values, f"inputs.{name}") for name, values in columns.items()}
    lengths = {len(column) for column in values.values()}
    if len(lengths) > 1:
        raise RequestError(400, f"inputs: columns of different lengths ({sorted(lengths)}): one value per row each")
    n_rows = lengths.pop() if lengths else 0
    return rows_to_matrix([{k: v[i] for k, v in values.items()} for i in range(n_rows)], features, max_rows, "inputs")


def validated(adapter: TypeAdapter[Any], value: Any, where: str) -> Any:
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError as exc:
        raise RequestError(400, validation_detail(exc, where)) from None


def per_row(values: dict[str, list[Any]]) -> list[Any]:
    """Row format: each row's answer; an object per row when the model has several outputs."""
    if len(values) == 1:
        return next(iter(values.values()))
    return [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]


def metadata_of(manifest: Manifest) -> dict[str, Any]:
    def tensor_info(spec: TensorSpec) -> dict[str, Any]:
        dims = [{"size": str(size), "name": ""} for size in spec.shape]
        shape = {"dim": dims, "unknown_rank": False}
        return {"dtype": TF_DTYPES[spec.datatype], "tensor_shape": shape, "name": spec.name}

    inputs = {INPUT_NAME: tensor_info(input_spec(manifest))}
    if manifest.has_categories:  # one input per feature: a column of one value per row (strings: DT_STRING)
        columns = [TensorSpec(spec.name, spec.datatype, [-1]) for spec in feature_specs(manifest)]
        inputs = {spec.name: tensor_info(spec) for spec in columns}
    signature = {
        "inputs": inputs,
        "outputs": {spec.name: tensor_info(spec) for spec in output_specs(manifest)},
        "method_name": "tensorflow/serving/predict",
    }
    return {
        "model_spec": {"name": manifest.name, "signature_name": "", "version": manifest.version},
        "metadata": {
            "signature_def": {"signature_def": {SIGNATURE: signature}},
            "feature_names": manifest.feature_names,  # the columns of ``features``, in order
            "classes": manifest.classes,  # a classifier's labels, in the order of its probabilities
        },
    }
