"""`sam build` output: fits Lambda's 250 MB, ships python3.13 bytecode, and serves on CPython 3.13."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import joblib
import numpy as np
import pytest

from tests.conftest import load_event
from tests.integration.conftest import BUNDLE, run_sam
from tests.utils import assert_predictions_close
from tools.lambda_build import find_python313, image_with_python313

pytestmark = [pytest.mark.build, pytest.mark.sam]

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # function + all layers, bytes


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def test_sam_validate_lint() -> None:
    result = run_sam("validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_function_plus_layer_fit_in_250_mb_unzipped(built: Path) -> None:
    function, layer = size(built / "PredictFunction"), size(built / "ModelLayer")
    total = function + layer
    print(
        f"\nunzipped: function {function / 1e6:.1f} MB + model layer {layer / 1e6:.1f} MB = {total / 1e6:.1f} MB "
        f"({total / LAMBDA_UNZIPPED_LIMIT:.0%} of Lambda's {LAMBDA_UNZIPPED_LIMIT:,} bytes)"
    )
    assert total < LAMBDA_UNZIPPED_LIMIT


def test_layer_layout_matches_the_runtime(built: Path) -> None:
    layer = built / "ModelLayer"
    assert (layer / "python" / "sklearn").is_dir()  # /opt/python is on the import path on Lambda
    manifest = json.loads((layer / "model" / "manifest.json").read_text())  # MODEL_DIR=/opt/model
    assert manifest == json.loads((BUNDLE / "manifest.json").read_text())
    assert not list((layer / "python").rglob("tests"))  # pruned
    assert list((layer / "python").glob("numpy.libs/*.so*"))  # never pruned nor stripped
    assert (built / "PredictFunction" / "app.py").is_file()


def test_every_source_file_has_python313_bytecode(built: Path) -> None:
    missing = [
        py
        for py in [*built.joinpath("PredictFunction").rglob("*.py"), *built.joinpath("ModelLayer").rglob("*.py")]
        if not (py.parent / "__pycache__" / f"{py.stem}.cpython-313.pyc").is_file()
    ]
    assert not missing, f"{len(missing)} files without cpython-313 bytecode, e.g. {missing[:3]}"
    stray = list(built.rglob("*.cpython-311.pyc"))
    assert not stray, f"host bytecode shipped: {stray[:3]}"


# Runs on CPython 3.13 (the host's or the Lambda image's) without the test tree: it keeps a minimal Lambda
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
root = sys.argv[1]
loaded, no_pyc = 0, []
for name, module in list(sys.modules.items()):
    path = getattr(module, "__file__", None) or ""
    if path.startswith(root) and path.endswith(".py"):
        loaded += 1
        cached = importlib.util.cache_from_source(path)
        with open(cached, "rb") as f:
            flags = int.from_bytes(f.read(8)[4:8], "little")
        if flags != 0b01:  # hash-based, unchecked: valid whatever the mtimes after unzip
            no_pyc.append(path)
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1, "modules": loaded, "bad": no_pyc,
                  "status": response["statusCode"], "body": response["body"]}))
"""


def python313_command(built: Path, env: dict[str, str]) -> list[str]:
    """The host's CPython 3.13, else the python3.13 Lambda image with the build mounted at the same path."""
    python = find_python313()
    if python is not None:
        return [python]
    image = image_with_python313()
    if image is None:
        pytest.fail("no CPython 3.13 on the host and no python3.13 Lambda image: the build could not have run")
    command = ["docker", "run", "--rm", "-i", "--network", "none", "-v", f"{built}:{built}:ro"]
    for key, value in env.items():
        command += ["-e", f"{key}={value}"]
    return [*command, "--entrypoint", "python3.13", image]


def test_built_artifacts_serve_on_python313_with_bytecode_only(built: Path) -> None:
    function, layer = built / "PredictFunction", built / "ModelLayer"
    event = load_event("rest-predict-batch")
    env = {
        "PYTHONPATH": f"{function}:{layer / 'python'}",  # /var/task:/opt/python on Lambda
        "MODEL_DIR": str(layer / "model"),
        "PYTHONDONTWRITEBYTECODE": "1",  # Lambda's /opt and /var/task are read-only
        "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction",
    }
    result = subprocess.run(
        [*python313_command(built, env), "-c", COLD_START, str(built)],
        input=json.dumps(event),
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])  # after the function's own log lines
    print(f"\npython3.13 cold start from the build: import {report['import_s']:.2f}s, {report['modules']} modules")
    assert report["bad"] == [], f"imported without unchecked-hash bytecode: {report['bad'][:5]}"
    assert report["status"] == 200, report["body"]
    rows = np.array(json.loads(event["body"])["instances"])
    expected = joblib.load(BUNDLE / "model.joblib").predict(rows)
    assert_predictions_close(json.loads(report["body"])["predictions"], expected)  # cp313 build vs the host's
