"""Which features take strings: the categorical features the fitted estimator's encoders learnt, with their
categories and what each encoder does with one it never saw (the manifest's ``categorical``).

A feature is categorical when a ``OneHotEncoder`` or ``OrdinalEncoder`` was fitted on its strings: a
``ColumnTransformer``'s encoder (alone, or at the end of a pipeline of steps that keep the columns, such as a
``SimpleImputer``), or a pipeline's first step encoding every column. Encoders fitted on numbers keep their
features numeric (integer codes are numbers, as before). Read from the copy the packager serves, whose column
selections are positions (tools/model/named_columns.py), so the features are those of the manifest's
``feature_names``. An XGBoost or LightGBM estimator fitted on pandas ``category`` columns encodes them itself: those
are categorical with the categories it stored, marked ``codes`` (the function hands it each category's code), and
``as_fitted`` gives the rows its own predict takes, the answers every reference row is held to.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from predictor.model.manifest import Categorical
from tools.model.errors import PackagingError

ENCODERS = ("OneHotEncoder", "OrdinalEncoder")
# what an encoder does with a category it never saw, by its handle_unknown: served ("ignore") or refused ("error")
UNKNOWN: dict[str, Literal["ignore", "error"]] = {
    "ignore": "ignore",
    "infrequent_if_exist": "ignore",
    "warn": "ignore",
    "use_encoded_value": "ignore",
}
KEEPS_COLUMNS = ("SimpleImputer",)  # steps before an encoder or a scaler that keep the columns and their values


def encoder_of(step: Any) -> Any | None:
    """``step`` when it is an encoder, or the encoder ending a pipeline of steps that keep the columns."""
    if type(step).__name__ in ENCODERS:
        return step
    steps: list[tuple[str, Any]] = getattr(step, "steps", None) or []
    last_encodes = bool(steps) and type(steps[-1][1]).__name__ in ENCODERS
    if last_encodes and all(type(inner).__name__ in KEEPS_COLUMNS for _, inner in steps[:-1]):
        return steps[-1][1]
    return None


def positions(columns: Any, n_features: int) -> list[int] | None:
    """A ColumnTransformer's column selection as positions (ints, a slice, a boolean mask), else None."""
    if isinstance(columns, int | np.integer):
        return [int(columns)]
    if isinstance(columns, slice):
        return list(range(n_features))[columns]
    selected = np.asarray(columns)
    if selected.dtype == bool and len(selected) == n_features:
        return [int(i) for i in np.flatnonzero(selected)]
    if selected.dtype.kind in "iu":
        return [int(i) for i in selected]
    return None


def categorical_of(encoder: Any, at: list[int], names: list[str]) -> dict[str, Categorical]:
    """The features at ``at`` that ``encoder`` learnt strings for, with those strings."""
    unknown = UNKNOWN.get(str(getattr(encoder, "handle_unknown", "error")), "error")
    found = {}
    for position, learnt in zip(at, encoder.categories_, strict=True):
        strings = [value for value in learnt.tolist() if isinstance(value, str)]
        if strings:
            found[names[position]] = Categorical(categories=strings, unknown=unknown, encoder=type(encoder).__name__)
    return found


def encoded_columns(estimator: Any, n_features: int) -> list[tuple[Any, list[int]]]:
    """Each encoder reading the model's own features, with the positions it reads."""
    from sklearn.compose import ColumnTransformer

    steps = [step for _, step in getattr(estimator, "steps", [])] or [estimator]
    if (encoder := encoder_of(steps[0])) is not None:
        return [(encoder, list(range(n_features)))]
    found = []
    if isinstance(steps[0], ColumnTransformer):
        for _, step, columns in steps[0].transformers_:
            encoder, at = encoder_of(step), positions(columns, n_features)
            if encoder is not None and at is not None:
                found.append((encoder, at))
    return found


def categorical_features(estimator: Any, names: list[str]) -> dict[str, Categorical]:
    """The manifest's ``categorical``: the features whose encoders learnt strings, or the booster's own categorical
    columns (empty: every feature a number)."""
    found: dict[str, Categorical] = booster_categorical(estimator, names)
    for encoder, at in encoded_columns(estimator, len(names)):
        found.update(categorical_of(encoder, at, names))
    return found


def booster_categorical(estimator: Any, names: list[str]) -> dict[str, Categorical]:
    """An XGBoost or LightGBM estimator's pandas ``category`` columns, which it encodes itself: their categories, in
    the order whose positions are its codes. LightGBM sends a category it never saw down the branch of a missing
    value (served). XGBoost 3.2's own predict on a DataFrame has no one answer for one: it raised ``Found a category
    not in the training set`` for some, and took others as its first category, when tried; the function refuses it."""
    library = type(estimator).__module__.partition(".")[0]
    unknown: Literal["ignore", "error"]
    if library == "lightgbm" and getattr(estimator, "fitted_", False):
        learnt, unknown = lightgbm_categories(estimator.booster_, names), "ignore"
    elif library == "xgboost" and hasattr(estimator, "_Booster"):
        learnt, unknown = xgboost_categories(estimator.get_booster(), names), "error"
    else:
        return {}
    found = {}
    for name, categories in learnt.items():
        if not all(isinstance(category, str) for category in categories):
            raise PackagingError(
                f"{type(estimator).__name__}'s categorical column {name} has categories that are not strings "
                f"({', '.join(map(repr, categories[:5]))}): the function takes a category as a string; cast the "
                "column's categories to strings before fitting (df[col].cat.rename_categories(str))"
            )
        found[name] = Categorical(categories=categories, unknown=unknown, encoder=type(estimator).__name__, codes=True)
    return found


def lightgbm_categories(booster: Any, names: list[str]) -> dict[str, list[Any]]:
    """LightGBM's pandas categories (``pandas_categorical``, one list per ``category`` column in column order) by
    feature: its categorical features (the model's ``categorical_feature``) must be exactly those columns."""
    learnt: list[list[Any]] = booster.pandas_categorical or []
    if not learnt:
        return {}
    line = next((line for line in booster.model_to_string().splitlines() if line.startswith("[categorical_feature:")),
                "[categorical_feature: ]")  # fmt: skip
    at = [int(i) for i in line.strip("[]").partition(":")[2].replace(",", " ").split()]
    if len(at) != len(learnt):
        raise PackagingError(
            f"LightGBM treats {len(at)} features as categorical, {len(learnt)} of them pandas category columns: "
            "the function cannot tell which; fit it with every categorical feature a pandas category column"
        )
    return {names[position]: list(categories) for position, categories in zip(at, learnt, strict=True)}


def xgboost_categories(booster: Any, names: list[str]) -> dict[str, list[Any]]:
    """XGBoost's categories (stored in the booster since XGBoost 3.1), by feature: the ``"c"`` features."""
    if "c" not in (booster.feature_types or []):
        return {}
    exported = booster.get_categories(export_to_arrow=True).to_arrow()  # needs pyarrow (requirements-dev.txt)
    return {
        names[position]: categories.to_pylist()
        for position, (_, categories) in enumerate(exported or [])
        if categories is not None
    }


def typed_rows(numbers: np.ndarray, names: list[str], categorical: dict[str, Categorical]) -> np.ndarray:
    """``numbers`` (n, n_features) with each categorical feature's column replaced by its categories in turn
    (deterministic, every category used when there are rows enough): the rows a model with strings is proven on
    when there is no data. Unchanged float64 when no feature is categorical."""
    if not categorical:
        return numbers
    rows = numbers.astype(object)
    for position, name in enumerate(names):
        if (kind := categorical.get(name)) is not None:
            categories = kind.categories
            rows[:, position] = [categories[(i + position) % len(categories)] for i in range(len(rows))]
        else:
            rows[:, position] = [float(value) for value in numbers[:, position]]
    return rows


def read_column(values: np.ndarray, name: str, categorical: dict[str, Categorical]) -> np.ndarray:
    """A CSV column as the function sends it: strings for a categorical feature, float64 for the others."""
    if name in categorical:
        return np.asarray([str(value) for value in values.tolist()], dtype=object)
    return values.astype(np.float64)


def as_fitted(rows: np.ndarray, names: list[str], categorical: dict[str, Categorical]) -> Any:
    """``rows`` as the model's own predict takes them: for a booster that encodes its categorical columns itself, a
    DataFrame whose such columns are pandas categories of the learnt categories (one it never saw is missing, as
    pandas makes it), as it was fitted; for any other model, ``rows`` themselves."""
    coded = {name for name, kind in categorical.items() if kind.codes}
    if not coded:
        return rows
    import pandas as pd

    def column(position: int, name: str) -> Any:
        if name not in coded:
            return rows[:, position].astype(np.float64)
        known = categorical[name].categories
        return pd.Categorical([value if value in known else None for value in rows[:, position]], categories=known)

    return pd.DataFrame({name: column(position, name) for position, name in enumerate(names)})
