"""Cold start inside the python3.13 Lambda container vs the stack's floor and a bare import of the runtime + model load.

    .venv/bin/bench-cold-start [--runs 5] [--build-dir .aws-sam/build]   # or: make bench-cold

All three are timed from `docker run` to done, in the same image with the same function and layer mounted
(/var/task, /opt/python, /opt/model), in ``--runs`` alternating rounds:
- cold start: the Lambda runtime interface emulator (shipped inside SAM CLI) starts
  /var/runtime/bootstrap, which imports ``app`` (FastAPI, Mangum, the verified bundle) and answers
  one /predict event (events/rest-predict-single.json); timed until its response arrives;
- floor (bench/cold_floor.py): the same, for a hello-world FastAPI + Mangum function that imports the runtime
  and loads the model as the baseline below does, then answers the same event;
- baseline, by the bundle's runtime: ``python3.13 -c "import sklearn, joblib; joblib.load(...)"``, or
  ``import onnxruntime; onnxruntime.InferenceSession(...)`` for an ONNX bundle.
Prints each run, the medians, the ratios cold start / floor (PASS/MISS against issue 22's 1.1x) and
cold start / bare, and what the bundle's reference check (its rows predicted and compared at cold start)
took inside each cold start, read from the function's own log line.
Needs `make build` and a Docker engine. bench/runtimes.py times its own builds with the same code.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tools.paths import ROOT

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REFERENCE_LOG = re.compile(r"reference predictions reproduced: \d+ rows in ([0-9.]+) ms")
INIT_LOG = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")  # the emulator's: bootstrap start to runtime ready
APP_HANDLER = "app.handler"
EVENT = ROOT / "events" / "rest-predict-single.json"
BARE_LOAD = {  # the baseline: the runtime's import and the model's load, nothing of the function
    "sklearn": "import sklearn, joblib; joblib.load('/opt/model/model.joblib')",
    "xgboost": "import sklearn, xgboost, joblib; joblib.load('/opt/model/model.joblib')",
    "lightgbm": "import sklearn, lightgbm, joblib; joblib.load('/opt/model/model.joblib')",
    "onnx": "import numpy, onnxruntime; onnxruntime.InferenceSession('/opt/model/model.onnx')",
}


@dataclass(frozen=True)
class Deployment:
    """What Lambda would mount: the function's folder at /var/task, the layer's python/ and model/ under /opt (and
    its lib/, when the runtime ships a system library: /opt/lib)."""

    function: Path
    python: Path
    model: Path

    @classmethod
    def from_build(cls, build: Path) -> Deployment:
        """A `sam build` folder (PredictFunction/, ModelLayer/{python,model}/)."""
        layer = build / "ModelLayer"
        return cls(build / "PredictFunction", layer / "python", layer / "model")

    def mounts(self) -> list[str]:
        pairs = [(self.function, "/var/task"), (self.python, "/opt/python"), (self.model, "/opt/model")]
        if (lib := self.python.parent / "lib").is_dir():
            pairs.append((lib, "/opt/lib"))
        return [arg for host, inside in pairs for arg in ("-v", f"{host.resolve()}:{inside}:ro")]

    def runtime(self) -> str:
        return str(json.loads((self.model / "manifest.json").read_text()).get("runtime", "sklearn"))


class ColdStart(NamedTuple):
    seconds: float  # `docker run` to the first response
    init_ms: float  # of which the function's init inside the container (the emulator's INIT REPORT)
    reference_ms: float  # of which the bundle's reference check (the function's own log line)


class Run(NamedTuple):
    container: str  # its id
    port: int  # the emulator's, on 127.0.0.1


def rie_path() -> Path:
    found = sorted((ROOT / ".venv-sam").glob("lib/python*/site-packages/samcli/local/rapid/aws-lambda-rie-x86_64"))
    if not found:
        raise SystemExit("bench_cold_start: SAM CLI's aws-lambda-rie not found in .venv-sam (run `make venv`)")
    return found[0]


def lambda_image() -> str:
    """The python3.13 Lambda image that tools/build/lambda_image.py chooses (built here when none exists)."""
    command = [sys.executable, "-m", "tools.build.lambda_image"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def docker_available() -> bool:
    return (
        shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def first_response(port: int, event: bytes, start: float) -> dict[str, object]:
    """Post the event to the emulator until it answers (it listens only once the container runs)."""
    while True:
        try:
            request = urllib.request.Request(f"http://127.0.0.1:{port}{INVOKE_PATH}", data=event, method="POST")
            with urllib.request.urlopen(request, timeout=60) as response:
                return dict(json.loads(response.read()))
        except (urllib.error.URLError, ConnectionError):
            if time.perf_counter() - start > 120:
                raise
            time.sleep(0.01)


def run_container(image: str, deployment: Deployment, handler: str = APP_HANDLER, extra: tuple[str, ...] = ()) -> Run:
    """``docker run`` of the emulator serving ``handler`` (detached: the container id, its port on 127.0.0.1);
    ``extra``: more `docker run` arguments (limits, environment). The caller removes the container."""
    port = free_port()
    args = ["docker", "run", "-d", "-p", f"127.0.0.1:{port}:8080", *deployment.mounts(), *extra]
    args += ["-v", f"{rie_path()}:/var/rapid/aws-lambda-rie:ro", "--entrypoint", "/var/rapid/aws-lambda-rie"]
    args += ["-e", f"_HANDLER={handler}", "-e", f"AWS_LAMBDA_FUNCTION_HANDLER={handler}"]
    args += ["-e", "MODEL_DIR=/opt/model", "-e", "JOBLIB_MULTIPROCESSING=0", "-e", "PYTHONDONTWRITEBYTECODE=1"]
    container = subprocess.run([*args, image], check=True, capture_output=True, text=True).stdout.strip()
    return Run(container, port)


def cold_start(image: str, deployment: Deployment, event: bytes, handler: str = APP_HANDLER) -> ColdStart:
    """Seconds from `docker run` to the first response; the init's and the reference check's milliseconds (the
    reference check's 0 for another ``handler`` than the function's)."""
    start = time.perf_counter()
    container, port = run_container(image, deployment, handler)
    try:
        body = first_response(port, event, start)
        elapsed = time.perf_counter() - start
        if body.get("statusCode") != 200:
            raise SystemExit(f"bench_cold_start: the function answered {body}")
        logs = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        reference, init = REFERENCE_LOG.search(logs.stdout + logs.stderr), INIT_LOG.search(logs.stderr)
        if init is None or (reference is None and handler == APP_HANDLER):
            raise SystemExit(f"bench_cold_start: no reference check or INIT REPORT in the logs:\n{logs.stderr}")
        return ColdStart(elapsed, float(init.group(1)), float(reference.group(1)) if reference else 0.0)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)


def bare(image: str, deployment: Deployment) -> float:
    args = [
        "docker",
        "run",
        "--rm",
        *deployment.mounts(),
        "-e",
        "PYTHONPATH=/opt/python",
        "-e",
        "LD_LIBRARY_PATH=/opt/lib",
    ]
    args += ["-e", "PYTHONDONTWRITEBYTECODE=1", "--entrypoint", "python3.13", image, "-c"]
    start = time.perf_counter()
    subprocess.run([*args, BARE_LOAD[deployment.runtime()]], check=True, capture_output=True)
    return time.perf_counter() - start


def rounds(image: str, deployment: Deployment, floor: Deployment, runs: int) -> dict[str, list[ColdStart]]:
    """``runs`` rounds of the function's cold start, the floor's and the bare load, in turn (bare: seconds only)."""
    from bench.cold_floor import HANDLER

    event = EVENT.read_bytes()
    bare(image, deployment)  # warm the page cache for all three: measure Python's work, not the disk
    cold_start(image, deployment, event)
    cold_start(image, floor, event, HANDLER)
    out: dict[str, list[ColdStart]] = {"cold": [], "floor": [], "bare": []}
    for i in range(runs):
        out["cold"].append(cold_start(image, deployment, event))
        out["floor"].append(cold_start(image, floor, event, HANDLER))
        out["bare"].append(ColdStart(bare(image, deployment), 0.0, 0.0))
        measured, floor_start = out["cold"][-1], out["floor"][-1]
        print(f"run {i + 1}: container start -> first /predict response {measured.seconds:.2f}s (init ", end="")
        print(f"{measured.init_ms:.0f} ms, reference check {measured.reference_ms:.1f} ms); ", end="")
        print(f"floor {floor_start.seconds:.2f}s (init {floor_start.init_ms:.0f} ms); ", end="")
        print(f"bare import+load {out['bare'][-1].seconds:.2f}s")
    return out


def median(starts: list[ColdStart], figure: str) -> float:
    return float(statistics.median(float(getattr(start, figure)) for start in starts))


def main() -> int:
    from bench.cold_floor import floor_deployment, verdict

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--image", help="default: what tools/build/lambda_image.py chooses")
    floor_dir = ROOT / ".build" / "bench" / "cold"
    parser.add_argument("--work-dir", type=Path, default=floor_dir, help="where the floor's function is written")
    args = parser.parse_args()
    deployment = Deployment.from_build(args.build_dir)
    if not (deployment.function / "app.py").is_file():
        raise SystemExit(f"bench_cold_start: no build in {args.build_dir} (run `make build`)")
    image = args.image or lambda_image()
    measured = rounds(image, deployment, floor_deployment(deployment, args.work_dir), args.runs)
    cold, floor = median(measured["cold"], "seconds"), median(measured["floor"], "seconds")
    base, check = median(measured["bare"], "seconds"), median(measured["cold"], "reference_ms")
    init, floor_init = median(measured["cold"], "init_ms"), median(measured["floor"], "init_ms")
    ratio, outcome = verdict(cold, floor)
    print(f"image {image}; {deployment.runtime()} runtime")
    print(f"median floor (hello-world FastAPI + Mangum, {BARE_LOAD[deployment.runtime()]}): {floor:.2f}s", end="")
    print(f" (init {floor_init:.0f} ms)")
    print(f"median bare import + load ({BARE_LOAD[deployment.runtime()]}; same image, same layer): {base:.2f}s")
    print(f"median reference check inside the cold start: {check:.1f} ms ({check / 10 / cold:.2f} % of it)")
    print(f"median cold start to first response: {cold:.2f}s (init {init:.0f} ms); ratio cold start / bare: ", end="")
    print(f"{cold / base:.2f}")
    print(f"ratio cold start / floor: {ratio:.2f} {outcome} (target <= 1.1x); ", end="")
    print(f"init / floor's init: {init / floor_init:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
