"""Test helpers shared by every kind of test (fixtures live in the conftest files)."""

from __future__ import annotations

from typing import Any

from predictor.reference import ATOL, RTOL, worst_numeric


def assert_predictions_close(served: Any, expected: Any) -> None:
    """Predictions that crossed a process, an interpreter, a wheel build or an image (host vs the Lambda
    image): equal within the bundle contract's one tolerance, |served - expected| <= ATOL + RTOL * |expected|
    (predictor/reference.py). Only answers computed inside one process are compared exactly."""
    deviation = worst_numeric(served, expected, RTOL, ATOL)
    assert deviation is None, f"predictions differ beyond the tolerance: {deviation}"
