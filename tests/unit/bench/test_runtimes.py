"""bench/runtimes.py's arithmetic and rendering: ratios, issue 11's targets, the table (no timing here)."""

from __future__ import annotations

import json

from bench.runtimes import Result, Target, as_json, ratio, summary, table, targets
from tools.build.lambda_platform import UNZIPPED_LIMIT
from tools.build.model_layer import Sizes

MB = 1_000_000


def result(model: str, runtime: str, cold: list[float], warm1: float, layer: int = 90 * MB) -> Result:
    sizes = Sizes(runtime=runtime, function=20 * MB, layer_runtime=layer, model=2 * MB)
    warm = [
        {1: warm1, 100: warm1 * 2},
        {1: warm1 * 3, 100: warm1 * 6},
        {1: warm1 / 2, 100: warm1},
    ]  # medians: warm1, warm1 * 2
    return Result(model, runtime, sizes, warm, cold, [c * 500 for c in cold])


def four(default_onnx_cold: list[float], forest_onnx_warm1: float = 10.0, onnx_layer: int = 90 * MB) -> list[Result]:
    return [
        result("default", "onnx", default_onnx_cold, 300.0, onnx_layer),
        result("default", "sklearn", [1.0, 1.2, 1.1], 500.0, 200 * MB),
        result("forest", "onnx", [0.5, 0.5, 0.5], forest_onnx_warm1, onnx_layer),
        result("forest", "sklearn", [1.2, 1.2, 1.2], 4000.0, 200 * MB),
    ]


def test_ratios_are_onnx_over_sklearn_of_the_same_model() -> None:
    results = four([0.4, 0.44, 0.9])
    assert ratio(results, "default", "cold") == 0.44 / 1.1  # medians
    assert ratio(results, "default", "init") == 220 / 550
    assert ratio(results, "default", "warm1") == 300 / 500
    assert ratio(results, "default", "warm100") == 600 / 1000
    assert ratio(results, "forest", "warm1") == 10 / 4000
    assert ratio(results, "default", "layer") == (90 + 2) / (200 + 2)


def test_targets_pass_and_miss_at_their_limits() -> None:
    passing = {t.name: t for t in targets(four([0.45, 0.45, 0.45], forest_onnx_warm1=600.0))}
    cold = passing["cold start, default model, ONNX / scikit-learn"]
    assert cold.measured is not None
    assert round(cold.measured, 4) == round(0.45 / 1.1, 4)
    assert cold.met is True
    assert passing["warm 1-row handler p50, default model, ONNX / scikit-learn"].met is True  # 0.6 <= 0.7
    assert passing["warm 1-row handler p50, 100-tree forest, ONNX / scikit-learn"].met is True  # 0.15 <= 0.15
    missing = {t.name: t for t in targets(four([0.6, 0.6, 0.6], forest_onnx_warm1=601.0, onnx_layer=109 * MB))}
    assert missing["cold start, default model, ONNX / scikit-learn"].met is False
    assert missing["warm 1-row handler p50, 100-tree forest, ONNX / scikit-learn"].met is False
    assert missing["ONNX layer (runtime + the forest), unzipped"].met is False  # 109 + 2 MB > 110 MB


def test_without_docker_the_cold_start_target_is_not_measured() -> None:
    results = four([])
    cold = targets(results)[0]
    assert cold.measured is None
    assert cold.met is None
    assert cold.line().startswith("----  cold start")
    assert "not measured" in cold.line()
    assert "not measured" in table(results)[2]


def test_the_room_left_is_printed_with_the_total() -> None:
    total = next(t for t in targets(four([0.4])) if t.name.startswith("function + ONNX layer"))
    assert total.measured == (20 + 90 + 2)
    assert total.limit == UNZIPPED_LIMIT / MB
    assert total.met is True
    room = UNZIPPED_LIMIT - 112 * MB
    assert f"room left {room / MB:.1f} MB ({room:,} bytes)" in total.line()


def test_target_lines_say_pass_or_miss_with_the_figure_and_the_target() -> None:
    assert Target("x", 0.3, 0.45).line() == "PASS  x: 0.30× (target ≤ 0.45×)"
    assert Target("y", 120.0, 110, " MB").line() == "MISS  y: 120.00 MB (target ≤ 110 MB)"


def test_table_marks_onnx_cells_with_their_ratio_only() -> None:
    lines = table(four([0.5, 0.5, 0.5]))
    assert lines[0].startswith("| model | runtime | cold start, median of 3 |")
    default_onnx, default_sklearn = lines[2], lines[3]
    assert "| onnx | 0.50 s (0.45×) | 0.25 s (0.45×) | 300 µs (0.60×) | 600 µs (0.60×) | 90.0 + 2.00 MB (0.46×) |" in (
        default_onnx
    )
    assert "| sklearn | 1.10 s | 0.55 s | 500 µs | 1000 µs | 200.0 + 2.00 MB | 222.0 MB |" in default_sklearn
    assert "×" not in default_sklearn


def test_summary_and_json_carry_every_target() -> None:
    results = four([0.4, 0.4, 0.4])
    printed = summary(results)
    assert sum(line.startswith(("PASS", "MISS")) for line in printed) == 5
    assert "default/onnx: 0.40 (0.20), 0.40 (0.20), 0.40 (0.20) s" in printed
    figures = json.loads(json.dumps(as_json(results)))
    assert [t["met"] for t in figures["targets"]] == [True, True, True, True, True]
    assert figures["results"][0]["cold_median_s"] == 0.4


def test_make_bench_writes_the_section_with_every_target() -> None:
    from bench.report import runtime_section

    section = runtime_section(four([]))
    assert section[0] == "## Runtimes: ONNX Runtime vs each model's own library (scikit-learn, XGBoost, LightGBM)"
    rows = [line for line in section if line.startswith("| ") and line.count("|") == 4]
    assert len(rows) == 1 + 5  # the header and the five targets
    assert "| cold start, default model, ONNX / scikit-learn | not measured (target ≤ 0.45×) | not measured |" in rows


def test_booster_targets_compare_onnx_with_the_library_itself() -> None:
    """XGBoost and LightGBM: ONNX over the library's own runtime (warm and cold at most 0.5 times), the native layer's
    total against Lambda's limit with the room left."""
    results = [
        result("xgboost", "onnx", [0.5, 0.5, 0.5], 40.0),
        result("xgboost", "xgboost", [1.0, 1.0, 1.0], 100.0, 221 * MB),
        result("lightgbm", "onnx", [0.6, 0.6, 0.6], 40.0),
        result("lightgbm", "lightgbm", [1.0, 1.0, 1.0], 79.0, 250 * MB),
    ]
    found = {t.name: t for t in targets(results)}
    assert found["warm 1-row handler p50, 300-tree XGBRegressor, ONNX / XGBoost"].measured == 0.4
    assert found["warm 1-row handler p50, 300-tree XGBRegressor, ONNX / XGBoost"].met is True
    assert found["cold start, 300-tree XGBRegressor, ONNX / XGBoost"].met is True  # 0.5 <= 0.5
    assert found["cold start, 300-tree LGBMClassifier (binary), ONNX / LightGBM"].met is False  # 0.6
    assert found["warm 1-row handler p50, 300-tree LGBMClassifier (binary), ONNX / LightGBM"].met is False  # 40/79
    xgb_layer = found["function + XGBoost layer + the model vs Lambda's limit"]
    assert xgb_layer.measured == (20 + 221 + 2)
    assert xgb_layer.met is True
    assert "room left 19.1 MB" in xgb_layer.note
    assert found["function + LightGBM layer + the model vs Lambda's limit"].met is False  # 272 MB
    assert "default" not in " ".join(found)  # only the models measured
