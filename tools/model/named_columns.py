"""Column selection by name, turned into selection by position: the same fitted estimator, no retraining.

A data scientist's pipeline selects a ``ColumnTransformer``'s columns by name (``["income", "age"]``) and is
fitted on a DataFrame. The function sends float arrays ordered by the manifest's ``feature_names`` (the
estimator's own ``feature_names_in_``), so the packager rewrites a copy: each column name becomes its position
in ``feature_names_in_``, and the names the fitted steps remember are dropped (they would only warn on arrays).
The copy is then proven to answer as the original does on a DataFrame of the same rows, exactly, before either
runtime is chosen; both runtimes serve the copy.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np


def column_transformers(estimator: Any) -> list[Any]:
    """The fitted ColumnTransformers that were fitted on named columns: the estimator, or a pipeline's steps."""
    from sklearn.compose import ColumnTransformer

    steps = [step for _, step in getattr(estimator, "steps", [])] or [estimator]
    return [step for step in steps if isinstance(step, ColumnTransformer) and hasattr(step, "feature_names_in_")]


def selects_by_name(transformer: Any) -> bool:
    return any(isinstance(columns, str) or (isinstance(columns, list) and columns and isinstance(columns[0], str))
               for columns in transformer._columns)  # fmt: skip


def positional(estimator: Any) -> Any | None:
    """A copy of ``estimator`` whose ColumnTransformers select by position, or None when none selects by name."""
    if not any(selects_by_name(transformer) for transformer in column_transformers(estimator)):
        return None
    rewritten = copy.deepcopy(estimator)
    for transformer in column_transformers(rewritten):
        by_position(transformer)
    return rewritten


def by_position(transformer: Any) -> None:
    """Rewrite one fitted ColumnTransformer in place: names -> positions in its ``feature_names_in_``."""
    index = {str(name): position for position, name in enumerate(transformer.feature_names_in_)}

    def position(columns: Any) -> Any:
        if isinstance(columns, str):
            return index[columns]
        if isinstance(columns, list) and columns and all(isinstance(column, str) for column in columns):
            return [index[column] for column in columns]
        return columns

    transformer.transformers = [(name, step, position(columns)) for name, step, columns in transformer.transformers]
    transformer.transformers_ = [(name, step, position(columns)) for name, step, columns in transformer.transformers_]
    transformer._columns = [position(columns) for columns in transformer._columns]
    for _, step, _ in transformer.transformers_:
        forget_names(step)
    del transformer.feature_names_in_


def forget_names(step: Any) -> None:
    """Drop the column names a fitted step remembers, and those of a pipeline's steps (a Pipeline's own
    ``feature_names_in_`` is its first step's, read through a property)."""
    for _, inner in getattr(step, "steps", []):
        forget_names(inner)
    if "feature_names_in_" in getattr(step, "__dict__", {}):  # not a string step ("drop"), not a property
        del step.feature_names_in_


def differs(original: Any, rewritten: Any, rows: np.ndarray, names: list[str]) -> str | None:
    """Why the rewritten copy does not answer as the original on a DataFrame of ``rows``, or None (identical)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=names).infer_objects()  # strings stay objects, numbers become float64
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        theirs, ours = np.asarray(original.predict(frame)), np.asarray(rewritten.predict(rows))
    if theirs.shape != ours.shape or not np.array_equal(theirs, ours):
        return "selecting the same columns by position gives other answers than by name"
    return None
