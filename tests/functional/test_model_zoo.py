"""The model zoo (tests/zoo.py) packaged with RUNTIME=auto and served through the production handler: each
estimator lands on the runtime it should (ONNX Runtime when the conversion passes the parity gate, else
the model's own library with the reason printed), says so at /model, and answers API Gateway events on held-out rows as
the estimator itself does, within the bundle's own tolerance."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier

from tests.conftest import ROOT, Handler, import_app, load_event, production_handler
from tests.zoo import (
    CASES,
    ZooModel,
    assert_answers_match,
    assert_not_reference_rows,
    batches,
    package,
    write_csv,
)
from tools.model.gate.convert_onnx import (
    PARITY_PROBABILITY_ATOL,
    PARITY_RTOL,
    ConversionFailed,
    GateRows,
    Tolerance,
    attempt,
)
from tools.model.gate.gate_rows import drawn_rows, proving_rows
from tools.model.gate.onnx_precision import FLOAT32
from tools.model.runtime_choice import LIBRARY_NAMES

NAMES = [case.name for case in CASES]
ONNX = [case.name for case in CASES if case.runtime == "onnx"]
FALLBACK = [case.name for case in CASES if case.runtime != "onnx"]


@pytest.fixture(scope="session")
def zoo_handlers(zoo: dict[str, ZooModel]) -> dict[str, Handler]:
    return {name: production_handler(import_app(model.bundle)) for name, model in zoo.items()}


def with_body(name: str, body: dict[str, Any]) -> dict[str, Any]:
    """The events/ sample ``name`` (a real API Gateway shape) carrying ``body``."""
    return {**load_event(name), "body": json.dumps(body), "isBase64Encoded": False}


def answer(model: ZooModel, handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
    response = handler(event)
    assert response["statusCode"] == 200, response["body"]
    assert response["headers"]["x-model-version"] == model.manifest["version"]
    return json.loads(response["body"])  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", NAMES)
def test_auto_chooses_the_runtime(name: str, zoo: dict[str, ZooModel]) -> None:
    model = zoo[name]
    assert model.exit_code == 0, model.stderr
    manifest = model.manifest
    assert manifest["runtime"] == model.case.runtime, manifest.get("runtime_choice")
    assert (model.bundle / ("model.onnx" if model.case.runtime == "onnx" else "model.joblib")).is_file()


@pytest.mark.parametrize("name", ONNX)
def test_onnx_bundles_record_dtype_gate_and_tolerance(name: str, zoo: dict[str, ZooModel]) -> None:
    """The manifest says what was proven: the graph's input dtype and where it casts to float32, the rows the gate
    compared (the threshold probes of a tree model and the eval data among them, when given) and the figure it
    reached, and the tolerance the bundle is held to from then on."""
    model = zoo[name]
    manifest, onnx = model.manifest, model.manifest["onnx"]
    assert (onnx["input_dtype"], onnx.get("cast_to_float32_before")) == (model.case.dtype, model.case.cast)
    assert list(onnx["step_dtypes"].values())[-1] == ("float32" if model.case.cast else "float64")
    parity, reference = onnx["parity"], manifest["reference"]
    n_eval = len(model.eval_csv.read_text().splitlines()) - 1
    probed = parity.get("splits_probed")
    unstored = 2 * probed - (len(reference["rows"]) - 32 if probed else 0) if probed else 0
    assert parity["rows"] == len(reference["rows"]) + unstored + (n_eval if model.case.eval_csv else 0)
    assert any("eval.csv" in source for source in parity["sources"]) == model.case.eval_csv
    cast = f", cast to float32 before {model.case.cast}" if model.case.cast else ""
    assert f"runtime onnx ({model.case.dtype} input{cast}; parity gate on {parity['rows']:,} rows" in model.stdout
    is_tree = model.case.cast is not None or "hist-gradient-boosting" in name or "lightgbm" in name
    assert (probed is not None) == is_tree
    if is_tree:
        assert 0 < probed <= parity["splits_total"]
        assert f"either side of {probed:,} of {parity['splits_total']:,} split thresholds" in model.stdout
    if manifest["task"] == "regression":
        assert parity["max_relative_error"] <= PARITY_RTOL
        assert (reference["rtol"], reference["atol"]) == (PARITY_RTOL, pytest.approx(PARITY_RTOL * parity["scale"]))
    else:
        assert parity["labels_identical"] is True
        assert parity["max_probability_error"] <= PARITY_PROBABILITY_ATOL
        assert reference["atol"] == PARITY_PROBABILITY_ATOL


@pytest.mark.parametrize("name", FALLBACK)
def test_auto_falls_back_to_the_models_own_library_and_says_why(name: str, zoo: dict[str, ZooModel]) -> None:
    """The reason printed and kept; the library that serves recorded with its version (checked at cold start)."""
    model = zoo[name]
    manifest = model.manifest
    library = LIBRARY_NAMES[model.case.runtime]
    printed = f"package_model: {manifest['estimator']} is served by {library}: auto: ONNX not used ("
    assert printed in model.stderr
    assert f"runtime {model.case.runtime} ({library} serves the estimator itself)" in model.stdout
    if model.case.runtime != "sklearn":
        assert manifest[f"{model.case.runtime}_version"] == importlib.metadata.version(
            "xgboost-cpu" if model.case.runtime == "xgboost" else "lightgbm"
        )
    for words in model.case.reason:
        assert words in model.stderr
        assert words in manifest["runtime_choice"]
    assert "onnx" not in manifest
    assert not (model.bundle / "model.onnx").exists()


@pytest.mark.parametrize("name", NAMES)
def test_held_out_rows_are_answered_as_the_estimator_does(
    name: str, zoo: dict[str, ZooModel], zoo_handlers: dict[str, Handler]
) -> None:
    """A batch of held-out rows (REST API, positional rows) and one of them by name (HTTP API): the answers
    are the estimator's predict/predict_proba within the bundle's tolerance; labels identical."""
    model, handler = zoo[name], zoo_handlers[name]
    assert_not_reference_rows(model)
    rows = model.held_out
    for part in batches(rows):
        batch = answer(model, handler, with_body("rest-predict-batch", {"instances": part.tolist()}))
        assert_answers_match(model, batch, part)

    named = dict(zip(model.feature_names, rows[0].tolist(), strict=True))
    single = answer(model, handler, with_body("http-predict-single", {"features": named}))
    as_batch = {"predictions": [single["prediction"]], **single}
    if "probabilities" in single:
        as_batch["probabilities"] = [single["probabilities"]]
    assert_answers_match(model, as_batch, rows[:1])


@pytest.mark.parametrize("name", NAMES)
def test_model_card_and_v2_metadata_say_which_runtime_serves(
    name: str, zoo: dict[str, ZooModel], zoo_handlers: dict[str, Handler]
) -> None:
    response = zoo_handlers[name](load_event("rest-model"))
    assert response["statusCode"] == 200
    card = json.loads(response["body"])
    assert card["runtime"] == zoo[name].case.runtime
    assert card["runtime_choice"] == zoo[name].manifest["runtime_choice"]
    assert card["runtime_choice"].startswith("auto: ")
    manifest = zoo[name].manifest
    metadata_event = {**load_event("rest-model"), "path": f"/v2/models/{manifest['name']}", "resource": "/{proxy+}"}
    metadata = json.loads(zoo_handlers[name](metadata_event)["body"])
    library = "onnxruntime_onnx" if manifest["runtime"] == "onnx" else f"{manifest['runtime']}_sklearn"
    assert metadata["platform"] == library


def test_runtime_onnx_refuses_the_unconvertible_pipeline(zoo: dict[str, ZooModel], tmp_path: Path) -> None:
    """`make model RUNTIME=onnx` with a FunctionTransformer pipeline: exit status 2, the converter's reason
    naming the step, and no bundle written."""
    model = zoo["function-transformer"]
    out = tmp_path / "model"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("package-model")), "--estimator", str(model.estimator_path),
         "--feature-names", ",".join(model.feature_names), "--runtime", "onnx", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(
        "package_model: error: RUNTIME=onnx: Pipeline(FunctionTransformer, LinearRegression) cannot be served by "
        "ONNX Runtime: float64: skl2onnx cannot convert it: RuntimeError: FunctionTransformer is not supported"
    ), result.stderr
    assert "ONNX not used" not in result.stderr  # refused, not quietly packaged for scikit-learn
    assert not out.exists()


def test_the_gate_catches_knn_ties_in_the_eval_data(tmp_path: Path) -> None:
    """k-NN on iris (fitted on all 150 rows): ONNX Runtime's TopK and scikit-learn's neighbour search break a tie
    among equidistant neighbours differently, so one of the real rows gets other probabilities (0.2 apart).
    The drawn reference rows hit no tie; the eval data holds that row, and the gate keeps scikit-learn."""
    data = load_iris()
    x, y = np.asarray(data.data), np.asarray(data.target_names[data.target])
    estimator = KNeighborsClassifier(5).fit(x, y)
    names = [f"f{i}" for i in range(4)]
    path = tmp_path / "knn.joblib"
    joblib.dump(estimator, path)
    common = ["--estimator", str(path), "--feature-names", ",".join(names)]

    code, _, err = package([*common, "--out", str(tmp_path / "drawn")])
    assert code == 0, err
    assert json.loads((tmp_path / "drawn" / "manifest.json").read_text())["runtime"] == "onnx"

    csv = write_csv(tmp_path / "iris.csv", names, (x, y))
    code, _, err = package([*common, "--eval-csv", str(csv), "--target", "target", "--out", str(tmp_path / "eval")])
    assert code == 0, err
    manifest = json.loads((tmp_path / "eval" / "manifest.json").read_text())
    assert manifest["runtime"] == "sklearn"
    assert "parity gate: a probability differs by 0.2 > 1e-05" in manifest["runtime_choice"]
    assert "parity gate: a probability differs by 0.2 > 1e-05" in err


def test_the_gate_refuses_the_all_float32_graph_of_a_scaler_and_forest(zoo: dict[str, ZooModel]) -> None:
    """The graph served before the estimator's own precision: the scaler computed in float32. It passes on the
    32 rows drawn within the training range, as it did then; the threshold probes refuse it, and the refusal
    names the step where the answers part, a threshold the trees' inputs straddle, and what to do."""
    model = zoo["scaler-random-forest"]
    estimator, names = model.estimator, model.feature_names
    drawn = drawn_rows(estimator, len(names))
    passed = attempt(estimator, "regression", GateRows([drawn], feature_names=names), FLOAT32, Tolerance(), False)
    assert passed.info.parity.max_relative_error is not None
    assert passed.info.parity.max_relative_error <= PARITY_RTOL
    probes = proving_rows(estimator, drawn).probes
    assert probes is not None
    with pytest.raises(ConversionFailed) as refused:
        attempt(
            estimator, "regression", GateRows([(probes.rows, "probes")], probes, names), FLOAT32, Tolerance(), False
        )
    message = str(refused.value)
    assert message.startswith("parity gate: relative error ")
    assert "The answers part at step 'standardscaler' (StandardScaler, computed in float32 by the graph)" in message
    assert "at split threshold " in message
    assert "scikit-learn's " in message
    assert "the graph's " in message
    assert "RUNTIME=native" in message
