"""/predict's body for a model with categorical features, imported when such a model is served (its pydantic model
costs ~2.5 ms to build, which a model of numbers only need not pay at cold start)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from predictor.schemas import AnyRow


class TypedPredictRequest(BaseModel):
    """/predict's body for a model with categorical features: numbers for numeric features, strings for the others."""

    model_config = ConfigDict(extra="forbid", strict=True)

    features: AnyRow | None = Field(default=None, description="One row: n values, or {feature_name: value}.")
    instances: list[AnyRow] | None = Field(default=None, description="Rows to predict, at most MAX_BATCH_ROWS.")
