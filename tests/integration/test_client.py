"""tools/operate/client.py against the app served by uvicorn on loopback: load mode, errors, retries."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import serve
from tests.utils import free_port
from tests.zoo import ZooModel
from tools.operate import client


@pytest.fixture(scope="module")
def broken_server(default_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broken = Path(shutil.copytree(default_bundle, tmp_path_factory.mktemp("broken") / "model"))
    for artifact in broken.glob("model.*"):  # model.onnx or model.joblib, whichever the runtime serves
        artifact.write_bytes(b"tampered")
    with serve(broken) as base:
        yield base


@pytest.fixture
def fresh_server(default_bundle: Path) -> Iterator[str]:
    with serve(default_bundle) as base:
        yield base


def test_load_mode_reports_and_writes_json_and_plot(
    fresh_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fresh_server
    out, plot = tmp_path / "result.json", tmp_path / "latency.png"
    argv = ["load", "--url", server, "-n", "300", "-c", "4", "--rows", "5", "--out", str(out), "--plot", str(plot)]
    assert client.main(argv) == 0
    said = capsys.readouterr().out
    assert "300 requests, concurrency 4, 5 row(s) each" in said
    # The process's first answer, the one that met its cold start, was the model card the client read to fit its
    # rows to the served model (GET /model): the load's own requests are all warm.
    assert "errors 0 {'200': 300}, cold starts 0" in said
    result = json.loads(out.read_text())
    assert result["status_counts"] == {"200": 300}
    assert result["errors"] == 0
    assert result["cold_starts"] == 0
    assert len(result["latencies_ms"]) == 300
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p90"] <= result["latency_ms"]["p99"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["server"] == "uvicorn"
    assert "note:" not in said  # no sam local note for uvicorn


def test_predict_mode_prints_the_answer(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["predict", "--url", server]) == 0
    assert "prediction" in json.loads(capsys.readouterr().out)


def test_client_errors_are_explained(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["predict", "--url", server, "--features", "1,2"]) == 2
    assert "predict-client: error: HTTP 422: features: expected 10 features, got 2" in capsys.readouterr().err
    assert client.main(["predict", "--url", "ftp://example"]) == 2
    assert "must start with http:// or https://" in capsys.readouterr().err
    assert client.main(["predict", "--url", server, "--features", "Lyon" + ",0.5" * 9]) == 2  # strings go as strings
    assert "HTTP 422: features[0]: expected a number, got string 'Lyon'" in capsys.readouterr().err


def test_5xx_is_retried_then_reported(broken_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = ["--features", ",".join(["0.01"] * 10)]  # the refused bundle has no model card to fit a row to
    started = time.perf_counter()
    assert client.main(["predict", "--url", broken_server, *row, "--retries", "2"]) == 2
    assert time.perf_counter() - started >= 0.1  # two backoffs happened
    assert "HTTP 503: model not loaded: sha256 mismatch" in capsys.readouterr().err
    plot = tmp_path / "errors.png"
    argv = ["load", "--url", broken_server, *row, "-n", "20", "-c", "2", "--quiet", "--plot", str(plot)]
    assert client.main(argv) == 1
    said = capsys.readouterr().out
    assert "errors 20 {'503': 20}" in said
    assert "first 503: HTTP 503: model not loaded: sha256 mismatch" in said
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # a run with errors is plotted too
    assert client.main(["predict", "--url", broken_server]) == 2  # no row given, none to be had from /model
    assert "cannot read the served model's features from " in capsys.readouterr().err


def test_load_fits_its_rows_to_the_served_model(zoo: dict[str, ZooModel], capsys: pytest.CaptureFixture[str]) -> None:
    """Against a 5-feature model every request is answered (the row is the model's own, from /model); rows that
    do not fit it are refused, and the load test says why and exits non-zero."""
    model = zoo["hist-gradient-boosting-regressor"]
    assert len(model.feature_names) == 5
    with serve(model.bundle) as base:
        assert client.main(["load", "--url", base, "-n", "30", "-c", "2", "--rows", "3", "--quiet"]) == 0
        assert "errors 0 {'200': 30}" in capsys.readouterr().out
        ten = ["--features", ",".join(["0.5"] * 10)]
        assert client.main(["load", "--url", base, *ten, "-n", "10", "-c", "2", "--quiet"]) == 1
        said = capsys.readouterr().out
    assert "errors 10 {'422': 10}" in said
    assert "first 422: HTTP 422: features: expected 5 features, got 10" in said


def sam_local_like(latencies: list[float], cold_starts: int, server: str) -> client.LoadResult:
    return client.LoadResult(
        url="http://127.0.0.1:3000/predict", requests=len(latencies), concurrency=8, rows_per_request=1, wall_s=1.0,
        throughput_rps=10.0, latency_ms={q: client.percentile(latencies, float(q[1:])) for q in ("p50", "p90", "p99")},
        status_counts={"200": len(latencies)}, errors=0, cold_starts=cold_starts, retries=0, latencies_ms=latencies,
        server=server,
    )  # fmt: skip


def test_slow_requests_without_cold_starts_under_sam_local_are_explained(tmp_path: Path) -> None:
    latencies = [40.0] * 90 + [1050.0] * 10  # SAM's up-to-1-s wait for the REPORT line, no new process
    werkzeug = sam_local_like(latencies, 0, "Werkzeug/3.1.9 Python/3.11.7")
    said = client.summary(werkzeug)
    assert "note: 10 request(s) took 900 ms or more but only 0 met a cold start" in said
    assert "`sam local start-api`" in said
    assert "waits up to 1 s for the function's REPORT log line" in said
    assert "note:" not in client.summary(sam_local_like(latencies, 0, "uvicorn"))  # slow for reasons of its own
    assert "note:" not in client.summary(sam_local_like([40.0] * 99 + [1500.0], 1, werkzeug.server))  # a cold start
    client.plot(werkzeug, tmp_path / "sam.png")  # two groups far apart: log-scale bins
    assert (tmp_path / "sam.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert client.main(["predict", "--url", f"http://127.0.0.1:{free_port()}", "--retries", "0"]) == 2
    assert "cannot reach" in capsys.readouterr().err
