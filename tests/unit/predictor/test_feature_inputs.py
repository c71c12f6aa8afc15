"""The Open Inference Protocol's BYTES tensors and one-column inputs (a model with categorical features): binary
strings as tritonclient serializes them, JSON columns flat or nested, and what does not fit them."""

from __future__ import annotations

import numpy as np
import pytest
from tritonclient.utils import serialize_byte_tensor

from predictor.protocols.feature_inputs import column_of
from predictor.protocols.tensors import as_float64, strings_from_binary
from predictor.web.errors import RequestError

CITIES = ["Paris", "", "Saint-Étienne", "Lyon"]  # an empty string and a non-ASCII one too


def serialized(values: list[object]) -> bytes:
    """A BYTES tensor's binary data as tritonclient.http sends it (4-byte little-endian length, then the bytes)."""
    return bytes(serialize_byte_tensor(np.array(values, dtype=object).reshape(-1, 1)).item())


def error_of(call: object) -> str:
    with pytest.raises(RequestError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.status == 400
    return str(caught.value.detail)


def test_binary_strings_as_tritonclient_serializes_them() -> None:
    assert strings_from_binary(serialized(CITIES), 4, "inputs[3]") == CITIES
    assert strings_from_binary(serialized([b"flat"]), 1, "inputs[4]") == ["flat"]


@pytest.mark.parametrize(
    ("raw", "count", "error"),
    [
        (serialized(CITIES)[:-1], 4, "inputs[3]: 38 bytes of BYTES data do not hold 4 length-prefixed elements"),
        (serialized(CITIES) + b"\0", 4, "inputs[3]: 40 bytes of BYTES data do not hold 4"),
        (serialized(CITIES), 5, "do not hold 5 length-prefixed elements exactly"),
        (serialized(CITIES), 3, "do not hold 3 length-prefixed elements exactly"),
        (b"\x05\x00", 1, "2 bytes of BYTES data do not hold 1"),
        (serialized([b"Pa\xffis"]), 1, "inputs[3]: element 0 is not UTF-8 text"),
    ],
    ids=["cut short", "a byte more", "an element short", "an element more", "no whole length", "not UTF-8"],
)
def test_binary_strings_that_do_not_fit(raw: bytes, count: int, error: str) -> None:
    assert error in error_of(lambda: strings_from_binary(raw, count, "inputs[3]"))


def test_a_json_column_flat_or_nested_one_value_a_row() -> None:
    assert column_of(["Paris", "Lyon"], [2, 1], "inputs[3]") == ["Paris", "Lyon"]
    assert column_of([["Paris"], ["Lyon"]], [2, 1], "inputs[3]") == ["Paris", "Lyon"]
    assert column_of([1.5, 2.5], [2], "inputs[0]") == [1.5, 2.5]
    assert column_of([[1.5], [2.5]], [2], "inputs[0]") == [[1.5], [2.5]]  # [n]: each value is checked later
    assert error_of(lambda: column_of([["Paris", "Lyon"]], [1, 1], "inputs[3]")).startswith(
        "inputs[3].data: nested rows must hold one value each"
    )
    assert error_of(lambda: column_of(["Paris"], [2, 1], "inputs[3]")) == (
        "inputs[3].data: 1 values do not fill shape [2, 1]"
    )


def test_a_column_of_numbers_is_checked_for_finite_values_too() -> None:
    assert as_float64(np.array([1, 2], dtype=np.int32), "inputs[0]").tolist() == [1.0, 2.0]
    assert error_of(lambda: as_float64(np.array([1.0, np.inf]), "inputs[0]")).startswith(
        "inputs[0]: NaN or infinity in row(s) 1"
    )
