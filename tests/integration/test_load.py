"""Under load and over time: uvicorn with 10,000 requests at concurrency 32, every prediction checked;
50,000 in-process handler invocations without memory growth."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.utils import assert_predictions_close

pytestmark = [pytest.mark.load]

REQUESTS, CONCURRENCY = 10_000, 32


async def hammer(url: str, rows: np.ndarray) -> tuple[Counter[int], list[float], list[float]]:
    statuses: Counter[int] = Counter()
    answers = [float("nan")] * len(rows)
    latencies: list[float] = []
    cursor = 0
    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx2.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal cursor
            while cursor < len(rows):
                i = cursor
                cursor += 1
                started = time.perf_counter()
                response = await client.post(url, json={"features": rows[i].tolist()})
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    answers[i] = response.json()["prediction"]

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses, answers, latencies


def test_ten_thousand_requests_at_concurrency_32(server: str, default_bundle: Path, default_estimator: Any) -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(0, 0.05, size=(REQUESTS, 10))
    model = default_estimator
    expected = [model.predict(row[None, :])[0] for row in rows]  # one row at a time, as the server does
    started = time.perf_counter()
    statuses, answers, latencies = asyncio.run(hammer(f"{server}/predict", rows))
    wall = time.perf_counter() - started
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    print(f"\nuvicorn: {REQUESTS} requests, concurrency {CONCURRENCY}: {REQUESTS / wall:.0f} req/s, "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, statuses {dict(statuses)}")  # fmt: skip
    assert statuses == Counter({200: REQUESTS})
    assert_predictions_close(answers, expected, default_bundle)  # sklearn vs the bundle's runtime; NaN never


# Runs in a fresh interpreter, as Lambda runs the function: it keeps a minimal Lambda context of its own
# (in this process, tests/utils.py FakeLambdaContext is the one).
SOAK = """
import contextlib, gc, io, json, os, sys, types
import psutil
sink = open(os.devnull, "w")
with contextlib.redirect_stdout(sink):
    import app
context = types.SimpleNamespace(function_name="PredictFunction", memory_limit_in_mb=1769, aws_request_id="soak",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PredictFunction")
events = [json.loads(open(p).read()) for p in sys.argv[2:]]
process = psutil.Process()
marks = {}
with contextlib.redirect_stdout(sink):
    for i in range(int(sys.argv[1])):
        response = app.handler(events[i % len(events)], context)
        assert response["statusCode"] < 500, response
        if i + 1 in (5_000, 25_000, int(sys.argv[1])):
            gc.collect()
            marks[i + 1] = process.memory_info().rss / 2**20
print(json.dumps(marks))
"""


def test_memory_does_not_grow_over_50000_invocations(default_bundle: Path) -> None:
    names = ["rest-predict-single", "rest-predict-batch", "http-predict-single", "alb-predict-single",
             "rest-bad-nan", "rest-bad-malformed-json", "rest-health", "rest-not-found"]  # fmt: skip
    events = [str(ROOT / "events" / f"{name}.json") for name in names]
    env = {**os.environ, "MODEL_DIR": str(default_bundle), "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction"}
    result = subprocess.run(
        [sys.executable, "-c", SOAK, "50000", *events], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    marks = {int(k): v for k, v in json.loads(result.stdout.strip().splitlines()[-1]).items()}
    figures = " / ".join(f"{marks[n]:.1f}" for n in (5000, 25000, 50000))
    print(f"\nRSS after 5,000 / 25,000 / 50,000 invocations: {figures} MiB")
    assert marks[50000] - marks[5000] < 5.0  # MiB: no per-invocation leak (that would be ~0.1 KiB x 45,000 at least)
