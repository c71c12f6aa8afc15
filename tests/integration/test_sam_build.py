"""`sam build` output: fits Lambda's 250 MB, ships python3.13 bytecode, and serves on CPython 3.13 - with the layer
of each runtime: sam build's own (for layers/model/model) and the other one, built once by the same recipe
(tests/integration/conftest.py ``model_layers``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from predictor.model.bundle import ModelBundle
from predictor.model.manifest import Runtime, read_manifest
from tests.conftest import load_event
from tests.integration.conftest import ModelLayer, run_sam
from tests.utils import assert_predictions_close
from tools.build.lambda_build import find_python313, image_with_python313, installed, read_pins
from tools.build.lambda_platform import UNZIPPED_LIMIT
from tools.build.model_layer import RUNTIME_LAYERS, measure

pytestmark = [pytest.mark.build, pytest.mark.sam]

RUNTIMES: tuple[Runtime, ...] = get_args(Runtime)
ONNX_LAYER_TARGET = 110_000_000  # bytes unzipped, runtime + model (issue 11; the scikit-learn layer is ~203 MB)
SKLEARN = {"sklearn", "scipy", "numpy", "joblib"}
SHIPS = {"sklearn": SKLEARN, "xgboost": SKLEARN | {"xgboost"}, "lightgbm": SKLEARN | {"lightgbm"},
         "onnx": {"onnxruntime", "numpy"}}  # fmt: skip
NEVER = {
    "sklearn": {"onnxruntime", "xgboost", "lightgbm"},
    "xgboost": {"onnxruntime", "lightgbm"},
    "lightgbm": {"onnxruntime", "xgboost"},
    "onnx": {"sklearn", "scipy", "joblib", "xgboost", "lightgbm"},
}


def test_sam_validate_lint() -> None:
    result = run_sam("validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_function_plus_layer_fit_in_250_mb_unzipped(
    built: Path, model_layers: dict[str, ModelLayer], runtime: Runtime
) -> None:
    sizes = measure(built / "PredictFunction", model_layers[runtime].path)
    print(f"\n{sizes.report()}")
    assert sizes.runtime == runtime
    assert sizes.total < UNZIPPED_LIMIT
    if runtime == "onnx":
        layer = sizes.layer_runtime + sizes.model
        assert layer <= ONNX_LAYER_TARGET, f"the ONNX layer is {layer:,} bytes unzipped: over {ONNX_LAYER_TARGET:,}"


def test_make_build_prints_the_sizes_and_the_room_for_a_model(built: Path) -> None:
    """What `make build` runs after `sam build`."""
    result = subprocess.run(
        [sys.executable, "-m", "tools.build.model_layer", "sizes", str(built)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    print(f"\n{result.stdout}")
    room = measure(built / "PredictFunction", built / "ModelLayer").room_for_model
    assert f"room for a model: {room / 1e6:.1f} MB ({room:,} bytes" in result.stdout


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_layer_layout_matches_the_runtime(built: Path, model_layers: dict[str, ModelLayer], runtime: Runtime) -> None:
    layer, bundle = model_layers[runtime]
    python = layer / "python"  # /opt/python is on the import path on Lambda
    assert installed(python) == read_pins(RUNTIME_LAYERS[runtime].requirements)  # the runtime's pins, nothing else
    for package in SHIPS[runtime]:
        assert (python / package / "__init__.py").is_file(), package
    for package in NEVER[runtime]:
        assert not (python / package).exists(), f"the {runtime} layer ships {package}"
    manifest = read_manifest(layer / "model")  # MODEL_DIR=/opt/model: the bundle's own files, nothing else
    assert manifest.runtime == runtime
    assert sorted(p.name for p in (layer / "model").iterdir()) == sorted(["manifest.json", manifest.artifact])
    assert json.loads((layer / "model" / "manifest.json").read_text()) == json.loads(
        (bundle / "manifest.json").read_text()
    )
    assert not list(python.rglob("tests"))  # pruned
    for pattern in RUNTIME_LAYERS[runtime].prune:
        assert not list(python.glob(pattern)), pattern
    assert list(python.glob("numpy.libs/*.so*"))  # never pruned nor stripped
    if runtime == "onnx":
        assert list(python.glob("onnxruntime/capi/onnxruntime_pybind11_state.cpython-313-*.so"))
        assert (python / "onnxruntime" / "capi" / "libonnxruntime_providers_shared.so").is_file()
    assert (built / "PredictFunction" / "app.py").is_file()


def test_every_source_file_has_python313_bytecode(built: Path, model_layers: dict[str, ModelLayer]) -> None:
    folders = [built / "PredictFunction", *(layer.path for layer in model_layers.values())]
    missing = [
        py
        for folder in folders
        for py in folder.rglob("*.py")
        if not (py.parent / "__pycache__" / f"{py.stem}.cpython-313.pyc").is_file()
    ]
    assert not missing, f"{len(missing)} files without cpython-313 bytecode, e.g. {missing[:3]}"
    stray = [pyc for folder in folders for pyc in folder.rglob("*.cpython-311.pyc")]
    assert not stray, f"host bytecode shipped: {stray[:3]}"


# Runs on CPython 3.13 (the Lambda image's or the host's) without the test tree: it keeps a minimal Lambda
# context of its own (in this process, tests/utils.py FakeLambdaContext is the one).
COLD_START = """
import importlib.util, json, sys, time, types
t0 = time.perf_counter()
import app
t1 = time.perf_counter()
event = json.loads(sys.stdin.read())
context = types.SimpleNamespace(function_name="PredictFunction", memory_limit_in_mb=1769, aws_request_id="r1",
                                invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PredictFunction")
response = app.handler(event, context)
t2 = time.perf_counter()
roots = tuple(sys.argv[1:])
loaded, no_pyc = 0, []
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(roots) and path.endswith(".py"):
        loaded += 1
        cached = importlib.util.cache_from_source(path)
        with open(cached, "rb") as f:
            flags = int.from_bytes(f.read(8)[4:8], "little")
        if flags != 0b01:  # hash-based, unchecked: valid whatever the mtimes after unzip
            no_pyc.append(path)
ml = sorted({name.split(".")[0] for name in sys.modules}
            & {"sklearn", "scipy", "joblib", "onnxruntime", "numpy", "xgboost", "lightgbm"})
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1, "modules": loaded, "bad": no_pyc, "ml": ml,
                  "python": sys.version.split()[0], "status": response["statusCode"], "body": response["body"]}))
"""


def python313_command(mounts: list[Path], env: dict[str, str]) -> tuple[list[str], str]:
    """The python3.13 Lambda image with ``mounts`` at the same paths (read-only), else the host's CPython 3.13;
    and which one it is."""
    image = image_with_python313()
    if image is not None:
        command = ["docker", "run", "--rm", "-i", "--network", "none"]
        for path in mounts:
            command += ["-v", f"{path}:{path}:ro"]
        for key, value in env.items():
            command += ["-e", f"{key}={value}"]
        return [*command, "--entrypoint", "python3.13", image], image
    python = find_python313()
    if python is None:
        pytest.fail("no CPython 3.13 on the host and no python3.13 Lambda image: the build could not have run")
    return [python], python


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_built_artifacts_serve_on_python313_with_bytecode_only(
    built: Path, model_layers: dict[str, ModelLayer], runtime: Runtime
) -> None:
    function, (layer, bundle) = built / "PredictFunction", model_layers[runtime]
    manifest = read_manifest(bundle)
    rows = manifest.reference.rows[:5]  # rows this bundle takes, whichever model is in layers/model/model
    event = load_event("rest-predict-batch")
    event["body"] = json.dumps({"instances": rows})
    env = {
        "PYTHONPATH": f"{function}:{layer / 'python'}",  # /var/task:/opt/python on Lambda
        "LD_LIBRARY_PATH": str(layer / "lib"),  # /opt/lib, on Lambda's LD_LIBRARY_PATH (LightGBM's libgomp)
        "MODEL_DIR": str(layer / "model"),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /opt and /var/task are read-only
        "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction",
    }
    command, where = python313_command([function, layer], env)
    result = subprocess.run(
        [*command, "-c", COLD_START, str(function), str(layer)],
        input=json.dumps(event),
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])  # after the function's own log lines
    print(
        f"\n{runtime} bundle on Python {report['python']} ({where}): import {report['import_s']:.2f}s, "
        f"first call {report['first_call_s'] * 1000:.0f} ms, {report['modules']} modules, ML libraries {report['ml']}"
    )
    assert report["python"].startswith("3.13.")
    assert report["bad"] == [], f"imported without unchecked-hash bytecode: {report['bad'][:5]}"
    assert report["status"] == 200, report["body"]  # 200: the bundle's reference outputs were reproduced
    assert not set(report["ml"]) & NEVER[runtime], report["ml"]
    assert set(report["ml"]) >= SHIPS[runtime] - {"scipy"}  # scikit-learn imports SciPy itself
    served = json.loads(report["body"])["predictions"]
    expected = ModelBundle.load(bundle).predict(rows).predictions  # the same runtime on the host (cp311 wheels)
    if manifest.task == "classification":
        assert served == expected
    else:
        assert_predictions_close(served, expected)  # cp313 build vs the host's
