"""`sam local` for real: every event through `sam local invoke`, and the API over HTTP through
`sam local start-api`, in the python3.13 Lambda image (official, or built here from Debian packages)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import joblib
import numpy as np
import pytest

from tests.conftest import ROOT, event_names, load_event
from tests.functional.test_events import EXPECTED
from tests.integration.conftest import BUNDLE, SAM, lambda_containers, run_sam, sam_env, wait_for_health
from tests.utils import assert_predictions_close, free_port

pytestmark = [pytest.mark.build, pytest.mark.sam, pytest.mark.docker]


def invoke(built: Path, image: str, name: str) -> dict[str, Any]:
    result = run_sam(
        "local",
        "invoke",
        "PredictFunction",
        "-t",
        str(built / "template.yaml"),
        "-e",
        str(ROOT / "events" / f"{name}.json"),
        "--invoke-image",
        image,
        "--skip-pull-image",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def invoked(built: Path, lambda_image: str) -> dict[str, dict[str, Any]]:
    """Every file in events/ through `sam local invoke` (three at a time: each starts a container)."""
    names = event_names()
    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(names, pool.map(lambda n: invoke(built, lambda_image, n), names), strict=True))


def rows_of(event: dict[str, Any], names: list[str]) -> np.ndarray:
    raw = event.get("body") or ""
    body = json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)
    items = [body["features"]] if "features" in body else body["instances"]
    return np.array([[r[n] for n in names] if isinstance(r, dict) else r for r in items], dtype=np.float64)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sam_local_invoke(name: str, invoked: dict[str, dict[str, Any]]) -> None:
    status, needle = EXPECTED[name]
    response = invoked[name]
    assert response["statusCode"] == status, response["body"]
    assert needle in response["body"]
    if status == 200 and "predict" in name:
        manifest = json.loads((BUNDLE / "manifest.json").read_text())
        expected = joblib.load(BUNDLE / "model.joblib").predict(rows_of(load_event(name), manifest["feature_names"]))
        out = json.loads(response["body"])
        # The host's scikit-learn (cp311 wheels) vs the image's (cp313): equal within the tolerance.
        assert_predictions_close(out["predictions"] if "predictions" in out else [out["prediction"]], expected)


@pytest.fixture(scope="session")
def start_api(built: Path, lambda_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sam local start-api` on the build, stopped as Ctrl-C does (SIGINT to its group; SIGTERM, what make
    local's wrapper turns into that, is tests/integration/test_clean_stop.py's): no container may be left."""
    before = lambda_containers()
    port = free_port()
    log = tmp_path_factory.mktemp("start-api") / "sam.log"
    args = ["local", "start-api", "-t", str(built / "template.yaml"), "--port", str(port)]
    args += ["--invoke-image", lambda_image, "--skip-pull-image", "--warm-containers", "EAGER"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(SAM), *args], cwd=ROOT, env=sam_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(proc, base, log)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: SAM stops its containers
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode is not None
    assert lambda_containers() - before == set(), "sam local start-api left containers behind"


def test_start_api_over_http(start_api: str) -> None:
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    model = joblib.load(BUNDLE / "model.joblib")
    names = manifest["feature_names"]
    rows = np.array(load_event_rows(), dtype=np.float64)
    with httpx2.Client(base_url=start_api, timeout=60) as client:
        single = client.post("/predict", json={"features": rows[0].tolist()})
        assert single.status_code == 200
        assert single.headers["x-model-version"] == manifest["version"]
        assert_predictions_close([single.json()["prediction"]], model.predict(rows[:1]))

        batch = client.post("/predict", json={"instances": rows.tolist()})
        assert_predictions_close(batch.json()["predictions"], model.predict(rows))

        named = client.post("/predict", json={"instances": [dict(zip(names, r, strict=True)) for r in rows.tolist()]})
        assert_predictions_close(named.json()["predictions"], model.predict(rows))

        health = client.get("/health")
        assert health.json() == {"status": "ok", "model_version": manifest["version"]}
        assert client.get("/model").json()["sha256"] == manifest["sha256"]

        bad = client.post("/predict", json={"features": [*rows[0].tolist(), 1.0]})
        assert bad.status_code == 422
        assert bad.json()["detail"] == f"features: expected {len(names)} features, got {len(names) + 1}"
        assert client.post("/predict", content=b'{"features": [1,').status_code == 400

        # /docs must point at the local URL: SAM's events carry stage "Prod", the local URL has none.
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "url: '/openapi.json'" in docs.text
        spec = client.get("/openapi.json")
        assert spec.status_code == 200
        assert "/predict" in spec.json()["paths"]
        assert "servers" not in spec.json()


def load_event_rows() -> list[list[float]]:
    body = json.loads(load_event("rest-predict-batch")["body"])
    return body["instances"]  # type: ignore[no-any-return]


def test_start_api_under_load(start_api: str) -> None:
    """200 requests, 4 at a time, through sam local start-api: zero errors, every prediction right."""
    model = joblib.load(BUNDLE / "model.joblib")
    rng = np.random.default_rng(11)
    rows = rng.normal(0, 0.05, size=(200, 10))
    answers: dict[int, tuple[int, float | None]] = {}

    async def run() -> None:
        async with httpx2.AsyncClient(base_url=start_api, timeout=120) as client:
            queue = list(range(len(rows)))

            async def worker() -> None:
                while queue:
                    i = queue.pop()
                    response = await client.post("/predict", json={"features": rows[i].tolist()})
                    ok = response.status_code == 200
                    answers[i] = (response.status_code, response.json()["prediction"] if ok else None)

            await asyncio.gather(*(worker() for _ in range(4)))

    started = time.perf_counter()
    asyncio.run(run())
    print(f"\nsam local start-api: 200 requests, concurrency 4, {200 / (time.perf_counter() - started):.1f} req/s")
    assert sorted(status for status, _ in answers.values()) == [200] * 200
    assert_predictions_close([answers[i][1] for i in range(200)], [model.predict(row[None, :])[0] for row in rows])
