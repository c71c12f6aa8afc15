"""A value against its feature's type: the words a client reads in a 422, and the rows the runtimes get."""

from __future__ import annotations

import math

import numpy as np
import pytest

from predictor.model.features import Features
from predictor.model.manifest import Categorical

CITY = Categorical(categories=["Lille", "Lyon", "Paris"], unknown="ignore", encoder="OneHotEncoder")
KIND = Categorical(categories=["flat", "house"], unknown="error", encoder="OrdinalEncoder")
FEATURES = Features(["rooms", "city", "kind"], {"city": CITY, "kind": KIND})


@pytest.mark.parametrize(
    ("position", "value", "problem"),
    [
        (0, 3, None),
        (0, 2.5, None),
        (0, "3", "expected a number, got string '3'"),
        (0, True, "expected a number, got boolean true"),
        (0, None, "expected a number, got null"),
        (0, math.nan, "expected a finite number, got NaN"),
        (0, -math.inf, "expected a finite number, got -Infinity"),
        (0, 10**400, "expected a finite number, got number 10000000000000000..."),
        (1, "Lyon", None),
        (1, "Grenoble", None),  # the encoder ignores unknown cities
        (1, 69, "expected a category (a string: Lille, Lyon, Paris), got number 69"),
        (1, ["Lyon"], "expected a category (a string: Lille, Lyon, Paris), got an array"),
        (2, "house", None),
        (2, "castle", "unknown category 'castle' (known: flat, house)"),
        (2, "House", "unknown category 'House' (known: flat, house)"),  # categories are compared exactly
    ],
)
def test_each_value_is_checked_against_its_features_type(position: int, value: object, problem: str | None) -> None:
    assert FEATURES.problem(position, value) == problem


def test_rows_that_fit_are_found_in_one_pass_per_column_and_agree_with_each_values_check() -> None:
    fitting = [[3, "Lyon", "flat"], [2.5, "Grenoble", "house"]]
    assert FEATURES.all_fit(fitting)
    for bad in ([True, "Lyon", "flat"], [3, 69, "flat"], [3, "Lyon", "castle"], [math.inf, "Lyon", "flat"],
                [10**400, "Lyon", "flat"], [3, None, "flat"]):  # fmt: skip
        assert not FEATURES.all_fit([*fitting, bad])
        assert any(FEATURES.problem(position, value) for position, value in enumerate(bad))


def test_a_long_list_of_known_categories_is_shortened() -> None:
    many = Categorical(categories=[f"c{i:02d}" for i in range(40)], unknown="error", encoder="OneHotEncoder")
    problem = Features(["code"], {"code": many}).problem(0, "zz")
    assert problem == (
        "unknown category 'zz' (known: c00, c01, c02, c03, c04, c05, c06, c07, c08, c09, ... (40 in all: GET /model "
        "lists them))"
    )


def test_rows_are_float64_without_categories_and_objects_with_them() -> None:
    numbers = Features(["a", "b"]).matrix([[1, 2.5]])
    assert numbers.dtype == np.float64
    assert numbers.tolist() == [[1.0, 2.5]]
    typed = FEATURES.matrix([[3, "Lyon", "flat"]])
    assert typed.dtype == object
    assert typed.tolist() == [[3.0, "Lyon", "flat"]]
    assert isinstance(typed[0, 0], float)


def test_a_boosters_own_categories_reach_it_as_their_codes_an_unknown_one_as_missing() -> None:
    city = Categorical(categories=["Lille", "Lyon", "Paris"], unknown="ignore", encoder="LGBMRegressor", codes=True)
    features = Features(["rooms", "city"], {"city": city})
    rows = features.matrix([[3, "Paris"], [2.5, "Lille"], [1, "Grenoble"]])
    assert rows.dtype == np.float64  # what the booster's predict takes from an array
    np.testing.assert_array_equal(rows, [[3.0, 2.0], [2.5, 0.0], [1.0, np.nan]])
