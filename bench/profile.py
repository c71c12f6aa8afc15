"""The function per Lambda memory size: warm latency, init and peak memory, in the python3.13 Lambda container.

    .venv/bin/bench-profile [--sizes 128,512,1024,1769,3008] [--n 50] [--inits 3] [--out bench/profile.json]
    # or: make bench-profile (make bench runs it too)

Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB: each size runs in a container
with ``--cpus memory/1769`` and ``--memory`` (swap off) the size, the function and its layer mounted as
bench/cold_start.py mounts them, behind the same runtime interface emulator. Per size:
- init: ``--inits`` cold starts (``docker run`` and a one-row /predict), the emulator's INIT REPORT each;
- warm: in the last of them, ``--n`` one-row and ``--n`` 100-row /predict events, the emulator's REPORT
  ``Duration`` of each (what Lambda bills);
- the largest batch: MAX_BATCH_ROWS rows in a body of MAX_BODY_BYTES (the values template.yaml sets, the rows
  padded with JSON whitespace), whether it is answered (200) or why not, and the runtime process's peak resident
  memory (VmHWM) after it.
Writes ``--out`` (schema: docs/performance.md, "Per memory size") and prints a table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any

from bench.cold_start import INIT_LOG, Deployment, Run, first_response, lambda_image, run_container
from bench.handler import event
from tools.build.lambda_platform import MB_PER_VCPU, MEMORY_MB_MAX, MEMORY_MB_MIN
from tools.paths import ROOT
from tools.plan.profile import Profile

SIZES = (128, 512, 1024, 1769, 3008)
MAX_BATCH_ROWS = 1000  # template.yaml: MaxBatchRows' default
MAX_BODY_BYTES = 4_500_000  # template.yaml: MAX_BODY_BYTES
DURATION = re.compile(r"REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms")


def limits(memory_mb: int) -> tuple[str, ...]:
    cpus = f"{memory_mb / MB_PER_VCPU:.3f}"
    memory = f"{memory_mb}m"
    env = ("-e", f"AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory_mb}", "-e", f"MAX_BATCH_ROWS={MAX_BATCH_ROWS}")
    return ("--cpus", cpus, "--memory", memory, "--memory-swap", memory, *env, "-e", f"MAX_BODY_BYTES={MAX_BODY_BYTES}")


def bodies(deployment: Deployment) -> dict[str, bytes]:
    """The events: one row, 100 rows, and the largest batch, from the bundle's reference rows."""
    rows = json.loads((deployment.model / "manifest.json").read_text())["reference"]["rows"]

    def batch(n: int) -> list[Any]:
        return [rows[i % len(rows)] for i in range(n)]

    largest = json.dumps({"instances": batch(MAX_BATCH_ROWS)})
    padded = largest + " " * (MAX_BODY_BYTES - len(largest.encode()))  # JSON whitespace up to the limit
    cases = {"1": json.dumps({"features": rows[0]}), "100": json.dumps({"instances": batch(100)}), "largest": padded}
    return {name: json.dumps(event(body)).encode() for name, body in cases.items()}


def invoke(run: Run, body: bytes) -> dict[str, Any]:
    return first_response(run.port, body, 0.0)


def process_peak_mb(container: str) -> float:
    """The runtime's (python3.13) peak resident memory, read from the host's /proc."""
    top = subprocess.run(["docker", "top", container, "-eo", "pid,comm"], capture_output=True, text=True).stdout
    pids = [line.split()[0] for line in top.splitlines()[1:] if "python" in line]
    status = Path(f"/proc/{pids[0]}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def logs(container: str) -> str:
    out = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
    return out.stdout + out.stderr


def oom_killed(container: str) -> bool:
    state = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.OOMKilled}}", container], capture_output=True, text=True
    )
    return state.stdout.strip() == "true"


def durations(log: str) -> list[float]:
    """Each invocation's REPORT Duration (ms), in order."""
    return [float(ms) for ms in DURATION.findall(log)]


def figures(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(values), 3),
        "p99": round(p99, 3),
        "mean": round(statistics.fmean(values), 3),
    }


def cold(image: str, deployment: Deployment, memory_mb: int, first: bytes) -> tuple[Run, float]:
    """A started container at ``memory_mb`` that has answered ``first``; its init (ms, the INIT REPORT)."""
    run = run_container(image, deployment, extra=limits(memory_mb))
    answer = first_response(run.port, first, time.perf_counter())
    init = INIT_LOG.search(logs(run.container))
    if answer.get("statusCode") != 200 or init is None:
        remove(run)
        raise RuntimeError(f"no cold start at {memory_mb} MB: {str(answer)[:300]}")
    return run, float(init.group(1))


def remove(run: Run) -> None:
    subprocess.run(["docker", "rm", "-f", run.container], capture_output=True)


def largest_batch(run: Run, body: bytes, memory_mb: int) -> dict[str, Any]:
    """Whether the largest batch is answered at this size, or why not (the container is not reused after it)."""
    batch: dict[str, Any] = {"rows": MAX_BATCH_ROWS, "body_bytes": MAX_BODY_BYTES}
    try:
        answer = invoke(run, body)
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    batch["fits"] = answer.get("statusCode") == 200
    if not batch["fits"]:
        killed = " (the container was killed: out of memory)" if oom_killed(run.container) else ""
        batch["reason"] = f"not answered at {memory_mb} MB{killed}: {str(answer)[:300]}"
    return batch


def measure_size(image: str, deployment: Deployment, memory_mb: int, args: argparse.Namespace) -> dict[str, Any]:
    events = bodies(deployment)
    inits, run = [], None
    for i in range(args.inits):
        run, init_ms = cold(image, deployment, memory_mb, events["1"])
        inits.append(init_ms)
        if i < args.inits - 1:
            remove(run)
    assert run is not None
    try:
        for case in ("1", "100"):
            for _ in range(args.n):
                assert invoke(run, events[case])["statusCode"] == 200
        batch = largest_batch(run, events["largest"], memory_mb)
        peak = process_peak_mb(run.container) if batch["fits"] else None
        measured = durations(logs(run.container))[1:]  # after the cold invocation
    finally:
        remove(run)
    warm = {"1": figures(measured[: args.n]), "100": figures(measured[args.n : 2 * args.n])}
    init = figures(inits)
    del init["mean"]
    return {"warm_ms": warm, "init_ms": init, "peak_memory_mb": peak and round(peak, 1), "largest_batch": batch,
            "cpus": round(memory_mb / MB_PER_VCPU, 3)}  # fmt: skip


def print_row(size: int, figures_: dict[str, Any]) -> None:
    warm, batch = figures_["warm_ms"], figures_["largest_batch"]
    fits = "fits" if batch["fits"] else "does NOT fit"
    print(
        f"{size:>5} MB ({figures_['cpus']:.3f} vCPU): init p50 {figures_['init_ms']['p50']:.0f} ms; warm 1 row p50 "
        f"{warm['1']['p50']:.2f} / p99 {warm['1']['p99']:.2f} ms, 100 rows p50 {warm['100']['p50']:.2f} / p99 "
        f"{warm['100']['p99']:.2f} ms; largest batch {fits}, peak {figures_['peak_memory_mb']} MB",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--n", type=int, default=50, help="warm invocations per case and size")
    parser.add_argument("--inits", type=int, default=3, help="cold starts per size")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "profile.json")
    args = parser.parse_args()
    try:
        memory_sizes = [int(size) for size in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: memory sizes in MB, comma-separated, got {args.sizes!r}")
    if bad := [size for size in memory_sizes if not MEMORY_MB_MIN <= size <= MEMORY_MB_MAX]:
        parser.error(f"--sizes: Lambda offers {MEMORY_MB_MIN}-{MEMORY_MB_MAX} MB, got {bad}")
    deployment = Deployment.from_build(args.build_dir)
    if not (deployment.function / "app.py").is_file():
        raise SystemExit(f"bench_profile: no build in {args.build_dir} (run `make build`)")
    image = lambda_image()
    sizes: dict[str, Any] = {}
    for size in memory_sizes:
        sizes[str(size)] = measure_size(image, deployment, size, args)
        print_row(size, sizes[str(size)])
    command = f"bench-profile --sizes {args.sizes} --n {args.n} --inits {args.inits}"
    profile = {"measured_at": datetime.date.today().isoformat(), "command": command, "architecture": "x86_64",
               "runtime": deployment.runtime(), "sizes": sizes}  # fmt: skip
    Profile.model_validate(profile)  # the contract model-ops plan reads (tools/plan/profile.py)
    args.out.write_text(json.dumps(profile, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
