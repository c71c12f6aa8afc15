"""Warm in-process latency of the Lambda handler vs bare ``model.predict`` and vs the stack's floor, in one run.

    .venv/bin/bench-handler [--model-dir layers/model/model] [--n 2000] [--json FILE]

Prints p50/p90/p99 per call for: one REST API event through ``app.handler`` (Mangum + FastAPI +
validation + predict + JSON), the same event through a no-op FastAPI + Mangum route (the floor,
bench/floor.py), and the bundle's ``model.predict`` (its runtime: scikit-learn or ONNX Runtime) on the
same row as a float array; the same for a 100-row batch; the ratios handler/predict and handler/floor,
and PASS/MISS of the one-row handler/floor ratio against issue 22's target (2.5x). The three are timed in
alternating rounds, so that a slower moment of the machine weighs on each alike.
Also the cold import of ``app`` (fresh interpreter). ``--json FILE`` writes the figures to FILE instead
of the cold import: bench/runtimes.py runs one such process per bundle (``app`` loads its bundle
once per process, as on Lambda).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TextIO

from bench.floor import TARGET_RATIO, answers, floor_handler, verdict
from tools.paths import ROOT

ROWS = (1, 100)
PERCENTILES = (50, 90, 99)
ROUNDS = 5


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


def lambda_context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="PredictFunction",
        memory_limit_in_mb=1769,
        aws_request_id="bench",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PredictFunction",
    )


def timings(fn: Callable[[], object], n: int) -> list[float]:
    for _ in range(min(200, n)):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def alternating(cases: Mapping[str, Callable[[], object]], n: int) -> dict[str, list[float]]:
    """Seconds per call of each case: ``ROUNDS`` rounds of ``n // ROUNDS`` calls, the cases in turn."""
    out: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, fn in cases.items():
            out[name] += timings(fn, max(1, n // ROUNDS))
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if q < 100 else max(values)


def micros(values: list[float]) -> dict[str, float]:
    return {f"p{q}_us": pct(values, q) * 1e6 for q in PERCENTILES}


def cold_import(model_dir: Path, runs: int) -> list[float]:
    code = "import time; t=time.perf_counter(); import app; print(time.perf_counter()-t)"
    env = {**os.environ, "MODEL_DIR": str(model_dir)}
    outputs = [subprocess.check_output([sys.executable, "-c", code], env=env, text=True) for _ in range(runs)]
    return [float(out.splitlines()[-1]) for out in outputs]  # the last line: the function logs before it


def load_app(model_dir: Path) -> Any:
    """``app`` with its bundle loaded from ``model_dir`` (once per process: the environment is read at import)."""
    os.environ["MODEL_DIR"] = str(model_dir)
    os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "PredictFunction"  # as on Lambda: EMF metrics
    os.environ["POWERTOOLS_LOG_LEVEL"] = "INFO"  # as template.yaml sets it: the access log line is timed too
    import app

    if app.app.state.bundle is None:
        raise SystemExit(f"bench_handler: no model: {app.app.state.bundle_error}")
    return app


@contextlib.contextmanager
def logs_to(stream: TextIO) -> Iterator[None]:
    """The function's log lines written to ``stream`` while the block runs."""
    from predictor.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    try:
        yield
    finally:
        handler.setStream(previous)


def measure(app: Any, n: int) -> dict[int, dict[str, list[float]]]:
    """Seconds per call of the handler (one API Gateway event), of the floor (the same event) and of the bundle's
    model.predict, per row count."""
    import numpy as np

    bundle = app.app.state.bundle
    floor = floor_handler()
    rng = np.random.default_rng(0)
    out = {}
    for n_rows in ROWS:
        x = rng.normal(0, 0.05, size=(n_rows, bundle.n_features))
        ev = event(json.dumps({"features": x[0].tolist()} if n_rows == 1 else {"instances": x.tolist()}))
        context = lambda_context()
        cases = {
            "handler": functools.partial(app.handler, ev, context),
            "floor": functools.partial(floor, ev, context),
            "predict": functools.partial(bundle.model.predict, x),
        }
        # The EMF metrics blob and the access log line are written on every invocation, as on Lambda: timed,
        # then discarded (the log line goes to the stream the logger's handler was given, stdout at its creation).
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), logs_to(devnull):
            assert app.handler(ev, context)["statusCode"] == 200
            assert answers(floor, ev, context)
            out[n_rows] = alternating(cases, n)
    return out


def print_table(measured: dict[int, dict[str, list[float]]]) -> None:
    print(f"{'case':<34}{'p50 µs':>10}{'p90 µs':>10}{'p99 µs':>10}")
    for n_rows, cases in measured.items():
        for label, values in ((f"handler, {n_rows} row(s)", cases["handler"]),
                              (f"floor (no-op FastAPI + Mangum), {n_rows}", cases["floor"]),
                              (f"model.predict, {n_rows} row(s)", cases["predict"])):  # fmt: skip
            print(f"{label:<34}" + "".join(f"{v:>10.0f}" for v in micros(values).values()))
        print(f"{'  ratio handler/predict (p50)':<34}{pct(cases['handler'], 50) / pct(cases['predict'], 50):>10.2f}")
        ratio, outcome = verdict(pct(cases["handler"], 50), pct(cases["floor"], 50))
        target = f"  {outcome} (target <= {TARGET_RATIO}x)" if n_rows == 1 else ""
        print(f"{'  ratio handler/floor (p50)':<34}{ratio:>10.2f}{target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=ROOT / "layers" / "model" / "model")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="write the figures (µs) here instead of printing them")
    args = parser.parse_args()
    app = load_app(args.model_dir)
    manifest = app.app.state.bundle.manifest
    measured = measure(app, args.n)
    if args.json:
        cases = {str(r): {k: micros(v) for k, v in c.items()} for r, c in measured.items()}
        figures = {"model": manifest.name, "version": manifest.version, "runtime": manifest.runtime,
                   "python": sys.version.split()[0], "n": args.n, "cases": cases}  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        return 0
    python = sys.version.split()[0]
    print(f"model {manifest.name} {manifest.version} ({manifest.runtime} runtime); python {python}; n={args.n}")
    print_table(measured)
    colds = cold_import(args.model_dir, 3)
    print(f"cold `import app` (fresh interpreter, model load included): {', '.join(f'{c:.2f}s' for c in colds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
