"""Open Inference Protocol tensors: datatypes, JSON ``data``, and the binary tensor data extension
(Triton's, what ``tritonclient.http`` sends by default).

Binary form: the body is a JSON header of ``Inference-Header-Content-Length`` bytes, then each binary
tensor's raw bytes in the order of the header's tensors, each ``binary_data_size`` bytes long: little-endian,
row-major, no padding; a BYTES element is a 4-byte little-endian length and then its bytes; a BOOL is 1 byte.
Input values are cast to their declared datatype first (FP32 data is what a float32 holds, as on Triton),
then to float64 for the model; every value must be finite. BYTES inputs (a categorical feature's strings,
predictor/protocols/feature_inputs.py) are UTF-8.
"""

from __future__ import annotations

import struct
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from pydantic import Field, TypeAdapter, ValidationError

from predictor.model.runtime import FloatMatrix
from predictor.rows import location
from predictor.web.errors import RequestError

INFERENCE_HEADER = "Inference-Header-Content-Length"
# The datatypes an input may have, as numpy little-endian dtypes (BOOL, BYTES, BF16: refused).
INPUT_DTYPES = {
    "FP64": "<f8", "FP32": "<f4", "FP16": "<f2",
    "INT64": "<i8", "INT32": "<i4", "INT16": "<i2", "INT8": "i1",
    "UINT64": "<u8", "UINT32": "<u4", "UINT16": "<u2", "UINT8": "u1",
}  # fmt: skip
OUTPUT_DTYPES = {"FP64": "<f8", "INT64": "<i8", "BOOL": "?"}  # and BYTES, length-prefixed
UNSUPPORTED = ("shared_memory_region", "classification")  # Triton extensions this server does not offer

Number = Annotated[float, Field(strict=True)]  # ints too; NaN/infinity pass here and are refused as values
FLAT = TypeAdapter(list[Number])
NESTED = TypeAdapter(list[list[Number]])


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON header and the binary data after it (none without ``Inference-Header-Content-Length``)."""
    if header_length is None:
        return body, b""
    if not header_length.strip().isdigit():
        raise RequestError(400, f"{INFERENCE_HEADER} must be a number of bytes, got {header_length[:40]!r}")
    size = int(header_length)
    if size > len(body):
        raise RequestError(400, f"{INFERENCE_HEADER} is {size:,} but the body has {len(body):,} bytes")
    return body[:size], body[size:]


class BinaryData:
    """The binary part of a body, handed out in order, ``binary_data_size`` bytes per tensor."""

    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def take(self, size: int, where: str) -> bytes:
        left = len(self.data) - self.offset
        if size > left:
            raise RequestError(400, f"{where}: binary_data_size {size:,} but only {left:,} bytes of binary data left")
        self.offset += size
        return self.data[self.offset - size : self.offset]

    def check_used_up(self) -> None:
        extra = len(self.data) - self.offset
        if extra:
            raise RequestError(400, f"{extra:,} bytes after the last binary tensor: binary_data_size too small?")


def refuse_unsupported(parameters: dict[str, Any], where: str) -> None:
    for key in UNSUPPORTED:
        if key in parameters:
            raise RequestError(400, f"{where}: the {key} parameter is not supported by this server")


def binary_part(parameters: dict[str, Any], has_data: bool, binary: BinaryData, where: str) -> bytes | None:
    """An input's binary data, when its parameters give its ``binary_data_size``; None when it has JSON ``data``."""
    refuse_unsupported(parameters, where)
    size = parameters.get("binary_data_size")
    if size is None:
        if not has_data:
            raise RequestError(400, f"{where}: no data: give 'data', or binary data and its binary_data_size")
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or has_data:
        raise RequestError(400, f"{where}: binary_data_size must be a byte count, with no 'data' beside it")
    return binary.take(size, where)


def check_datatype(datatype: str, where: str) -> None:
    if datatype not in INPUT_DTYPES:
        accepted = ", ".join(INPUT_DTYPES)
        raise RequestError(400, f"{where}: datatype {datatype!r} is not accepted (numbers only: {accepted})")


def from_binary(raw: bytes, datatype: str, shape: list[int], where: str) -> FloatMatrix:
    dtype = np.dtype(INPUT_DTYPES[datatype])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise RequestError(
            400, f"{where}: {len(raw):,} bytes of {datatype} data, but shape {shape} takes {expected:,} bytes"
        )
    return as_float64(np.frombuffer(raw, dtype=dtype).reshape(shape), where)


def from_json(data: list[Any], datatype: str, shape: list[int], where: str) -> FloatMatrix:
    """``data``, flat or nested (row-major), as a ``shape`` matrix of the declared datatype's values."""
    nested = bool(data) and isinstance(data[0], list)
    try:
        values = np.array((NESTED if nested else FLAT).validate_python(data), dtype=np.float64)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise RequestError(400, f"{location((where, 'data', *first['loc']))}: {first['msg']}") from None
    except ValueError:  # rows of unequal length
        raise RequestError(400, f"{where}.data: nested rows of unequal length") from None
    if (nested and list(values.shape) != shape) or values.size != int(np.prod(shape)):
        raise RequestError(400, f"{where}.data: {values.size} values {list(values.shape)} do not fill shape {shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        typed = values.reshape(shape).astype(INPUT_DTYPES[datatype])
    if datatype[0] in "IU" and not np.array_equal(typed, values.reshape(shape)):
        raise RequestError(400, f"{where}.data: values that are not {datatype} integers (fractions or out of range)")
    return as_float64(typed, where)


def strings_from_binary(raw: bytes, count: int, where: str) -> list[str]:
    """A BYTES tensor's ``count`` elements, each a 4-byte little-endian length and then that many UTF-8 bytes."""
    strings: list[str] = []
    offset = 0
    while offset < len(raw) and len(strings) < count:
        if offset + 4 > len(raw):
            break
        (size,) = struct.unpack_from("<I", raw, offset)
        element = raw[offset + 4 : offset + 4 + size]
        if len(element) != size:
            break
        try:
            strings.append(element.decode())
        except UnicodeDecodeError:
            raise RequestError(400, f"{where}: element {len(strings)} is not UTF-8 text") from None
        offset += 4 + size
    if len(strings) != count or offset != len(raw):
        raise RequestError(
            400, f"{where}: {len(raw):,} bytes of BYTES data do not hold {count} length-prefixed elements exactly"
        )
    return strings


def as_float64(values: npt.NDArray[Any], where: str) -> FloatMatrix:
    """``values`` ([n_rows, ...] or [n_rows]) as float64, refused when a row holds NaN or infinity."""
    matrix = values.astype(np.float64)
    finite = np.isfinite(matrix).reshape(len(matrix), -1).all(axis=1)
    if not finite.all():
        rows = ", ".join(str(i) for i in np.flatnonzero(~finite)[:10])
        raise RequestError(400, f"{where}: NaN or infinity in row(s) {rows}: every value must be a finite number")
    return matrix


def output_bytes(datatype: str, values: npt.NDArray[Any]) -> bytes:
    """An output tensor's binary form."""
    if datatype == "BYTES":
        encoded = [str(v).encode() for v in values.ravel().tolist()]
        return b"".join(struct.pack("<I", len(e)) + e for e in encoded)
    return values.astype(OUTPUT_DTYPES[datatype]).tobytes()
