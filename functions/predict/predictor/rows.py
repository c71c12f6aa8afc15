"""From a request body to the rows the model gets, or a ``RequestError`` saying what is wrong: a float64 matrix, checked
by the schema (``PredictRequest``); for a model with categorical features an object matrix of strings and floats,
each value checked against its feature's type (predictor/typed_request.py, predictor/model/features.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from predictor.model.features import Features, describe
from predictor.model.runtime import Rows
from predictor.schemas import PredictRequest
from predictor.web.errors import RequestError, listed

if TYPE_CHECKING:
    from predictor.typed_request import TypedPredictRequest


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
        return f"expected a number, got {describe(value)}"
    if kind == "finite_number":
        return f"expected a finite number, got {describe(value)}"
    if kind == "extra_forbidden":
        return "unknown field (allowed: 'features' or 'instances')"
    if kind == "row_type":
        return f"expected {str(err['msg']).removeprefix('should be ')}, got {describe(value)}"
    if kind == "list_type":
        return f"expected an array, got {describe(value)}"
    return str(err["msg"])


def parse_request(body: bytes, typed: bool = False) -> PredictRequest | TypedPredictRequest:
    """The body as /predict's request: ``typed`` for a model with categorical features (values checked later)."""
    if not body.strip():
        raise RequestError(400, "empty request body: send a JSON object with 'features' or 'instances'")
    try:
        if typed:
            from predictor.typed_request import TypedPredictRequest  # built when such a model is served

            return TypedPredictRequest.model_validate_json(body)
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
                f"request body must be a JSON object with 'features' or 'instances', got {describe(first['input'])}",
            ) from None
        raise _unprocessable([{"loc": location(tuple(e["loc"])), "msg": _message(e)} for e in errors]) from None


def _row_from_object(row: dict[str, Any], names: list[str], where: str) -> list[Any]:
    if len(row) == len(names):
        try:
            return [row[name] for name in names]
        except KeyError:
            pass
    unknown = sorted(set(row) - set(names))
    missing = [name for name in names if name not in row]
    problems = []
    if unknown:
        problems.append("unknown features: " + ", ".join(_with_guess(name, missing) for name in unknown))
    if missing:
        problems.append("missing features: " + ", ".join(missing))
    raise RequestError(422, f"{where}: " + "; ".join(problems) + f" (expected: {', '.join(names)})")


def _with_guess(unknown: str, missing: list[str]) -> str:
    """An unknown feature name, and the missing one it is probably a misspelling of."""
    import difflib  # on this error's path only: 1 ms of imports the cold start need not pay

    guess = difflib.get_close_matches(unknown, missing, n=1)
    return f"{unknown} (did you mean {guess[0]}?)" if guess else unknown


def _check_length(row: list[Any], n: int, where: str) -> None:
    if len(row) != n:
        raise RequestError(422, f"{where}: expected {n} features, got {len(row)}")


def to_matrix(request: PredictRequest | TypedPredictRequest, features: Features, max_rows: int) -> tuple[Rows, bool]:
    """The request's rows as the model takes them (``Features.matrix``), and whether it was a single row."""
    if request.features is not None and request.instances is not None:
        raise RequestError(422, "give either 'features' (one row) or 'instances' (a batch), not both")
    if request.features is not None:
        row = _ordered(request.features, features.names, "features")
        return _checked([row], [request.features], features, lambda i: "features"), True
    if request.instances is None:
        raise RequestError(422, "missing 'features' (one row) or 'instances' (a batch of rows)")
    return rows_to_matrix(request.instances, features, max_rows), False


def _ordered(item: list[Any] | dict[str, Any], names: list[str], where: str) -> list[Any]:
    """A row's values in the order of ``names``: an object's by name, a list's as they are (of the right length)."""
    if isinstance(item, dict):
        return _row_from_object(item, names, where)
    _check_length(item, len(names), where)
    return item


def rows_to_matrix(rows: list[Any], features: Features, max_rows: int, where: str = "instances") -> Rows:
    """A batch of rows (positional lists or objects keyed by feature name, mixed at will), validated by the
    schema's row type, as the model takes them (``Features.matrix``); ``where`` names the batch in messages."""
    if not rows:
        raise RequestError(422, f"'{where}' is empty: send at least one row")
    check_row_count(len(rows), max_rows)
    matrix = [_ordered(item, features.names, f"{where}[{i}]") for i, item in enumerate(rows)]
    return _checked(matrix, rows, features, lambda i: f"{where}[{i}]")


def _checked(matrix: list[list[Any]], given: list[Any], features: Features, where: Callable[[int], str]) -> Rows:
    """The rows as the model takes them (``Features.matrix``). A model of numbers only: the schema checked them
    already. A model with categorical features: each value checked against its feature's type, a 422 listing every
    value that does not fit, by location and feature name (``given``: the rows as sent, lists or objects)."""
    if not features.typed or features.all_fit(matrix):
        return features.matrix(matrix)
    items = []
    for i, row in enumerate(matrix):
        for position, value in enumerate(row):
            if (problem := features.problem(position, value)) is not None:
                name = features.names[position]
                at = f"{where(i)}.{name}" if isinstance(given[i], dict) else f"{where(i)}[{position}] ({name})"
                items.append({"loc": at, "msg": problem})
    if items:
        raise _unprocessable(items)
    return features.matrix(matrix)


def _unprocessable(items: list[dict[str, str]]) -> RequestError:
    """A 422 whose detail lists the first problems (``listed``), ``errors`` them all."""
    return RequestError(422, listed([f"{i['loc']}: {i['msg']}" for i in items]), items)


def check_row_count(n_rows: int, max_rows: int) -> None:
    if n_rows > max_rows:
        raise RequestError(413, f"too many rows: {n_rows} > {max_rows} (MAX_BATCH_ROWS); split the batch")
