"""The function's profile at each memory size: warm durations, init, and peak memory, in the python3.13 container.

    .venv/bin/bench-profile [--sizes 128,512,1024,1769,3008] [--n 200] [--cold-runs 3] [--out bench/profile.json]
    make bench-profile                                     # (make bench too)

Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB (tools/build/lambda_platform.py). For each
size the function (functions/predict) and the model layer of the project's bundle (layers/model/model), built
with the recipes `sam build` runs, are started in the python3.13 Lambda image by the runtime interface
emulator with docker's ``--cpus`` at memory / 1,769 and ``--memory`` at the size (swap off), as Lambda caps both:
1. init: ``--cold-runs`` fresh containers, each answering one /predict event; the emulator's ``INIT REPORT``;
2. warm: in the last of them, ``--n`` one-row and ``--n`` 100-row /predict events (REST API), each timed by the
   emulator's ``REPORT ... Duration`` (the function's own time, as Lambda bills it, without HTTP);
3. the largest batch: ``MAX_BATCH_ROWS`` rows of the model's width in one event; then the container's peak
   memory (its cgroup's ``memory.max_usage_in_bytes``: init, the warm calls and that batch). A container the
   kernel kills (out of memory) or that does not answer is reported with the reason, not retried.
The JSON (``--out``, default bench/profile.json) is what ``model-ops plan`` reads; the table is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cold_start import INIT_LOG, INVOKE_PATH, Deployment, first_response, free_port, lambda_image, rie_path
from predictor.settings import DEFAULT_MAX_BATCH_ROWS
from tools.build.lambda_platform import ARCHITECTURE, MEMORY_MAX_MB, MEMORY_MIN_MB, vcpus_at
from tools.paths import ROOT

SIZES = (128, 512, 1024, 1769, 3008)
OUT = ROOT / "bench" / "profile.json"
WORK = ROOT / ".build" / "bench" / "profile"
EVENT = json.loads((ROOT / "events" / "rest-predict-batch.json").read_text())
DURATION_LOG = "\tDuration: "


def durations_in(log: str) -> list[float]:
    """Each invocation's ``Duration`` (ms) from the emulator's REPORT lines, in order."""
    lines = [line for line in log.splitlines() if line.startswith("REPORT RequestId")]
    return [float(line.split(DURATION_LOG, 1)[1].split(" ms", 1)[0]) for line in lines]


class Unfit(RuntimeError):
    """The container could not serve at this size (killed out of memory, or no answer): the message says so."""


@dataclass
class Container:
    """One function container at a memory size, started by the emulator; ``invoke`` posts events to it."""

    name: str
    port: int

    def invoke(self, body: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
        event = json.dumps({**EVENT, "body": json.dumps(body)}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{INVOKE_PATH}", data=event, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = dict(json.loads(response.read()))
        except OSError as exc:
            raise Unfit(self.why_gone() or f"no answer ({exc})") from None
        if answer.get("statusCode") != 200:
            raise Unfit(f"the function answered {answer.get('statusCode')}: {str(answer.get('body'))[:300]}")
        return answer

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True)
        return done.stdout + done.stderr

    def durations_ms(self) -> list[float]:
        return durations_in(self.logs())

    def init_ms(self) -> float:
        found = INIT_LOG.search(self.logs())
        if found is None:
            raise Unfit("no INIT REPORT in the emulator's log")
        return float(found.group(1))

    def peak_memory_mb(self) -> float:
        read = ["docker", "exec", self.name, "cat", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"]
        done = subprocess.run(read, capture_output=True, text=True)
        if done.returncode != 0:  # cgroup v2
            read[-1] = "/sys/fs/cgroup/memory.peak"
            done = subprocess.run(read, capture_output=True, text=True)
        return int(done.stdout.strip()) / 2**20 if done.returncode == 0 and done.stdout.strip() else float("nan")

    def why_gone(self) -> str | None:
        state = subprocess.run(["docker", "inspect", "-f", "{{.State.OOMKilled}} {{.State.Running}}", self.name],
                               capture_output=True, text=True).stdout.split()  # fmt: skip
        if state and state[0] == "true":
            return "killed by the kernel: out of memory"
        if state and state[1] == "false":
            return "the container stopped"
        return None

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)


def start(image: str, deployment: Deployment, memory_mb: int) -> Container:
    """A container with the CPU share and the memory of ``memory_mb``, answering its first event."""
    port, name = free_port(), f"bench-profile-{memory_mb}-{time.monotonic_ns()}"
    args = ["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", *deployment.mounts()]
    args += ["--cpus", f"{vcpus_at(memory_mb):.3f}", "--memory", f"{memory_mb}m", "--memory-swap", f"{memory_mb}m"]
    args += ["-v", f"{rie_path()}:/var/rapid/aws-lambda-rie:ro", "--entrypoint", "/var/rapid/aws-lambda-rie"]
    args += ["-e", "_HANDLER=app.handler", "-e", "MODEL_DIR=/opt/model", "-e", "PYTHONDONTWRITEBYTECODE=1"]
    args += ["-e", f"AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory_mb}", image]
    subprocess.run(args, check=True, capture_output=True, text=True)
    container = Container(name, port)
    try:
        first = first_response(port, json.dumps(EVENT).encode(), time.perf_counter())
    except OSError as exc:
        container.stop()
        raise Unfit(f"no first answer ({exc})") from None
    if first.get("statusCode") != 200:
        reason = container.why_gone() or f"the first event was answered {first.get('statusCode')}"
        container.stop()
        raise Unfit(reason)
    return container


def distribution(values: list[float]) -> dict[str, float]:
    """p50, p99 (nearest rank) and mean, in ms rounded to 3 decimals."""
    ordered = sorted(values)
    p99 = ordered[math.ceil(0.99 * len(ordered)) - 1]
    return {
        "p50": round(statistics.median(ordered), 3),
        "p99": round(p99, 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


def rows_of_width(bundle: Path, n: int) -> list[list[float]]:
    """``n`` rows the model takes: its manifest's reference rows, in turn."""
    reference = json.loads((bundle / "manifest.json").read_text())["reference"]["rows"]
    return [reference[i % len(reference)] for i in range(n)]


def warm(container: Container, rows: list[list[float]], n: int) -> dict[str, dict[str, float]]:
    """``n`` calls of one row and ``n`` of 100 rows; their durations, by rows."""
    figures = {}
    for size in (1, 100):
        before = len(container.durations_ms())
        for i in range(n):
            container.invoke({"instances": rows[i % 10 : i % 10 + size] if size == 1 else rows[:size]})
        figures[str(size)] = distribution(container.durations_ms()[before:])
    return figures


def largest_batch(container: Container, rows: list[list[float]]) -> dict[str, Any]:
    body = {"instances": rows}
    found: dict[str, Any] = {"rows": len(rows), "body_bytes": len(json.dumps(body))}
    try:
        container.invoke(body)
    except Unfit as exc:
        return {**found, "fits": False, "reason": str(exc)}
    return {**found, "fits": True, "duration_ms": container.durations_ms()[-1]}


def measure_size(image: str, deployment: Deployment, memory_mb: int, n: int, cold_runs: int) -> dict[str, Any]:
    """One memory size's figures, or ``{"fits": False, "reason": ...}`` when the function cannot serve there."""
    rows = rows_of_width(deployment.model, DEFAULT_MAX_BATCH_ROWS)
    inits: list[float] = []
    container = None
    try:
        for _ in range(cold_runs):
            if container is not None:
                container.stop()
            container = start(image, deployment, memory_mb)
            inits.append(container.init_ms())
        assert container is not None
        figures: dict[str, Any] = {"vcpus": round(vcpus_at(memory_mb), 3), "init_ms": distribution(inits)}
        figures["warm_ms"] = warm(container, rows, n)
        figures["largest_batch"] = largest_batch(container, rows)
        figures["peak_memory_mb"] = round(container.peak_memory_mb(), 1)
        return {**figures, "fits": bool(figures["largest_batch"]["fits"])}
    except Unfit as exc:
        return {"vcpus": round(vcpus_at(memory_mb), 3), "fits": False, "reason": str(exc)}
    finally:
        if container is not None:
            container.stop()


def build(bundle: Path, work: Path) -> Deployment:
    """The function and the bundle's layer, built in ``work`` with the recipes `sam build` runs."""
    from bench.runtimes import build as build_runtimes

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    copied = Path(shutil.copytree(bundle, work / "bundle"))
    return build_runtimes(work, {("profile", "bundle"): copied})["profile", "bundle"]


def table(profile: dict[str, Any]) -> list[str]:
    lines = [
        "| memory | vCPUs | init p50 / p99 | warm 1 row p50 / p99 | warm 100 rows p50 / p99 | largest batch "
        "| peak memory |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, f in profile["sizes"].items():
        if "warm_ms" not in f:
            lines.append(f"| {size} MB | {f['vcpus']} | does not serve: {f['reason']} | | | | |")
            continue
        one, hundred, batch = f["warm_ms"]["1"], f["warm_ms"]["100"], f["largest_batch"]
        served = f"{batch['duration_ms']:.1f} ms" if batch["fits"] else f"does not fit: {batch['reason']}"
        lines.append(
            f"| {size} MB | {f['vcpus']} | {f['init_ms']['p50']:.0f} / {f['init_ms']['p99']:.0f} ms | "
            f"{one['p50']:.2f} / {one['p99']:.2f} ms | {hundred['p50']:.2f} / {hundred['p99']:.2f} ms | "
            f"{batch['rows']:,} rows: {served} | {f['peak_memory_mb']:.0f} MB |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="memory sizes in MB, comma-separated")
    parser.add_argument("--n", type=int, default=200, help="warm calls per row count and size")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh containers per size (init samples)")
    parser.add_argument("--bundle", type=Path, default=ROOT / "layers" / "model" / "model")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    try:
        sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: whole numbers of MB, comma-separated, got {args.sizes!r}")
    if bad := [size for size in sizes if not MEMORY_MIN_MB <= size <= MEMORY_MAX_MB]:
        parser.error(f"--sizes: Lambda offers {MEMORY_MIN_MB}-{MEMORY_MAX_MB} MB, got {bad}")
    deployment = build(args.bundle, WORK)
    image = lambda_image()
    profile: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "command": "make bench-profile",
        "architecture": ARCHITECTURE,
        "model": {
            k: json.loads((deployment.model / "manifest.json").read_text())[k] for k in ("name", "version", "runtime")
        },
        "sizes": {},
    }
    for size in sizes:
        print(f"bench_profile: {size} MB ({vcpus_at(size):.3f} vCPUs)", flush=True)
        profile["sizes"][str(size)] = measure_size(image, deployment, size, args.n, args.cold_runs)
    args.out.write_text(json.dumps(profile, indent=1) + "\n")
    print("\n".join(table(profile)))
    print(f"bench_profile: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
