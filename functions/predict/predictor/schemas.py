"""Request and response shapes. Requests are strict: a client's mistake is refused, never coerced."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag


def _row_shape(value: Any) -> str | None:
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return None


# A finite JSON number; booleans, strings, null, NaN and infinities are refused.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# One row: positional numbers, or an object keyed by the manifest's feature names.
Row = Annotated[
    Annotated[list[Number], Tag("list")] | Annotated[dict[str, Number], Tag("object")],
    Discriminator(
        _row_shape,
        custom_error_type="row_type",
        custom_error_message="should be an array of numbers or an object {feature_name: number}",
    ),
]


# A model with categorical features (strings): any JSON value in a row; each is checked against its feature's type
# (predictor/model/features.py), which names the feature and the value.
AnyRow = Annotated[
    Annotated[list[Any], Tag("list")] | Annotated[dict[str, Any], Tag("object")],
    Discriminator(
        _row_shape,
        custom_error_type="row_type",
        custom_error_message="should be an array of values or an object {feature_name: value}",
    ),
]


class PredictRequest(BaseModel):
    """Give exactly one of ``features`` (one row) or ``instances`` (a batch of rows)."""

    # Its examples are the served model's own (predictor/web/openapi_examples.py).
    model_config = ConfigDict(extra="forbid", strict=True)

    features: Row | None = Field(default=None, description="One row: n numbers, or {feature_name: number}.")
    instances: list[Row] | None = Field(default=None, description="Rows to predict, at most MAX_BATCH_ROWS.")


# A regression's number (a list of them for a multi-output regressor), or a classifier's label as the model names it.
Label = float | int | str | bool | list[float]


class SinglePrediction(BaseModel):
    prediction: Label = Field(description="Predicted value (regression) or class label (classification).")
    probabilities: list[float] | None = Field(default=None, description="Per class, in the order of `classes`.")
    classes: list[Any] | None = None
    model_version: str


class BatchPrediction(BaseModel):
    predictions: list[Label] = Field(description="One per instance, in order.")
    probabilities: list[list[float]] | None = Field(default=None, description="One list per instance.")
    classes: list[Any] | None = None
    model_version: str


class Health(BaseModel):
    status: str
    model_version: str | None = None
    detail: str | None = None


class ErrorItem(BaseModel):
    loc: str
    msg: str


class ErrorResponse(BaseModel):
    detail: str = Field(description="What was wrong, in words.")
    errors: list[ErrorItem] | None = Field(default=None, description="Each problem with its location.")


class ProtocolErrorResponse(BaseModel):
    """The standard protocols' error (Open Inference Protocol, TensorFlow Serving): one message."""

    error: str = Field(description="What was wrong, in words.")
