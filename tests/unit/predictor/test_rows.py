"""Request schema and row building: what a client's mistake looks like, and what a good body becomes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from predictor.model.features import Features
from predictor.rows import parse_request, to_matrix
from predictor.web.errors import RequestError

NAMES = ["a", "b", "c"]


def rows(body: object, max_rows: int = 10) -> tuple[np.ndarray, bool]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return to_matrix(parse_request(raw), Features(NAMES), max_rows)


def refused(body: object, max_rows: int = 10) -> RequestError:
    with pytest.raises(RequestError) as caught:
        rows(body, max_rows)
    return caught.value


def test_single_row_positional_and_named_give_the_same_matrix() -> None:
    m1, single1 = rows({"features": [1, 2.5, -3]})
    m2, single2 = rows({"features": {"c": -3, "a": 1, "b": 2.5}})
    assert single1
    assert single2
    assert m1.dtype == np.float64
    assert m1.shape == (1, 3)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(m1, [[1.0, 2.5, -3.0]])


def test_batch_mixes_positional_and_named_rows_in_manifest_order() -> None:
    m, single = rows({"instances": [[1, 2, 3], {"b": 5, "c": 6, "a": 4}]})
    assert not single
    np.testing.assert_array_equal(m, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"features": [1, 2]}, 422, "features: expected 3 features, got 2"),
        ({"features": [1, 2, 3, 4]}, 422, "features: expected 3 features, got 4"),
        ({"features": []}, 422, "expected 3 features, got 0"),
        ({"instances": [[1, 2, 3], [1, 2]]}, 422, "instances[1]: expected 3 features, got 2"),
        ({"features": [1, "2", 3]}, 422, "features[1]: expected a number, got string '2'"),
        ({"features": [1, True, 3]}, 422, "features[1]: expected a number, got boolean true"),
        ({"features": [1, None, 3]}, 422, "features[1]: expected a number, got null"),
        ({"features": [1, [2], 3]}, 422, "features[1]: expected a number, got an array"),
        ({"instances": [[[1, 2, 3]]]}, 422, "instances[0][0]: expected a number, got an array"),
        ({"features": 5}, 422, "features: expected an array of numbers or an object"),
        ({"instances": [1, 2, 3]}, 422, "instances[0]: expected an array of numbers or an object"),
        ({"instances": {"a": [1]}}, 422, "instances: expected an array, got an object"),
        ({"features": {"a": 1, "b": 2, "zz": 3}}, 422, "features: unknown features: zz; missing features: c"),
        ({"instances": [{"a": 1, "b": 2}]}, 422, "instances[0]: missing features: c"),
        ({"features": {"a": 1, "b": "x", "c": 3}}, 422, "features.b: expected a number, got string 'x'"),
        ({"instances": []}, 422, "'instances' is empty"),
        ({}, 422, "missing 'features' (one row) or 'instances'"),
        ({"features": None}, 422, "missing 'features'"),
        ({"features": [1, 2, 3], "instances": [[1, 2, 3]]}, 422, "not both"),
        ({"feature": [1, 2, 3]}, 422, "feature: unknown field"),
        ([[1, 2, 3]], 422, "must be a JSON object with 'features' or 'instances', got an array"),
        ("1,2,3", 422, "must be a JSON object"),
        ({"instances": [[1, 2, 3]] * 11}, 413, "too many rows: 11 > 10"),
    ],
)
def test_bad_bodies_are_refused_with_a_detail_naming_the_problem(body: object, status: int, detail: str) -> None:
    error = refused(body)
    assert error.status == status
    assert detail in error.detail


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'{"features": [1, NaN, 3]}', "features[1]: expected a finite number, got NaN"),
        (b'{"features": [1, Infinity, 3]}', "features[1]: expected a finite number, got Infinity"),
        (b'{"features": [1, -Infinity, 3]}', "features[1]: expected a finite number, got -Infinity"),
        (b'{"features": [1, 1e400, 3]}', "features[1]: expected a finite number, got Infinity"),
    ],
)
def test_non_finite_numbers_are_refused(raw: bytes, detail: str) -> None:
    error = refused(raw)
    assert (error.status, error.detail) == (422, detail)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"", "empty request body"),
        (b"   \n", "empty request body"),
        (b'{"features": [1, 2', "malformed JSON: EOF while parsing"),
        (b'{"features": [1, 2, 3]} trailing', "malformed JSON: trailing characters"),
        (b"{'features': [1, 2, 3]}", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
    ],
)
def test_bodies_that_are_not_json_get_400(raw: bytes, detail: str) -> None:
    error = refused(raw)
    assert error.status == 400
    assert detail in error.detail


def test_many_errors_are_summarised_and_all_listed() -> None:
    error = refused({"instances": [["x", "y", "z"], ["x", "y", "z"]]})
    assert error.errors is not None
    assert len(error.errors) == 6
    assert error.detail.endswith("(and 1 more)")
    assert error.errors[5] == {"loc": "instances[1][2]", "msg": "expected a number, got string 'z'"}
