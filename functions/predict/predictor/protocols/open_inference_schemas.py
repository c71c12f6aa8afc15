"""Open Inference Protocol v2 shapes: the inference request (strict: a misspelt field is refused, never
ignored) and the answers, as the protocol defines them, for validation and for /docs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Parameters = dict[str, Any]
Dimension = Annotated[int, Field(strict=True, ge=0)]


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(description="The model's input: `features`.")
    shape: list[Dimension] = Field(description="[n_rows, n_features].")
    datatype: str = Field(description="FP64, FP32 (FP16, INT*, UINT* too).")
    parameters: Parameters | None = Field(default=None, description="`binary_data_size` when the data is binary.")
    data: list[Any] | None = Field(default=None, description="Row-major, flat or nested; absent when binary.")


class RequestOutput(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(description="`prediction` (regressor); `label`, `probabilities` (classifier).")
    parameters: Parameters | None = Field(default=None, description="`binary_data`: true for binary data.")


class InferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # examples: the served model's (openapi_examples.py)

    id: str | None = Field(default=None, description="Echoed in the answer.")
    parameters: Parameters | None = Field(default=None, description="`binary_data_output`: every output binary.")
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = Field(default=None, description="Default: every output of the model.")


class MetadataTensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    parameters: Parameters | None = None


class ModelMetadata(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]
    parameters: Parameters | None = None


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = None
    data: list[Any] | None = None


class InferResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    outputs: list[ResponseOutput]


class Liveness(BaseModel):
    live: bool


class Readiness(BaseModel):
    ready: bool
    error: str | None = None
