"""Cold start inside the python3.13 Lambda container vs a bare ``import sklearn; joblib.load(...)``.

    .venv/bin/bench-cold-start [--runs 5] [--build-dir .aws-sam/build]   # or: make bench-cold

Both are timed from `docker run` to done, in the same image with the same layer mounted at /opt:
- cold start: the Lambda runtime interface emulator (shipped inside SAM CLI) starts
  /var/runtime/bootstrap, which imports ``app`` (FastAPI, Mangum, the verified bundle) and answers
  one /predict event; timed until its response arrives;
- baseline: ``python3.13 -c "import sklearn, joblib; joblib.load('/opt/model/model.joblib')"``.
Prints each run, the medians and their ratio, and what the bundle's reference check (its rows predicted
and compared at cold start) took inside each cold start, read from the function's own log line.
Needs `make build` and a Docker engine.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REFERENCE_LOG = re.compile(r"reference predictions reproduced: \d+ rows in ([0-9.]+) ms")


def rie_path() -> Path:
    found = sorted((ROOT / ".venv-sam").glob("lib/python*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64"))
    if not found:
        raise SystemExit("bench_cold_start: SAM CLI's aws-lambda-rie not found in .venv-sam (run `make venv`)")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mounts(build: Path) -> list[str]:
    return ["-v", f"{build / 'ModelLayer'}:/opt:ro", "-v", f"{build / 'PredictFunction'}:/var/task:ro"]


def cold_start(image: str, build: Path, event: bytes) -> tuple[float, float]:
    """Seconds from `docker run` to the first response, and the reference check's milliseconds."""
    port = free_port()
    args = ["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8080", *mounts(build)]
    args += ["-v", f"{rie_path()}:/var/rapid/aws-lambda-rie:ro", "--entrypoint", "/var/rapid/aws-lambda-rie"]
    args += ["-e", "_HANDLER=app.handler", "-e", "AWS_LAMBDA_FUNCTION_HANDLER=app.handler"]
    args += ["-e", "MODEL_DIR=/opt/model", "-e", "JOBLIB_MULTIPROCESSING=0", "-e", "PYTHONDONTWRITEBYTECODE=1"]
    start = time.perf_counter()
    container = subprocess.run([*args, image], check=True, capture_output=True, text=True).stdout.strip()
    try:
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}{INVOKE_PATH}", data=event, method="POST")
                with urllib.request.urlopen(request, timeout=60) as response:
                    body = json.loads(response.read())
                break
            except (urllib.error.URLError, ConnectionError):
                if time.perf_counter() - start > 120:
                    raise
                time.sleep(0.01)
        elapsed = time.perf_counter() - start
        if body.get("statusCode") != 200:
            raise SystemExit(f"bench_cold_start: the function answered {body}")
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        found = REFERENCE_LOG.search(logs.stdout + logs.stderr)
        if found is None:
            raise SystemExit("bench_cold_start: the function did not log its reference check")
        return elapsed, float(found.group(1))
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def bare(image: str, build: Path) -> float:
    code = "import sklearn, joblib; joblib.load('/opt/model/model.joblib')"
    args = ["docker", "run", "--rm", *mounts(build), "-e", "PYTHONPATH=/opt/python", "-e", "PYTHONDONTWRITEBYTECODE=1"]
    start = time.perf_counter()
    subprocess.run([*args, "--entrypoint", "python3.13", image, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--image", help="default: what tools/lambda_image.py chooses")
    args = parser.parse_args()
    build = args.build_dir.resolve()
    if not (build / "PredictFunction" / "app.py").is_file():
        raise SystemExit(f"bench_cold_start: no build in {build} (run `make build`)")
    image = (
        args.image
        or subprocess.run(
            [sys.executable, "-m", "tools.lambda_image"], check=True, capture_output=True, text=True
        ).stdout.strip()
    )
    event = (ROOT / "events" / "rest-predict-single.json").read_bytes()
    bare(image, build)  # warm the page cache for both: measure Python's work, not the disk
    cold_start(image, build, event)
    colds, checks, bares = [], [], []
    for i in range(args.runs):
        seconds, check_ms = cold_start(image, build, event)
        colds.append(seconds)
        checks.append(check_ms)
        bares.append(bare(image, build))
        print(f"run {i + 1}: container start -> first /predict response {colds[-1]:.2f}s ", end="")
        print(f"(reference check {check_ms:.1f} ms); bare import+load {bares[-1]:.2f}s")
    cold, base, check = statistics.median(colds), statistics.median(bares), statistics.median(checks)
    print(f"image {image}")
    print(f"median cold start to first response: {cold:.2f}s")
    print(f"median bare `import sklearn` + joblib.load (same image, same layer): {base:.2f}s")
    print(f"ratio cold start / bare: {cold / base:.2f}")
    print(f"median reference check inside the cold start: {check:.1f} ms ({check / 10 / cold:.2f} % of it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
