"""bench/profile.py's arithmetic and parsing: the CPU share per memory size, the events, the REPORT lines, the
figures (no container, no timing here)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.cold_floor import verdict as cold_verdict
from bench.cold_start import Deployment
from bench.floor import verdict as warm_verdict
from bench.profile import MAX_BATCH_ROWS, MAX_BODY_BYTES, bodies, durations, figures, limits

LOG = """02 Dec 2026 07:59:28,882 [INFO] (rapid) INIT REPORT(durationMs: 2046.811000)
REPORT RequestId: fb9e4aec\tInit Duration: 0.14 ms\tDuration: 2052.23 ms\tBilled Duration: 2053 ms\tMemory Size: 512 MB
REPORT RequestId: c79aeaf1\tDuration: 2.83 ms\tBilled Duration: 3 ms\tMemory Size: 512 MB\tMax Memory Used: 512 MB
"""


def test_one_vcpu_at_1769_mb_and_cpu_in_proportion_below_and_above() -> None:
    assert limits(1769)[:4] == ("--cpus", "1.000", "--memory", "1769m")
    assert limits(128)[:2] == ("--cpus", "0.072")
    assert limits(3008)[1] == "1.700"
    assert "--memory-swap" in limits(512)  # no swap beyond the size


def test_each_invocation_s_duration_in_order() -> None:
    assert durations(LOG) == [2052.23, 2.83]


def test_figures() -> None:
    assert figures([1.0, 2.0, 3.0, 10.0]) == {"p50": 2.5, "p99": 10.0, "mean": 4.0}


def test_the_largest_batch_is_max_rows_at_max_body_bytes(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    manifest = {"reference": {"rows": [[0.5, 1.5], [2.0, 3.0]]}}
    (tmp_path / "model" / "manifest.json").write_text(json.dumps(manifest))
    events = bodies(Deployment(tmp_path / "function", tmp_path / "python", tmp_path / "model"))
    body = json.loads(events["largest"])["body"]
    assert len(body.encode()) == MAX_BODY_BYTES
    assert len(json.loads(body)["instances"]) == MAX_BATCH_ROWS
    assert json.loads(json.loads(events["1"])["body"]) == {"features": [0.5, 1.5]}
    assert len(json.loads(json.loads(events["100"])["body"])["instances"]) == 100


def test_targets() -> None:
    assert warm_verdict(250.0, 100.0) == (2.5, "PASS")
    assert warm_verdict(251.0, 100.0)[1] == "MISS"
    assert cold_verdict(1.1, 1.0)[1] == "PASS"
    assert cold_verdict(1.2, 1.0)[1] == "MISS"


def test_the_committed_profile_is_what_model_ops_plan_reads() -> None:
    """bench/profile.json holds to the planner's contract (tools/plan/profile.py), every size measured."""
    from tools.plan.profile import load_profile

    profile = load_profile(Path(__file__).parents[3] / "bench" / "profile.json")
    assert profile.memory_sizes() == [128, 512, 1024, 1769, 3008]
    assert all(profile.at(size).largest_batch.fits for size in profile.memory_sizes())
