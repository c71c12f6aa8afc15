"""ONNX Runtime vs each model's own library, measured in one run.

    .venv/bin/python -m bench.runtimes [--runs 5] [--n 400] [--models default,forest,xgboost,lightgbm]
    make bench-runtimes                                       # (make bench too)

The models: the default one (``package-model``'s diabetes RidgeCV pipeline), a
``RandomForestRegressor(n_estimators=100, random_state=0)`` fitted on the whole diabetes data, a 300-tree
``XGBRegressor`` and a 300-tree binary ``LGBMClassifier`` (10,000 rows of 10 features from scikit-learn's
``make_regression`` / ``make_classification``, seed 0). Each is packaged with ``--runtime onnx`` and
``--runtime native`` (scikit-learn, XGBoost or LightGBM) into the work folder (default .build/bench/runtimes,
emptied first), and for each bundle:

1. build: the function once (functions/predict/Makefile) and the bundle's model layer (layers/model/Makefile,
   the recipe ``sam build`` runs: the runtime's pins, pruned, python3.13 bytecode);
2. cold start: ``docker run`` of the python3.13 Lambda image with the function and the layer mounted, until
   the first response to events/rest-predict-single.json (bench/cold_start.py), and the init inside it
   (the emulator's INIT REPORT: the runtime's start, ``import app``, the bundle's load and reference check);
   one untimed start per bundle first (page cache), then ``--runs`` rounds with the bundles in turn;
   the medians;
3. warm: bench/handler.py in a fresh process per bundle: the production handler with an API Gateway
   event, in process on the host's Python; p50 of ``--n`` calls, 1 row and 100 rows; ``--runs`` rounds with the
   bundles in turn (a burst of other work on the machine then hits one round, not one bundle); the median;
4. sizes, unzipped: the function, the layer's runtime (python/) and model (model/), their total against
   Lambda's 262,144,000 bytes and the room left (tools/build/model_layer.py).
Then each ONNX figure over the native runtime's of the same model and run, and the targets: PASS/MISS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cold_start import EVENT, ColdStart, Deployment, cold_start, docker_available, lambda_image
from tools.build import model_layer
from tools.build.lambda_platform import UNZIPPED_LIMIT
from tools.build.model_layer import Sizes
from tools.paths import ROOT

WORK = ROOT / ".build" / "bench" / "runtimes"
MODELS = {
    "default": "default model (RidgeCV pipeline)",
    "forest": "100-tree RandomForestRegressor",
    "xgboost": "300-tree XGBRegressor",
    "lightgbm": "300-tree LGBMClassifier (binary)",
}
RUNTIMES = ("onnx", "native")  # native: the model's own library (the manifest names it: sklearn, xgboost, lightgbm)
LIBRARY = {"default": "scikit-learn", "forest": "scikit-learn", "xgboost": "XGBoost", "lightgbm": "LightGBM"}
ROWS = (1, 100)
MB = 1e6  # the unit lambda_build and model_layer print
FIGURES = ("cold", "init", "warm1", "warm100", "layer")  # what ratio() divides


@dataclass(frozen=True)
class Result:
    """One bundle's figures: sizes; warm p50s (µs by rows) and cold starts, each round (cold: none without Docker)."""

    model: str
    runtime: str
    sizes: Sizes
    warm_runs: list[dict[int, float]]
    cold_s: list[float] = field(default_factory=list)  # `docker run` to the first response
    init_ms: list[float] = field(default_factory=list)  # of which the function's init in the container

    @property
    def warm_p50_us(self) -> dict[int, float]:
        """The median of the rounds' p50s, by rows."""
        return {rows: statistics.median(run[rows] for run in self.warm_runs) for rows in self.warm_runs[0]}

    @property
    def cold_median(self) -> float | None:
        return statistics.median(self.cold_s) if self.cold_s else None

    @property
    def init_median(self) -> float | None:
        return statistics.median(self.init_ms) if self.init_ms else None

    @property
    def layer(self) -> int:
        return self.sizes.layer_runtime + self.sizes.model

    @property
    def room_left(self) -> int:
        return UNZIPPED_LIMIT - self.sizes.total


@dataclass(frozen=True)
class Target:
    name: str
    measured: float | None  # None: not measured in this run (no Docker engine)
    limit: float
    unit: str = "×"
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.measured is None else self.measured <= self.limit

    def figure(self) -> str:
        measured = "not measured" if self.measured is None else f"{self.measured:.2f}{self.unit}"
        return f"{measured} (target ≤ {self.limit:g}{self.unit}){self.note}"

    def line(self) -> str:
        verdict = {True: "PASS", False: "MISS", None: "----"}[self.met]
        return f"{verdict}  {self.name}: {self.figure()}"


def pick(results: list[Result], model: str, runtime: str) -> Result:
    """The model's bundle served by ``runtime``: "onnx", or "native" (whichever library serves it itself)."""
    return next(r for r in results if r.model == model and (r.runtime == "onnx") == (runtime == "onnx"))


def ratio(results: list[Result], model: str, figure: str) -> float | None:
    """An ONNX figure over the native runtime's, same model, same run; figure: one of FIGURES."""

    def value(r: Result) -> float | None:
        if figure in ("cold", "init"):
            return r.cold_median if figure == "cold" else r.init_median
        if figure == "layer":
            return float(r.layer)
        return r.warm_p50_us[int(figure.removeprefix("warm"))]

    onnx, native = value(pick(results, model, "onnx")), value(pick(results, model, "native"))
    return None if onnx is None or native is None else onnx / native


def targets(results: list[Result]) -> list[Target]:
    """The targets of the models measured in this run: ONNX against scikit-learn (the default model and the
    forest), against XGBoost and LightGBM (their 300-tree models), and each layer against Lambda's limit."""
    measured = {r.model for r in results}
    found = [t for model in MODELS if model in measured for t in model_targets(results, model)]
    return found


def room(result: Result) -> str:
    return f"; room left {result.room_left / MB:.1f} MB ({result.room_left:,} bytes)"


def model_targets(results: list[Result], model: str) -> list[Target]:
    if model == "default":
        return [
            Target("cold start, default model, ONNX / scikit-learn", ratio(results, "default", "cold"), 0.45),
            Target("warm 1-row handler p50, default model, ONNX / scikit-learn", ratio(results, "default", "warm1"),
                   0.7),
        ]  # fmt: skip
    if model in ("xgboost", "lightgbm"):
        native, name = pick(results, model, "native"), f"{MODELS[model]}, ONNX / {LIBRARY[model]}"
        return [
            Target(f"warm 1-row handler p50, {name}", ratio(results, model, "warm1"), 0.5),
            Target(f"cold start, {name}", ratio(results, model, "cold"), 0.5),
            Target(f"function + {LIBRARY[model]} layer + the model vs Lambda's limit", native.sizes.total / MB,
                   UNZIPPED_LIMIT / MB, " MB", room(native)),
        ]  # fmt: skip
    forest = pick(results, "forest", "onnx")
    return [
        Target("warm 1-row handler p50, 100-tree forest, ONNX / scikit-learn", ratio(results, "forest", "warm1"), 0.15),
        Target("ONNX layer (runtime + the forest), unzipped", forest.layer / MB, 110, " MB"),
        Target("function + ONNX layer + the forest vs Lambda's limit", forest.sizes.total / MB, UNZIPPED_LIMIT / MB,
               " MB", room(forest)),
    ]  # fmt: skip


def cell(value: str, quotient: float | None) -> str:
    return value if quotient is None else f"{value} ({quotient:.2f}×)"


def table(results: list[Result]) -> list[str]:
    """Markdown: one row per bundle; ONNX cells carry their ratio to the native runtime's (same model, same run)."""
    runs = max(len(r.cold_s) for r in results)
    lines = [
        f"| model | runtime | cold start, median of {runs} | of which init | warm p50, 1 row | warm p50, 100 rows | "
        "layer: runtime + model | function + layer | room left |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        q = {f: ratio(results, r.model, f) if r.runtime == "onnx" else None for f in FIGURES}
        cells = [
            cell("not measured" if r.cold_median is None else f"{r.cold_median:.2f} s", q["cold"]),
            cell("" if r.init_median is None else f"{r.init_median / 1000:.2f} s", q["init"]),
            cell(f"{r.warm_p50_us[1]:.0f} µs", q["warm1"]),
            cell(f"{r.warm_p50_us[100]:.0f} µs", q["warm100"]),
            cell(f"{r.sizes.layer_runtime / MB:.1f} + {r.sizes.model / MB:.2f} MB", q["layer"]),
            f"{r.sizes.total / MB:.1f} MB",
            f"{r.room_left / MB:.1f} MB",
        ]
        lines.append(f"| {MODELS[r.model]} | {r.runtime} | " + " | ".join(cells) + " |")
    return lines


def cold_runs(results: list[Result]) -> list[str]:
    """Each cold start, with the init inside it: `default/onnx: 0.61 (0.30), 0.58 (0.29) s`."""
    return [
        f"{r.model}/{r.runtime}: "
        + ", ".join(f"{s:.2f} ({i / 1000:.2f})" for s, i in zip(r.cold_s, r.init_ms, strict=True))
        + " s"
        for r in results
        if r.cold_s
    ]


def summary(results: list[Result]) -> list[str]:
    """What is printed: the table, each cold start, each target with PASS/MISS."""
    return [*table(results), "", *cold_runs(results), "", *(t.line() for t in targets(results))]


def run_quiet(command: list[str], what: str) -> None:
    """Run a build step; its output is shown only when it fails."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_runtimes: {what} failed:\n{done.stdout}{done.stderr}")


def train_forest(path: Path) -> list[str]:
    """The 100-tree forest, reproducibly (fixed random_state); returns the feature names."""
    import joblib
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor

    data = load_diabetes()
    joblib.dump(RandomForestRegressor(n_estimators=100, random_state=0).fit(data.data, data.target), path)
    return list(data.feature_names)


def bundle_dir(work: Path, model: str, runtime: str) -> Path:
    return work / f"{model}-{runtime}" / "bundle"


def train_boosters(work: Path) -> list[str]:
    """The 300-tree XGBoost regressor and LightGBM classifier, reproducibly; returns the feature names."""
    import joblib
    from lightgbm import LGBMClassifier
    from sklearn.datasets import make_classification, make_regression
    from xgboost import XGBRegressor

    # 10 features: the width of the default model, which the cold start's event (events/) carries
    x, y = make_regression(n_samples=10_000, n_features=10, n_informative=6, noise=10.0, random_state=0)
    joblib.dump(XGBRegressor(n_estimators=300, random_state=0).fit(x, y), work / "xgboost.joblib")
    x, y = make_classification(n_samples=10_000, n_features=10, n_informative=5, random_state=0)
    joblib.dump(LGBMClassifier(n_estimators=300, random_state=0, verbose=-1).fit(x, y), work / "lightgbm.joblib")
    return [f"x{i}" for i in range(10)]


def package(work: Path, models: list[str]) -> dict[tuple[str, str], Path]:
    """Two bundles per model, by (model, runtime), written by package-model."""
    given: dict[str, list[str]] = {"default": []}
    if "forest" in models:
        names = train_forest(work / "forest.joblib")
        given["forest"] = ["--estimator", str(work / "forest.joblib"), "--name", "diabetes-forest",
                           "--feature-names", ",".join(names)]  # fmt: skip
    if {"xgboost", "lightgbm"} & set(models):
        names = train_boosters(work)
        for model in ("xgboost", "lightgbm"):
            given[model] = ["--estimator", str(work / f"{model}.joblib"), "--feature-names", ",".join(names)]
    bundles = {}
    for model, args in ((m, given[m]) for m in models):
        for runtime in RUNTIMES:
            out = bundle_dir(work, model, runtime)
            command = [
                sys.executable,
                "-m",
                "tools.model.package_model",
                *args,
                "--runtime",
                runtime,
                "--out",
                str(out),
            ]
            run_quiet(command, f"package-model ({model}, {runtime})")
            bundles[model, runtime] = out
    return bundles


def build(work: Path, bundles: dict[tuple[str, str], Path]) -> dict[tuple[str, str], Deployment]:
    """The function (once) and each bundle's layer, with the recipes `sam build` runs."""
    make = ["make", "--no-print-directory", "-f"]
    function = work / "function"
    run_quiet([*make, "functions/predict/Makefile", "build-PredictFunction", f"ARTIFACTS_DIR={function}",
               f"PYTHON={sys.executable}"], "the function's build")  # fmt: skip
    deployments = {}
    for key, bundle in bundles.items():
        layer = bundle.parent / "layer"
        run_quiet([*make, "layers/model/Makefile", "build-ModelLayer", f"ARTIFACTS_DIR={layer}",
                   f"MODEL_BUNDLE={bundle}", f"PYTHON={sys.executable}"], f"the layer build for {key}")  # fmt: skip
        deployments[key] = Deployment(function, layer / "python", layer / "model")
    return deployments


def cold_starts(deployments: dict[tuple[str, str], Deployment], runs: int) -> dict[tuple[str, str], list[ColdStart]]:
    """`docker run` to the first /predict response: an untimed start each, then ``runs`` rounds, bundles in turn."""
    image, event = lambda_image(), EVENT.read_bytes()
    for deployment in deployments.values():
        cold_start(image, deployment, event)  # page cache: measure Python's work, not the disk
    out: dict[tuple[str, str], list[ColdStart]] = {key: [] for key in deployments}
    for i in range(runs):
        for key, deployment in deployments.items():
            out[key].append(cold_start(image, deployment, event))
        figures = ", ".join(f"{'/'.join(k)} {v[-1].seconds:.2f}s" for k, v in out.items())
        print(f"  cold start round {i + 1}: {figures}", flush=True)
    return out


def warm(bundle: Path, n: int) -> dict[int, float]:
    """Handler p50 (µs) by rows, from bench/handler.py in a process of its own (one bundle per process)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "warm.json"
        command = [sys.executable, "-m", "bench.handler", "--model-dir", str(bundle), "--n", str(n)]
        run_quiet([*command, "--json", str(out)], f"bench_handler on {bundle}")
        cases = json.loads(out.read_text())["cases"]
    return {rows: float(cases[str(rows)]["handler"]["p50_us"]) for rows in ROWS}


def warm_rounds(
    deployments: dict[tuple[str, str], Deployment], runs: int, n: int
) -> dict[tuple[str, str], list[dict[int, float]]]:
    """Warm handler p50s (µs by rows): ``runs`` rounds, the bundles in turn, a fresh process each time."""
    out: dict[tuple[str, str], list[dict[int, float]]] = {key: [] for key in deployments}
    for i in range(runs):
        for key, deployment in deployments.items():
            out[key].append(warm(deployment.model, n))
        figures = ", ".join(f"{'/'.join(k)} {v[-1][1]:.0f}/{v[-1][100]:.0f}" for k, v in out.items())
        print(f"  warm round {i + 1} (µs, 1/100 rows): {figures}", flush=True)
    return out


def sizes(deployment: Deployment) -> Sizes:
    """Unzipped: the function, the layer's python/ and model/ (the layer folder holds both)."""
    return model_layer.measure(deployment.function, deployment.python.parent)


def run(work: Path, runs: int, n: int, docker: bool, models: list[str]) -> list[Result]:
    """Package, build and measure the models' bundles (cold starts only when ``docker``)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    print(f"runtimes: packaging and building {len(models) * len(RUNTIMES)} bundles", flush=True)
    deployments = build(work, package(work, models))
    colds = cold_starts(deployments, runs) if docker else {}
    warms = warm_rounds(deployments, runs, n)
    results = []
    for (model, runtime), deployment in deployments.items():
        cold = colds.get((model, runtime), [])
        results.append(Result(model, deployment.runtime(), sizes(deployment), warms[model, runtime],
                              [c.seconds for c in cold], [c.init_ms for c in cold]))  # fmt: skip
    return results


def as_json(results: list[Result]) -> dict[str, Any]:
    return {
        "results": [
            dataclasses.asdict(r) | {"cold_median_s": r.cold_median, "room_left": r.room_left} for r in results
        ],
        "targets": [dataclasses.asdict(t) | {"met": t.met} for t in targets(results)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="rounds: timed cold starts and warm runs per bundle")
    parser.add_argument("--n", type=int, default=400, help="warm handler calls per case and round")
    parser.add_argument("--work-dir", type=Path, default=WORK, help="emptied, then filled with bundles and builds")
    parser.add_argument("--models", default=",".join(MODELS), help=f"some of {','.join(MODELS)} (default: all)")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",")]
    if unknown := [m for m in models if m not in MODELS]:
        parser.error(f"--models: unknown {', '.join(unknown)} (known: {', '.join(MODELS)})")
    load = os.getloadavg()[0]
    results = run(args.work_dir.resolve(), args.runs, args.n, docker_available(), models)
    print(f"load average (1 min): {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    (args.work_dir / "results.json").write_text(json.dumps(as_json(results), indent=1) + "\n")
    print("\n" + "\n".join(summary(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
