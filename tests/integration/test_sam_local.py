"""`sam local` for real: every event through `sam local invoke`, and the API over HTTP through
`sam local start-api`, in the python3.13 Lambda image (official, or built here from Debian packages)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

from tests.conftest import ROOT, event_names, load_event
from tests.functional.test_events import EXPECTED
from tests.integration.conftest import BUNDLE, run_sam
from tests.utils import assert_offline_docs, assert_predictions_close

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
    answer = result.stdout.strip().splitlines()
    # SAM has exited 0 with no answer at all (seen once, on a machine loaded by other test runs): its stderr says why.
    assert answer, f"{name}: no answer from sam local invoke:\n{result.stderr[-3000:]}"
    return json.loads(answer[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def invoked(built: Path, lambda_image: str) -> dict[str, dict[str, Any]]:
    """Every file in events/ through `sam local invoke`, two at a time: each starts a container and cold-starts
    the function in it, which must fit the function's Timeout even on a slow, loaded 2-core machine."""
    names = event_names()
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(lambda n: invoke(built, lambda_image, n), names), strict=True))


def rows_of(event: dict[str, Any], names: list[str]) -> np.ndarray:
    raw = event.get("body") or ""
    body = json.loads(base64.b64decode(raw) if event.get("isBase64Encoded") else raw)
    items = [body["features"]] if "features" in body else body["instances"]
    return np.array([[r[n] for n in names] if isinstance(r, dict) else r for r in items], dtype=np.float64)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sam_local_invoke(name: str, invoked: dict[str, dict[str, Any]], default_estimator: Any) -> None:
    status, needle = EXPECTED[name]
    response = invoked[name]
    assert response["statusCode"] == status, response["body"]
    assert needle in response["body"]
    if status == 200 and "predict" in name:
        manifest = json.loads((BUNDLE / "manifest.json").read_text())
        expected = default_estimator.predict(rows_of(load_event(name), manifest["feature_names"]))
        out = json.loads(response["body"])
        # The host's scikit-learn vs the bundle's runtime in the image (cp313): within the bundle's tolerance.
        assert_predictions_close(out["predictions"] if "predictions" in out else [out["prediction"]], expected, BUNDLE)


def test_start_api_over_http(start_api: str, default_estimator: Any) -> None:
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    model = default_estimator
    names = manifest["feature_names"]
    rows = np.array(load_event_rows(), dtype=np.float64)
    with httpx2.Client(base_url=start_api, timeout=60) as client:
        single = client.post("/predict", json={"features": rows[0].tolist()})
        assert single.status_code == 200
        assert single.headers["x-model-version"] == manifest["version"]
        assert_predictions_close([single.json()["prediction"]], model.predict(rows[:1]), BUNDLE)

        batch = client.post("/predict", json={"instances": rows.tolist()})
        assert_predictions_close(batch.json()["predictions"], model.predict(rows), BUNDLE)

        named = client.post("/predict", json={"instances": [dict(zip(names, r, strict=True)) for r in rows.tolist()]})
        assert_predictions_close(named.json()["predictions"], model.predict(rows), BUNDLE)

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
        assert_offline_docs(docs.text)
        asset = client.get("/docs/assets/swagger-ui-bundle.js")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
        assert asset.text.startswith("/*! For license information please see swagger-ui-bundle.js")
        spec = client.get("/openapi.json")
        assert spec.status_code == 200
        assert "/predict" in spec.json()["paths"]
        assert "servers" not in spec.json()


def load_event_rows() -> list[list[float]]:
    body = json.loads(load_event("rest-predict-batch")["body"])
    return body["instances"]  # type: ignore[no-any-return]


def test_start_api_under_load(start_api: str, default_estimator: Any) -> None:
    """200 requests, 4 at a time, through sam local start-api: zero errors, every prediction right."""
    model = default_estimator
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
    expected = [model.predict(row[None, :])[0] for row in rows]
    assert_predictions_close([answers[i][1] for i in range(200)], expected, BUNDLE)
