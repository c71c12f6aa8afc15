"""From a request body to the float matrix the model gets, or a ``RequestError`` saying what is wrong."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError

from predictor.model.runtime import FloatMatrix
from predictor.schemas import PredictRequest
from predictor.web.errors import RequestError

MAX_LISTED_ERRORS = 5


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, float):  # only NaN/inf reach here: finite floats are valid
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def location(parts: tuple[int | str, ...]) -> str:
    """A pydantic error location as the client wrote it: ``instances[3].age``."""
    out = ""
    for part in parts:
        if part in ("list", "object") and out:  # the union's tag, not a location
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _message(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind in ("float_type", "float_parsing"):
        return f"expected a number, got {_describe(value)}"
    if kind == "finite_number":
        return f"expected a finite number, got {_describe(value)}"
    if kind == "extra_forbidden":
        return "unknown field (allowed: 'features' or 'instances')"
    if kind == "row_type":
        return f"expected an array of numbers or an object {{feature_name: number}}, got {_describe(value)}"
    if kind == "list_type":
        return f"expected an array, got {_describe(value)}"
    return str(err["msg"])


def parse_request(body: bytes) -> PredictRequest:
    if not body.strip():
        raise RequestError(400, "empty request body: send a JSON object with 'features' or 'instances'")
    try:
        return PredictRequest.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            reason = str(first["ctx"].get("error", first["msg"])) if first.get("ctx") else first["msg"]
            raise RequestError(400, f"malformed JSON: {reason}") from None
        if first["type"] == "model_type":
            raise RequestError(
                422,
                f"request body must be a JSON object with 'features' or 'instances', got {_describe(first['input'])}",
            ) from None
        items = [{"loc": location(tuple(e["loc"])), "msg": _message(e)} for e in errors]
        listed = "; ".join(f"{i['loc']}: {i['msg']}" for i in items[:MAX_LISTED_ERRORS])
        more = len(items) - MAX_LISTED_ERRORS
        detail = listed + (f" (and {more} more)" if more > 0 else "")
        raise RequestError(422, detail, items) from None


def _row_from_object(row: dict[str, float], names: list[str], where: str) -> list[float]:
    if len(row) == len(names):
        try:
            return [row[name] for name in names]
        except KeyError:
            pass
    unknown = sorted(set(row) - set(names))
    missing = [name for name in names if name not in row]
    problems = []
    if unknown:
        problems.append("unknown features: " + ", ".join(unknown))
    if missing:
        problems.append("missing features: " + ", ".join(missing))
    raise RequestError(422, f"{where}: " + "; ".join(problems) + f" (expected: {', '.join(names)})")


def _check_length(row: list[float], n: int, where: str) -> None:
    if len(row) != n:
        raise RequestError(422, f"{where}: expected {n} features, got {len(row)}")


def to_matrix(request: PredictRequest, feature_names: list[str], max_rows: int) -> tuple[FloatMatrix, bool]:
    """Rows as a (n_rows, n_features) float64 matrix, and whether the request was a single row."""
    n = len(feature_names)
    if request.features is not None and request.instances is not None:
        raise RequestError(422, "give either 'features' (one row) or 'instances' (a batch), not both")
    if request.features is not None:
        row = request.features
        if isinstance(row, dict):
            return np.array([_row_from_object(row, feature_names, "features")], dtype=np.float64), True
        _check_length(row, n, "features")
        return np.array([row], dtype=np.float64), True
    if request.instances is None:
        raise RequestError(422, "missing 'features' (one row) or 'instances' (a batch of rows)")
    return rows_to_matrix(request.instances, feature_names, max_rows), False


def rows_to_matrix(
    rows: list[list[float] | dict[str, float]], feature_names: list[str], max_rows: int, where: str = "instances"
) -> FloatMatrix:
    """A batch of rows (positional lists or objects keyed by feature name, mixed at will), validated by the
    schema's ``Row``, as a (n_rows, n_features) float64 matrix; ``where`` names the batch in messages."""
    if not rows:
        raise RequestError(422, f"'{where}' is empty: send at least one row")
    check_row_count(len(rows), max_rows)
    matrix: list[list[float]] = []
    for i, item in enumerate(rows):
        if isinstance(item, dict):
            matrix.append(_row_from_object(item, feature_names, f"{where}[{i}]"))
        else:
            _check_length(item, len(feature_names), f"{where}[{i}]")
            matrix.append(item)
    return np.array(matrix, dtype=np.float64)


def check_row_count(n_rows: int, max_rows: int) -> None:
    if n_rows > max_rows:
        raise RequestError(413, f"too many rows: {n_rows} > {max_rows} (MAX_BATCH_ROWS); split the batch")
