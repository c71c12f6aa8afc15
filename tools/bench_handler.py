"""Warm in-process latency of the Lambda handler vs bare ``model.predict``, measured in one run.

    .venv/bin/bench-handler [--model-dir layers/model/model] [--n 2000]

Prints p50/p90/p99 per call for: one REST API event through ``app.handler`` (Mangum + FastAPI +
validation + predict + JSON), and ``model.predict`` on the same row as a float array; the same for a
100-row batch; and the ratio handler/predict. Also the cold import of ``app`` (fresh interpreter).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def event(body: str) -> dict[str, Any]:
    return {
        "resource": "/{proxy+}",
        "path": "/predict",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "requestContext": {"path": "/prod/predict", "stage": "prod", "identity": {"sourceIp": "203.0.113.9"}},
        "body": body,
        "isBase64Encoded": False,
    }


def timings(fn: Callable[[], object], n: int) -> list[float]:
    for _ in range(min(200, n)):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else max(values)


def cold_import(model_dir: Path, runs: int) -> list[float]:
    code = "import time; t=time.perf_counter(); import app; print(time.perf_counter()-t)"
    env = {**os.environ, "MODEL_DIR": str(model_dir)}
    return [float(subprocess.check_output([sys.executable, "-c", code], env=env, text=True)) for _ in range(runs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "layers" / "model" / "model")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    os.environ["MODEL_DIR"] = str(args.model_dir)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "PredictFunction"  # as on Lambda: EMF metrics
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # keep the figures readable
    import numpy as np

    import app

    bundle = app.app.state.bundle
    if bundle is None:
        print(f"no model: {app.app.state.bundle_error}", file=sys.stderr)
        return 1
    rng = np.random.default_rng(0)
    rows = {n: rng.normal(0, 0.05, size=(n, bundle.n_features)) for n in (1, 100)}
    print(f"model {bundle.manifest.name} {bundle.manifest.version}; python {sys.version.split()[0]}; n={args.n}")
    print(f"{'case':<34}{'p50 µs':>10}{'p90 µs':>10}{'p99 µs':>10}")
    for n_rows, x in rows.items():
        body = json.dumps({"features": x[0].tolist()} if n_rows == 1 else {"instances": x.tolist()})
        ev = event(body)
        context = SimpleNamespace(
            function_name="PredictFunction",
            memory_limit_in_mb=1769,
            aws_request_id="bench",
            invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PredictFunction",
        )
        # The EMF metrics blob is written on every invocation, as on Lambda: timed, then discarded.
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            assert app.handler(ev, context)["statusCode"] == 200
            handler_t = timings(functools.partial(app.handler, ev, context), args.n)
        predict_t = timings(functools.partial(bundle.model.predict, x), args.n)
        for label, values in ((f"handler, {n_rows} row(s)", handler_t), (f"model.predict, {n_rows} row(s)", predict_t)):
            figures = "".join(f"{pct(values, q) * 1e6:>10.0f}" for q in (50, 90, 99))
            print(f"{label:<34}{figures}")
        print(f"{'  ratio handler/predict (p50)':<34}{pct(handler_t, 50) / pct(predict_t, 50):>10.2f}")
    colds = cold_import(args.model_dir, 3)
    print(f"cold `import app` (fresh interpreter, model load included): {', '.join(f'{c:.2f}s' for c in colds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
