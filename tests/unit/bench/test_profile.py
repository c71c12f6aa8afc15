"""bench/profile.py's reading of the emulator's log, its statistics, its table and its command line (no container)."""

from __future__ import annotations

import pytest

from bench.profile import distribution, durations_in, main, table

LOG = (
    "02 Dec 2026 08:00:51,955 [INFO] (rapid) INIT REPORT(durationMs: 2932.698000)\n"
    "REPORT RequestId: d21a\tInit Duration: 0.06 ms\tDuration: 2945.98 ms\tBilled Duration: 2946 ms\t"
    "Memory Size: 512 MB\n"
    "START RequestId: 48e2 Version: $LATEST\n"
    "REPORT RequestId: 48e2\tDuration: 5.01 ms\tBilled Duration: 6 ms\tMemory Size: 512 MB\tMax Memory Used: 512 MB\t\n"
)


def test_durations_are_the_emulators_report_lines_in_order() -> None:
    assert durations_in(LOG) == [2945.98, 5.01]  # not the Init Duration nor the Billed Duration


def test_distribution_is_median_nearest_rank_p99_and_mean() -> None:
    figures = distribution([float(v) for v in range(1, 201)])
    assert figures == {"p50": 100.5, "p99": 198.0, "mean": 100.5}
    assert distribution([3.0]) == {"p50": 3.0, "p99": 3.0, "mean": 3.0}


def test_the_table_reports_a_size_that_does_not_serve_and_a_batch_that_does_not_fit() -> None:
    warm = {"1": {"p50": 4.0, "p99": 9.0, "mean": 5.0}, "100": {"p50": 20.0, "p99": 40.0, "mean": 22.0}}
    profile = {
        "sizes": {
            "128": {"vcpus": 0.072, "fits": False, "reason": "killed by the kernel: out of memory"},
            "512": {"vcpus": 0.289, "init_ms": {"p50": 2900.0, "p99": 3100.0, "mean": 3000.0}, "warm_ms": warm,
                    "largest_batch": {"rows": 1000, "fits": False, "reason": "the container stopped"},
                    "peak_memory_mb": 511.0, "fits": False},
        }
    }  # fmt: skip
    lines = table(profile)
    assert lines[2] == "| 128 MB | 0.072 | does not serve: killed by the kernel: out of memory | | | | |"
    assert "| 512 MB | 0.289 | 2900 / 3100 ms | 4.00 / 9.00 ms | 20.00 / 40.00 ms |" in lines[3]
    assert "1,000 rows: does not fit: the container stopped | 511 MB |" in lines[3]


@pytest.mark.parametrize(
    ("sizes", "words"), [("100,512", "Lambda offers 128-10240 MB, got [100]"), ("big", "whole numbers of MB")]
)
def test_a_bad_size_is_exit_2_with_one_line(sizes: str, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--sizes", sizes])
    assert exited.value.code == 2
    assert words in capsys.readouterr().err
