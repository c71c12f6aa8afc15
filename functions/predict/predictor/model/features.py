"""The served model's features as its manifest types them: numbers, or categories (strings its encoder learnt).

A model without categorical features takes float64 rows, as it always has. A model with some (manifest format 5,
``categorical``) takes object rows: a ``str`` in each categorical feature's column, a ``float`` in every other;
both runtimes serve those (predictor/model/native_runtime.py, predictor/model/onnx_runtime.py). An XGBoost or
LightGBM model that encodes its categorical columns itself takes float64 rows, each category as its code
(``Categorical.codes``). ``problem`` says, in words a client can act on, why one value does not fit its feature;
the request parsers (predictor/rows.py, the protocols) put the location in front and answer 422 or 400.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from predictor.model.manifest import Categorical
from predictor.model.runtime import Rows

NUMBERS, STRINGS = {int, float}, {str}  # the JSON types of a number (not bool: its own type) and of a category
LISTED_CATEGORIES = 10  # an unknown category's message lists at most this many known ones


def describe(value: Any) -> str:
    """A JSON value as a message shows it: ``string 'Paris'``, ``number 3``, ``boolean true``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int | float):
        shown = repr(value)
        return f"number {shown if len(shown) <= 20 else shown[:17] + '...'}"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def finite(value: float) -> bool:
    """A JSON number a float64 holds: not NaN or infinite, not an integer past float64's range."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an int of 309 digits or more
        return False


def known_categories(categorical: Categorical) -> str:
    """The categories a message lists: all of them, or the first ``LISTED_CATEGORIES`` and how many there are."""
    shown = ", ".join(categorical.categories[:LISTED_CATEGORIES])
    more = len(categorical.categories) - LISTED_CATEGORIES
    return shown + (f", ... ({len(categorical.categories)} in all: GET /model lists them)" if more > 0 else "")


class Features:
    """The manifest's features (``feature_names``, ``categorical``): their names, which are categorical, and the
    check of one value against its feature's type."""

    def __init__(self, names: list[str], categorical: dict[str, Categorical] | None = None) -> None:
        self.names = names
        self.categorical: dict[str, Categorical] = categorical or {}
        self.typed = bool(self.categorical)  # False: every feature is a number, rows are float64
        self.kinds: list[Categorical | None] = [self.categorical.get(name) for name in self.names]
        self.known: dict[str, frozenset[str]] = {name: frozenset(c.categories) for name, c in self.categorical.items()}
        self.position = {name: position for position, name in enumerate(self.names)}
        # a booster's own categorical columns: the number each category is to the model (manifest ``codes``)
        self.codes = {
            position: {category: float(code) for code, category in enumerate(kind.categories)}
            for position, kind in enumerate(self.kinds)
            if kind is not None and kind.codes
        }
        self.all_coded = self.typed and len(self.codes) == len(self.categorical)  # the model takes float64 rows

    def problem(self, position: int, value: Any) -> str | None:
        """Why ``value`` does not fit the feature at ``position``, or None."""
        kind = self.kinds[position]
        if kind is None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"expected a number, got {describe(value)}"
            if not finite(value):
                return f"expected a finite number, got {describe(value)}"
            return None
        if not isinstance(value, str):
            return f"expected a category (a string: {known_categories(kind)}), got {describe(value)}"
        if kind.unknown == "error" and value not in self.known[self.names[position]]:
            return f"unknown category {value!r} (known: {known_categories(kind)})"
        return None

    def all_fit(self, rows: list[list[Any]]) -> bool:
        """Whether every value of ``rows`` fits its feature: a column at a time, as ``problem`` would find it (the
        values of a column looked at in one pass each; ``problem`` then says what does not fit)."""
        for column, kind, name in zip(zip(*rows, strict=True), self.kinds, self.names, strict=True):
            types = set(map(type, column))
            if kind is None:
                if not types <= NUMBERS or not all(map(finite, column)):
                    return False
            elif types != STRINGS or (kind.unknown == "error" and not self.known[name].issuperset(column)):
                return False
        return True

    def matrix(self, rows: list[list[Any]]) -> Rows:
        """Checked rows as the runtimes take them: float64, or object (strings and floats) when some feature is
        categorical; a booster's own categorical column holds each category's code (NaN for one it never saw), and
        rows whose every categorical column is such are float64."""
        if not self.typed:
            return np.array(rows, dtype=np.float64)
        out = np.array(rows, dtype=object).reshape(len(rows), len(self.names))
        for position, kind in enumerate(self.kinds):
            if kind is None:
                out[:, position] = out[:, position].astype(np.float64)
            elif (codes := self.codes.get(position)) is not None:
                out[:, position] = [codes.get(value, math.nan) for value in out[:, position]]
        return out.astype(np.float64) if self.all_coded else out
