"""The Open Inference Protocol inputs of a model with categorical features: one tensor per feature, named as the
feature (``served_model.feature_specs``), in any order, each of shape [n_rows, 1] or [n_rows]: BYTES (strings) for
a categorical feature, numbers of the datatypes ``features`` takes for the others, as JSON ``data`` (flat, or
nested one value a row) or binary data (predictor/protocols/tensors.py). Each value is checked against its feature
(``Features.problem``: a number where a category goes, an unknown category the encoder refuses); the problems are
listed in one 400 naming the input, the row and the value; the rows are then what the runtimes take
(``Features.matrix``).
"""

from __future__ import annotations

from typing import Any

from predictor.model.bundle import ModelBundle
from predictor.model.features import Features
from predictor.model.runtime import Rows
from predictor.protocols.open_inference_schemas import RequestInput
from predictor.protocols.served_model import feature_specs
from predictor.protocols.tensors import (
    BinaryData,
    binary_part,
    check_datatype,
    from_binary,
    from_json,
    strings_from_binary,
)
from predictor.rows import check_row_count
from predictor.web.errors import RequestError, listed


def feature_rows(inputs: list[RequestInput], binary: BinaryData, bundle: ModelBundle, max_rows: int) -> Rows:
    """The rows of one tensor per feature: each input read in the request's order (binary data comes in that
    order), its values checked, then the columns put in feature order."""
    features = bundle.features
    check_names([tensor.name for tensor in inputs], bundle)
    n_rows = row_count(inputs, max_rows)
    columns: dict[str, list[Any]] = {}
    problems: list[str] = []
    for i, tensor in enumerate(inputs):
        where, position = f"inputs[{i}] ({tensor.name})", features.position[tensor.name]
        check_input_datatype(tensor.datatype, features.kinds[position] is not None, where)
        values = values_of(tensor, binary, n_rows, where)
        found = [(row, problem) for row, value in enumerate(values) if (problem := features.problem(position, value))]
        problems += [f"{where}, row {row}: {problem}" for row, problem in found]
        columns[tensor.name] = values if found else as_declared(values, tensor.datatype, features, position, where)
    binary.check_used_up()
    if problems:
        raise RequestError(400, listed(problems))
    return features.matrix([list(row) for row in zip(*(columns[name] for name in features.names), strict=True)])


def check_names(names: list[str], bundle: ModelBundle) -> None:
    """Every feature's input once, no other: else a 400 that lists the inputs the model takes."""
    expected = bundle.features.names
    if sorted(names) == sorted(expected):
        return
    problems = []
    if missing := [name for name in expected if name not in names]:
        problems.append("missing " + ", ".join(missing))
    if unknown := [name for name in names if name not in expected]:
        problems.append("unknown " + ", ".join(repr(name) for name in unknown))
    if twice := sorted({name for name in names if names.count(name) > 1}):
        problems.append("given twice " + ", ".join(twice))
    takes = ", ".join(f"{spec.name} ({spec.datatype})" for spec in feature_specs(bundle.manifest))
    message = f"this model takes one input per feature, each [n_rows, 1]: {takes}; " + "; ".join(problems)
    raise RequestError(400, message)


def row_count(inputs: list[RequestInput], max_rows: int) -> int:
    """The number of rows, the same in every input's shape ([n_rows, 1] or [n_rows])."""
    counts = set()
    for i, tensor in enumerate(inputs):
        shape = tensor.shape
        if len(shape) not in (1, 2) or shape[1:] not in ([], [1]) or shape[0] < 1:
            where = f"inputs[{i}] ({tensor.name})"
            raise RequestError(400, f"{where}: shape {shape} does not fit [-1, 1]: send [n_rows, 1]")
        counts.add(shape[0])
    if len(counts) > 1:
        raise RequestError(400, f"the inputs have different numbers of rows ({sorted(counts)}): one value per row each")
    n_rows = counts.pop()
    check_row_count(n_rows, max_rows)
    return n_rows


def check_input_datatype(datatype: str, categorical: bool, where: str) -> None:
    if not categorical:
        check_datatype(datatype, where)
    elif datatype != "BYTES":
        raise RequestError(400, f"{where}: datatype {datatype!r} is not accepted: a categorical feature is BYTES")


def values_of(tensor: RequestInput, binary: BinaryData, n_rows: int, where: str) -> list[Any]:
    """An input's ``n_rows`` values as sent: its JSON data's, its binary strings or its binary numbers."""
    raw = binary_part(tensor.parameters or {}, tensor.data is not None, binary, where)
    if raw is None:
        return column_of(tensor.data or [], tensor.shape, where)
    if tensor.datatype == "BYTES":
        return strings_from_binary(raw, n_rows, where)
    return from_binary(raw, tensor.datatype, [n_rows], where).tolist()  # type: ignore[no-any-return]


def column_of(data: list[Any], shape: list[int], where: str) -> list[Any]:
    """JSON ``data`` of shape [n_rows] or [n_rows, 1], flat or nested ([[value], ...]), as its values."""
    if len(shape) == 2 and data and all(isinstance(value, list) for value in data):
        if any(len(value) != 1 for value in data):
            raise RequestError(400, f"{where}.data: nested rows must hold one value each, as shape {shape} says")
        data = [value[0] for value in data]
    if len(data) != shape[0]:
        raise RequestError(400, f"{where}.data: {len(data)} values do not fill shape {shape}")
    return data


def as_declared(values: list[Any], datatype: str, features: Features, position: int, where: str) -> list[Any]:
    """A numeric input's checked values as its declared datatype holds them (FP32 rounds, INT* must be whole);
    a categorical input's strings as they are."""
    if features.kinds[position] is not None:
        return values
    return from_json(values, datatype, [len(values)], where).tolist()  # type: ignore[no-any-return]
