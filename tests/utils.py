"""Test helpers shared by every kind of test (fixtures live in the conftest files)."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI

from predictor.api import create_app
from predictor.model.bundle import ModelBundle, load_or_error
from predictor.model.manifest import BundleError
from predictor.model.reference import ATOL, RTOL, worst_numeric
from predictor.observability import Telemetry
from predictor.settings import Settings


def assert_predictions_close(served: Any, expected: Any, bundle_dir: Path | None = None) -> None:
    """Predictions that crossed a process, an interpreter, a wheel build, an image (host vs the Lambda image)
    or a runtime (scikit-learn vs ONNX Runtime): equal within the bundle contract's one tolerance,
    |served - expected| <= atol + rtol * |expected| (predictor/model/reference.py): the default RTOL and ATOL, or
    the bundle's own (an ONNX bundle records its parity gate's). Answers computed by one runtime inside one
    process are compared exactly."""
    rtol, atol = tolerance_of(bundle_dir) if bundle_dir is not None else (RTOL, ATOL)
    deviation = worst_numeric(served, expected, rtol, atol)
    assert deviation is None, f"predictions differ beyond the tolerance: {deviation}"


def manifest_of(bundle_dir: Path) -> dict[str, Any]:
    """The bundle's manifest.json as a plain dict."""
    return json.loads((bundle_dir / "manifest.json").read_text())  # type: ignore[no-any-return]


def tolerance_of(bundle_dir: Path) -> tuple[float, float]:
    """The bundle's reference tolerance (rtol, atol), as the function applies it at cold start."""
    reference = json.loads((bundle_dir / "manifest.json").read_text())["reference"]
    return float(reference["rtol"]), float(reference["atol"])


@dataclass
class FakeLambdaContext:
    """What Powertools and the app read of a Lambda context. The only one in this process: the scripts that
    test_load.py and test_sam_build.py run in another interpreter keep a minimal inline one."""

    function_name: str = "PredictFunction"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:PredictFunction"
    memory_limit_in_mb: int = 1769
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/PredictFunction"
    log_stream_name: str = "2026/11/21/[$LATEST]abcdef"
    remaining_time_ms: int = 29_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_time_ms


def rewrite_manifest(model_dir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """``edit`` applied to the bundle's manifest.json in place (model.joblib, and so its sha256, untouched)."""
    path = model_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def refusal(model_dir: Path) -> str:
    """Why ModelBundle.load refuses the bundle in ``model_dir`` (the test fails if it does not refuse it)."""
    with pytest.raises(BundleError) as caught:
        ModelBundle.load(model_dir)
    return str(caught.value)


def make_app(model_dir: Path, telemetry: Telemetry | None = None, **settings: Any) -> FastAPI:
    """The app over the bundle in ``model_dir``, as create_app builds it, with ``Settings(model_dir, **settings)``
    (for TestClient; Lambda events go through the production handler: tests/conftest.py)."""
    return create_app(Settings(model_dir, **settings), load_or_error(model_dir), telemetry)


def assert_offline_docs(html: str, root: str = "") -> None:
    """``html`` is the offline Swagger UI page (predictor/web/docs.py) served under the prefix ``root``: its
    OpenAPI document and assets are the function's own (``root`` + path), the favicon is inline, and it
    names no outside host at all."""
    assert f"url: '{root}/openapi.json'" in html
    css, favicon, js = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert (css, js) == (f"{root}/docs/assets/swagger-ui.css", f"{root}/docs/assets/swagger-ui-bundle.js")
    assert favicon.startswith("data:image/png;base64,")
    outside = re.findall(r"(?:https?:)?//[a-z0-9.-]+", html.replace(favicon, ""), re.IGNORECASE)
    assert not outside, f"the page names an outside host: {outside}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on at this moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served_by(proc: subprocess.Popen[bytes], url: str) -> Iterator[str]:
    """``url``, served by the server process ``proc`` until the block ends; then ``proc`` is stopped and reaped."""
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the standard protocols: requests as their clients send them, through API Gateway -------------------

EVENTS = Path(__file__).resolve().parents[1] / "events"
TRITON_HEADERS = {"Host": "1234567890.execute-api.us-east-1.amazonaws.com", "User-Agent": "python/gevent-http-client"}


def rest_event(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """A REST API (v1) event for ``path`` on stage ``prod``, as API Gateway sends it with BinaryMediaTypes */*
    (template.yaml): the body base64; no headers but Host, User-Agent and ``headers`` (tritonclient sends
    neither Accept nor Content-Type)."""
    event = json.loads((EVENTS / "rest-predict-single.json").read_text())
    sent = {**TRITON_HEADERS, **(headers or {})}
    event.update(httpMethod=method, path=path, pathParameters={"proxy": path[1:]}, headers=sent)
    event.update(multiValueHeaders={k: [v] for k, v in sent.items()}, body=base64.b64encode(body).decode())
    event.update(isBase64Encoded=True)
    event["requestContext"].update(httpMethod=method, path=f"/prod{path}")
    return event  # type: ignore[no-any-return]


def post(handler: Callable[[dict[str, Any]], dict[str, Any]], body: Any) -> tuple[int, dict[str, Any]]:
    """A JSON body POSTed to /predict through ``handler`` (a REST API event): the status and the decoded answer."""
    answer = handler(rest_event("POST", "/predict", json.dumps(body).encode()))
    return answer["statusCode"], json.loads(answer["body"])


def http_event(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP API (payload v2) event for ``path`` on stage ``prod``, the body base64 as HTTP APIs send bytes."""
    event = json.loads((EVENTS / "http-stage-predict-batch.json").read_text())
    event.update(rawPath=f"/prod{path}", headers={k.lower(): v for k, v in (headers or {}).items()})
    event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    event["requestContext"]["http"].update(method=method, path=f"/prod{path}")
    return event  # type: ignore[no-any-return]


def triton_features(rows: Any, datatype: str = "FP64", binary: bool = True) -> Any:
    """The model's one input, ``features``, as tritonclient.http builds it: ``rows`` cast to ``datatype``
    (FP64 or FP32), binary by default."""
    import tritonclient.http as triton  # gevent & co. are imported only by the tests that use the client

    values = np.asarray(rows).astype({"FP64": np.float64, "FP32": np.float32}[datatype])
    tensor = triton.InferInput("features", list(values.shape), datatype)
    return tensor.set_data_from_numpy(values, binary_data=binary)


def triton_feature_inputs(frame: Any, categorical: list[str], binary: bool = True) -> list[Any]:
    """A model with categorical features' inputs, one per column of the DataFrame ``frame``, [n, 1], as
    tritonclient.http builds them: BYTES from an object array of strings for the ``categorical`` columns, FP64
    from floats for the others; binary by default."""
    import tritonclient.http as triton

    inputs = []
    for name in frame.columns:
        strings = name in categorical
        values = frame[name].to_numpy(dtype=object if strings else np.float64).reshape(-1, 1)
        tensor = triton.InferInput(name, list(values.shape), "BYTES" if strings else "FP64")
        inputs.append(tensor.set_data_from_numpy(values, binary_data=binary))
    return inputs


def as_sent(rows: Any, datatype: str) -> Any:
    """The float64 rows the model gets for ``rows`` sent as ``datatype`` (FP32 rounds each value first)."""
    return np.asarray(rows).astype(np.float32).astype(np.float64) if datatype == "FP32" else np.asarray(rows)


def assert_labels_equal(served: list[Any], expected: Any) -> None:
    """Class labels are never approximate: identical values of identical types, whatever the runtime."""
    assert served == list(expected.tolist() if hasattr(expected, "tolist") else expected)


def fail_inside_mangum(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make Mangum fail after it has read an event, as it does when the thread has no current event loop:
    a fault of the function's own, never the client's."""

    def no_event_loop() -> None:
        raise RuntimeError("There is no current event loop in thread 'MainThread'.")

    monkeypatch.setattr("mangum.protocols.http.asyncio.get_event_loop", no_event_loop)
