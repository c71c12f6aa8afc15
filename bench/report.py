"""`make bench`: this project against the seed's architectures, and its two runtimes, same machine, same run.

    .venv/bin/bench [--duration 5] [--out docs/benchmarks.md] [--work-dir .build/bench]   # make bench

Served over loopback and driven by the same load generator (wrk, a C load tool: its own overhead is
far below the servers', unlike a Python client's) with the same request bodies:
1. the seed's Flask monolith (bench/seed/monolith.py: Flask dev server, joblib.load, /predict);
2. the seed's microservices (bench/seed/gateway.py forwarding to bench/seed/prediction_service.py);
3. this project's app under uvicorn (httptools + uvloop, one worker per core);
then, without HTTP:
4. this project's Lambda handler called in-process with an API Gateway event (what Lambda bills);
5. bare ``model.predict`` on the same rows (the floor; default scikit-learn configuration);
and, when a Docker engine answers, 6. ``sam local start-api`` (reported, not compared: the emulator
runs the function in a container per request) and the cold start in the Lambda container, both of
``make bench``'s own ``sam build`` of the project's bundle (into WORK_DIR/sam-build, not .aws-sam);
7. ONNX Runtime vs scikit-learn, the default model and a 100-tree forest (bench/runtimes.py: cold
start, warm handler, layer sizes, issue 11's targets). 1-5 serve the default model's scikit-learn bundle
that 7 packages (the seed's services can only ``joblib.load`` a model), whatever runtime ``make model``
chose for layers/model/model.

Concurrency 1 and 8, one-row and 100-row requests: p50/p99 latency, throughput, CPU time per request
and peak memory (RSS high-water mark) of the server processes. Writes the table, the targets and the
plots under docs/ (docs/benchmarks.md, docs/bench/*.png, docs/bench/results.json).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import runtimes as bench_runtimes
from bench.cold_start import Deployment, docker_available
from tools.paths import ROOT

PY = sys.executable
WORK = ROOT / ".build" / "bench"
FUNCTION = ROOT / "functions" / "predict"
DOCS = ROOT / "docs"
CASES = [(1, 1), (1, 100), (8, 1), (8, 100)]  # (concurrency, rows per request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows(n: int) -> list[list[float]]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes().data
    return [[float(v) for v in data[i % len(data)]] for i in range(n)]


def body(n_rows: int) -> str:
    return json.dumps({"features": rows(1)[0]} if n_rows == 1 else {"instances": rows(n_rows)})


def wait_ready(url: str, payload: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, data=payload.encode(), headers={"content-type": "application/json"})
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=5) as response:  # loopback only
            if response.status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not answer within {timeout:.0f}s")


@contextlib.contextmanager
def servers(kind: str, bundle: Path) -> Iterator[tuple[str, list[int]]]:
    """Start one architecture serving ``bundle``; yield its /predict URL and the pids that serve it."""
    model = str(bundle / "model.joblib")
    procs: list[subprocess.Popen[bytes]] = []
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    try:
        if kind == "seed monolith":
            port = free_port()
            env = {**os.environ, "MODEL_PATH": model, "PORT": str(port)}
            procs.append(subprocess.Popen([PY, "monolith.py"], cwd=ROOT / "bench" / "seed", env=env, **quiet))
        elif kind == "seed microservices":
            backend, port = free_port(), free_port()
            env = {**os.environ, "MODEL_PATH": model, "PORT": str(backend)}
            procs.append(subprocess.Popen([PY, "prediction_service.py"], cwd=ROOT / "bench" / "seed", env=env, **quiet))
            env = {**os.environ, "PREDICTION_URL": f"http://127.0.0.1:{backend}/predict", "PORT": str(port)}
            procs.append(subprocess.Popen([PY, "gateway.py"], cwd=ROOT / "bench" / "seed", env=env, **quiet))
        elif kind == "this project (uvicorn)":
            port = free_port()
            env = {**os.environ, "MODEL_DIR": str(bundle)}
            uvicorn = Path(PY).with_name("uvicorn")
            # One worker per core, as uvicorn is run in production; the seed's Flask server is one
            # process whose threads share one GIL.
            cmd = [str(uvicorn), "app:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                   "--workers", str(os.cpu_count() or 1)]  # fmt: skip
            procs.append(subprocess.Popen(cmd, cwd=FUNCTION, env=env, **quiet))
        else:
            raise ValueError(kind)
        url = f"http://127.0.0.1:{port}/predict"
        wait_ready(url, body(1))
        yield url, [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)


def tree(pid: int) -> list[Any]:
    import psutil

    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]  # uvicorn's workers are its children


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for process in tree(pid):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def peak_rss_mb(pid: int) -> float:
    """Sum of the high-water marks (VmHWM) of the server's processes."""
    total = 0.0
    for process in tree(pid):
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_wrk(text: str) -> dict[str, float]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not match:
            raise SystemExit(f"bench: cannot read the {label}% latency from wrk:\n{text}")
        return float(match.group(1)) * UNITS[match.group(2)]

    total = re.search(r"(\d+) requests in", text)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "rps": float(rps.group(1)) if rps else float("nan"),
        "requests": int(total.group(1)) if total else 0,
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, errors.groups())) if errors else 0),
    }


def run_wrk(url: str, payload: str, concurrency: int, duration: float) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[{payload}]==]\n'
        )
    try:
        threads = min(concurrency, 2)
        cmd = [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            "-s",
            script.name,
            url,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(out)


def http_benchmarks(duration: float, bundle: Path) -> list[dict[str, Any]]:
    results = []
    for kind in ("seed monolith", "seed microservices", "this project (uvicorn)"):
        with servers(kind, bundle) as (url, pids):
            for concurrency, n_rows in CASES:
                payload = body(n_rows)
                run_wrk(url, payload, concurrency, 1)  # warm-up
                before = sum(cpu_seconds(p) for p in pids)
                measured: dict[str, Any] = dict(run_wrk(url, payload, concurrency, duration))
                cpu = sum(cpu_seconds(p) for p in pids) - before
                measured.update(
                    kind=kind,
                    concurrency=concurrency,
                    rows=n_rows,
                    cpu_ms_per_request=1000 * cpu / max(1, measured["requests"]),
                    peak_rss_mb=sum(peak_rss_mb(p) for p in pids),
                )
                results.append(measured)
                print(
                    f"  {kind:<24} c={concurrency} rows={n_rows:<3} p50 {measured['p50_ms']:.3f} ms  "
                    f"p99 {measured['p99_ms']:.3f} ms  {measured['rps']:.0f} req/s  errors {measured['errors']}",
                    flush=True,
                )
    return results


def timed(fn: Callable[[], object], n: int) -> list[float]:
    """Milliseconds per call after a warm-up (bench/handler.py's timer)."""
    from bench.handler import timings

    return [t * 1000 for t in timings(fn, n)]


def in_process(n: int, bundle: Path) -> dict[str, Any]:
    """The handler with an API Gateway event, bare model.predict, and the 1,000-row floor."""
    os.environ.update({"MODEL_DIR": str(bundle), "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction"})
    import joblib
    import numpy as np

    from bench.handler import event

    devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the whole run: the logger keeps writing to it
    with contextlib.redirect_stdout(devnull):
        import app  # its JSON log lines go where stdout is at import: here, nowhere

    model = joblib.load(bundle / "model.joblib")  # a separate copy, default sklearn configuration
    context = SimpleNamespace(
        function_name="PredictFunction", memory_limit_in_mb=1769, aws_request_id="bench",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PredictFunction",
    )  # fmt: skip

    out: dict[str, Any] = {}
    with contextlib.redirect_stdout(devnull):  # logs and EMF: written (as on Lambda), not kept
        for n_rows in (1, 100, 1000):
            payload = body(n_rows)
            ev = event(payload)
            x = np.array(rows(n_rows))
            assert app.handler(ev, context)["statusCode"] == 200
            reps = n if n_rows < 1000 else max(100, n // 10)
            handler = statistics.median(timed(functools.partial(app.handler, ev, context), reps))
            predict = statistics.median(timed(functools.partial(model.predict, x), reps))

            def floor(payload: str = payload) -> object:
                decoded = json.loads(payload)
                matrix = np.asarray(decoded["features"] if "features" in decoded else decoded["instances"], float)
                return model.predict(matrix if matrix.ndim == 2 else matrix[None, :])

            decode_predict = statistics.median(timed(floor, reps))
            out[str(n_rows)] = {"handler_p50_ms": handler, "predict_p50_ms": predict, "floor_p50_ms": decode_predict}
            print(  # to the real stdout: this block's stdout is the function's log sink
                f"  in-process rows={n_rows:<4} handler {handler * 1000:.0f} µs, model.predict {predict * 1000:.0f} µs, "
                f"json+predict {decode_predict * 1000:.0f} µs",
                file=sys.__stdout__,
                flush=True,
            )
    return out


def container_figures(duration: float, build: Path) -> dict[str, Any]:
    """Cold start vs bare import + load, and sam local start-api, of a `sam build` in ``build``."""
    if not docker_available():
        return {"skipped": "no Docker engine answers `docker info`"}
    if not (build / "template.yaml").is_file():
        return {"skipped": f"no sam build in {build} (make bench builds it)"}
    out: dict[str, Any] = {"runtime": Deployment.from_build(build).runtime()}
    command = [PY, "-m", "bench.cold_start", "--runs", "3", "--build-dir", str(build)]
    cold = subprocess.run(command, capture_output=True, text=True)
    if cold.returncode == 0:
        out["cold_start"] = cold.stdout.strip().splitlines()
        match = re.search(r"ratio cold start / bare: ([\d.]+)", cold.stdout)
        out["cold_start_ratio"] = float(match.group(1)) if match else None
        print("  " + "\n  ".join(out["cold_start"][-3:]), flush=True)
    image = subprocess.run([PY, "-m", "tools.build.lambda_image"], capture_output=True, text=True).stdout.strip()
    port = free_port()
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    template = build / "template.yaml"
    cmd = [str(sam), "local", "start-api", "-t", str(template), "--port", str(port), "--invoke-image", image,
           "--skip-pull-image", "--warm-containers", "EAGER"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL_DIR", "AWS_LAMBDA_FUNCTION_NAME")}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**env, "SAM_CLI_TELEMETRY": "0"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/predict"
        # SAM first builds an image with the layer in it: minutes on a busy machine. Reported, so not fatal.
        wait_ready(url, body(1), timeout=360)
        out["sam_local"] = run_wrk(url, body(1), 1, duration)
        print(f"  sam local start-api c=1 rows=1: p50 {out['sam_local']['p50_ms']:.1f} ms, "
              f"{out['sam_local']['rps']:.1f} req/s (reported, not compared)", flush=True)  # fmt: skip
    except SystemExit as exc:
        out["sam_local_skipped"] = str(exc)
        print(f"  {exc}", flush=True)
    finally:
        os.killpg(proc.pid, 2)
        proc.wait(timeout=60)
    return out


def table(http: list[dict[str, Any]]) -> str:
    lines = [
        "| architecture | conc. | rows | p50 ms | p99 ms | req/s | CPU ms/req | peak RSS MB | p50 vs monolith | req/s vs monolith |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in http:
        base = next(
            b
            for b in http
            if b["kind"] == "seed monolith" and b["concurrency"] == r["concurrency"] and b["rows"] == r["rows"]
        )
        lines.append(
            f"| {r['kind']} | {r['concurrency']} | {r['rows']} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['rps']:.0f} | "
            f"{r['cpu_ms_per_request']:.3f} | {r['peak_rss_mb']:.0f} | {r['p50_ms'] / base['p50_ms']:.2f} | "
            f"{r['rps'] / base['rps']:.2f}× |"
        )
    return "\n".join(lines)


def targets(
    http: list[dict[str, Any]], inproc: dict[str, Any], container: dict[str, Any]
) -> list[tuple[str, str, bool]]:
    def pick(kind: str, c: int, n: int) -> dict[str, Any]:
        return next(r for r in http if r["kind"] == kind and r["concurrency"] == c and r["rows"] == n)

    ours, mono = pick("this project (uvicorn)", 1, 1), pick("seed monolith", 1, 1)
    micro8 = pick("seed microservices", 8, 1)
    ours8 = pick("this project (uvicorn)", 8, 1)
    one, thousand = inproc["1"], inproc["1000"]
    rows_ = [
        ("HTTP p50 vs seed monolith, c=1", f"{ours['p50_ms'] / mono['p50_ms']:.2f} (≤ 0.5)", ours["p50_ms"] / mono["p50_ms"] <= 0.5),
        ("HTTP throughput vs seed monolith, c=1", f"{ours['rps'] / mono['rps']:.2f}× (≥ 2)", ours["rps"] / mono["rps"] >= 2),
        ("HTTP throughput vs seed microservices, c=8", f"{ours8['rps'] / micro8['rps']:.2f}× (≥ 8)", ours8["rps"] / micro8["rps"] >= 8),
        ("handler vs bare model.predict, 1 row, p50", f"{one['handler_p50_ms'] / one['predict_p50_ms']:.2f}× (≤ 2)",
         one["handler_p50_ms"] / one["predict_p50_ms"] <= 2),
        ("handler vs JSON decode + model.predict, 1,000 rows, p50",
         f"{thousand['handler_p50_ms'] / thousand['floor_p50_ms']:.2f}× (≤ 1.5)",
         thousand["handler_p50_ms"] / thousand["floor_p50_ms"] <= 1.5),
    ]  # fmt: skip
    ratio = container.get("cold_start_ratio")
    if ratio is not None:
        label = f"cold start in the container vs bare import + load ({container.get('runtime')} runtime)"
        rows_.append((label, f"{ratio:.2f}× (≤ 1.25)", ratio <= 1.25))
    return rows_


def plots(http: list[dict[str, Any]], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = ["seed monolith", "seed microservices", "this project (uvicorn)"]
    names = []
    for metric, label, filename in (
        ("p50_ms", "p50 latency (ms, log scale)", "latency.png"),
        ("rps", "requests/s", "throughput.png"),
    ):
        fig, ax = plt.subplots(figsize=(9, 4))
        width = 0.27
        for i, kind in enumerate(kinds):
            values = [
                next(r[metric] for r in http if r["kind"] == kind and (r["concurrency"], r["rows"]) == case)
                for case in CASES
            ]
            ax.bar([x + (i - 1) * width for x in range(len(CASES))], values, width, label=kind)
        ax.set_xticks(range(len(CASES)), [f"c={c}, {n} row(s)" for c, n in CASES])
        ax.set_ylabel(label)
        if metric == "p50_ms":
            ax.set_yscale("log")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / filename, dpi=110)
        plt.close(fig)
        names.append(filename)
    return names


def sam_local_line(container: dict[str, Any]) -> list[str]:
    if "sam_local" not in container:
        return [container["sam_local_skipped"]] if "sam_local_skipped" in container else []
    figures = container["sam_local"]
    return [
        f"sam local start-api, c=1, 1 row: p50 {figures['p50_ms']:.1f} ms, {figures['rps']:.1f} req/s "
        "(reported, not compared)"
    ]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, Python {platform.python_version()}"


@dataclass(frozen=True)
class Run:
    """One `make bench` run's figures."""

    bundle: Path  # the default model's scikit-learn bundle that 1-5 serve
    http: list[dict[str, Any]]
    inproc: dict[str, Any]
    container: dict[str, Any]
    runtimes: list[bench_runtimes.Result]
    load: tuple[float, float]  # the 1-minute load average when the run started and when it ended

    def checks(self) -> list[tuple[str, str, bool]]:
        return targets(self.http, self.inproc, self.container)


def runtime_section(results: list[bench_runtimes.Result]) -> list[str]:
    checks = bench_runtimes.targets(results)
    return [
        "## Runtimes: ONNX Runtime vs each model's own library (scikit-learn, XGBoost, LightGBM)",
        "",
        "Each model packaged with `package-model --runtime onnx` and `--runtime native`, built with the function's "
        "and the layer's own recipes (bench/runtimes.py). Cold start: `docker run` of the python3.13 Lambda "
        "image with the function and the layer mounted → the first response to `events/rest-predict-single.json` "
        "(the bundles in turn in each round). Warm: the production handler with an API Gateway event, in "
        "process on the host's Python, the median of the rounds' p50s. Sizes unzipped, MB = 10⁶ bytes; room left under Lambda's "
        "262,144,000 bytes for the function and its layers. An ONNX cell's ratio is over the native runtime's figure "
        "of the same model in this run.",
        "",
        *bench_runtimes.table(results),
        "",
        "Cold starts, each run (s): " + "; ".join(bench_runtimes.cold_runs(results)),
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {t.name} | {t.figure()} | {MET[t.met]} |" for t in checks],
        "",
    ]


MET = {True: "yes", False: "**no**", None: "not measured"}


def report(run: Run, duration: float, images: list[str]) -> str:
    """docs/benchmarks.md: the figures of one run, as tables, with the plots."""
    estimator = json.loads((run.bundle / "manifest.json").read_text())["estimator"]
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {machine()}, {time.strftime('%Y-%m-%d')}; written by it (the runtime "
        "comparison alone: `make bench-runtimes`, which prints it). HTTP and in-process: the same model for all "
        f"({estimator}, its scikit-learn bundle, which the seed's services load), same request bodies, same load generator (wrk, {duration:.0f} s "
        f"per case after a 1 s warm-up). The servers share the machine's cores with wrk. Load average (1 min): "
        f"{run.load[0]:.2f} at the start, {run.load[1]:.2f} at the end.",
        "",
        "## HTTP on loopback",
        "",
        table(run.http),
        "",
        "## In-process (no HTTP)",
        "",
        "| rows | Lambda handler, API Gateway event, p50 | bare `model.predict`, p50 | JSON decode + `model.predict`, p50 |",
        "|---|---|---|---|",
        *[
            f"| {n} | {v['handler_p50_ms'] * 1000:.0f} µs | {v['predict_p50_ms'] * 1000:.0f} µs | "
            f"{v['floor_p50_ms'] * 1000:.0f} µs |"
            for n, v in run.inproc.items()
        ],
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {t} | {v} | {MET[ok]} |" for t, v, ok in run.checks()],
        "",
        *runtime_section(run.runtimes),
        "## Containers",
        "",
        "`make bench`'s own `sam build` of the project's bundle (layers/model/model as `make model` left it: "
        f"{run.container.get('runtime', 'none')} runtime): the cold start against the bare import of that runtime "
        "+ the model's load (bench/cold_start.py, median of 3), and `sam local start-api`.",
        "",
        "```",
        *run.container.get("cold_start", [run.container.get("skipped", "")]),
        *sam_local_line(run.container),
        "```",
        "",
        *[f"![{name}](bench/{name})" for name in images],
        "",
    ]
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> Run:
    load = os.getloadavg()[0]
    docker = docker_available()
    print("runtimes (ONNX Runtime vs each model's own library):", flush=True)
    models = list(bench_runtimes.MODELS)
    runtimes = bench_runtimes.run(args.work_dir / "runtimes", args.runtime_runs, args.runtime_n, docker, models)
    bundle = bench_runtimes.bundle_dir(args.work_dir / "runtimes", "default", "native")
    print("HTTP on loopback (wrk):", flush=True)
    http = http_benchmarks(args.duration, bundle)
    print("in-process:", flush=True)
    inproc = in_process(args.n, bundle)
    print("container:", flush=True)
    container = container_figures(args.duration, args.work_dir / "sam-build")
    return Run(bundle, http, inproc, container, runtimes, (load, os.getloadavg()[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per HTTP case (wrk -d)")
    parser.add_argument("--n", type=int, default=3000, help="in-process repetitions")
    parser.add_argument("--runtime-runs", type=int, default=5, help="runtime comparison: rounds (cold and warm)")
    parser.add_argument("--runtime-n", type=int, default=400, help="runtime comparison: warm calls per round")
    parser.add_argument("--work-dir", type=Path, default=WORK, help="bundles and builds (sam-build/: make bench's)")
    parser.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    args = parser.parse_args()
    args.work_dir = args.work_dir.resolve()
    if not shutil.which("wrk"):
        raise SystemExit("bench: wrk is missing (apt-get install wrk; `make bench` installs it)")
    run = measure(args)
    folder = DOCS / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    images = plots(run.http, folder)
    results = {"machine": machine(), "http": run.http, "in_process": run.inproc, "container": run.container,
               "targets": [{"target": t, "value": v, "met": ok} for t, v, ok in run.checks()],
               "runtimes": bench_runtimes.as_json(run.runtimes)}  # fmt: skip
    (folder / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    args.out.write_text(report(run, args.duration, images))
    print(f"\n{table(run.http)}\n")
    for t, v, ok in run.checks():
        print(f"{'PASS' if ok else 'MISS'}  {t}: {v}")
    print("\n" + "\n".join(bench_runtimes.summary(run.runtimes)))
    print(f"wrote {args.out} and {folder.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
