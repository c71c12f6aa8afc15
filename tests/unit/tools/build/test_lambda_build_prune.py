"""What the ONNX layer prunes (tools/build/model_layer.py RUNTIME_LAYERS["onnx"].prune) is never used to serve: a
process serving ONNX bundles through the Lambda handler, from this virtualenv's complete onnxruntime install, neither
imports a module nor maps a file (shared libraries included) under any pruned path. The built, pruned layer
serving on python3.13 is tests/integration/test_sam_build.py's."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from predictor.model.manifest import read_manifest
from tests.conftest import EVENTS, load_event
from tools.build.model_layer import RUNTIME_LAYERS

PROBE = """
import json, sys, types
import app
context = types.SimpleNamespace(function_name="PredictFunction", memory_limit_in_mb=1769, aws_request_id="r1",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:PredictFunction",
    get_remaining_time_in_millis=lambda: 29000)
statuses = [app.handler(event, context)["statusCode"] for event in json.loads(sys.stdin.read())]
files = {getattr(module, "__file__", None) or "" for module in list(sys.modules.values())}
with open("/proc/self/maps") as maps:  # every file mapped into the process: extension modules and their libraries
    files |= {line.split(maxsplit=5)[5].strip() for line in maps if len(line.split(maxsplit=5)) == 6}
print(json.dumps({"statuses": statuses, "files": sorted(files - {""}), "modules": sorted(sys.modules)}))
"""


def serve(bundle: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    env = {**os.environ, "MODEL_DIR": str(bundle), "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction"}
    env["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    result = subprocess.run(
        [sys.executable, "-c", PROBE], input=json.dumps(events), env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def pruned_paths() -> dict[str, list[Path]]:
    """Each prune pattern and what it matches in this virtualenv's onnxruntime install."""
    spec = importlib.util.find_spec("onnxruntime")
    assert spec is not None
    assert spec.origin is not None
    site = Path(spec.origin).parents[1]
    return {pattern: sorted(site.glob(pattern)) for pattern in RUNTIME_LAYERS["onnx"].prune}


def test_every_prune_pattern_matches_the_installed_onnxruntime() -> None:
    """A pattern that matches nothing is stale (onnxruntime moved it): the size test would only see it grow."""
    stale = [pattern for pattern, paths in pruned_paths().items() if not paths]
    assert not stale, f"prune patterns matching nothing in onnxruntime's install: {stale}"


def onnx_events(bundle: Path) -> list[dict[str, Any]]:
    """Every sample event (the default model's 10 features: answers and refusals alike)."""
    assert read_manifest(bundle).n_features == 10
    return [load_event(p.stem) for p in sorted(EVENTS.glob("*.json"))]


def reference_batch(bundle: Path) -> list[dict[str, Any]]:
    event = load_event("rest-predict-batch")
    event["body"] = json.dumps({"instances": read_manifest(bundle).reference.rows})
    return [event]


@pytest.mark.parametrize("which", ["regression", "classification"])
def test_serving_an_onnx_bundle_never_touches_what_the_layer_prunes(
    which: str, default_bundle: Path, iris_bundle: Path
) -> None:
    bundle = default_bundle if which == "regression" else iris_bundle
    assert read_manifest(bundle).runtime == "onnx"
    events = onnx_events(bundle) if which == "regression" else reference_batch(bundle)
    served = serve(bundle, events)
    assert 200 in served["statuses"]
    assert not [s for s in served["statuses"] if s >= 500], served["statuses"]
    used = [Path(f) for f in served["files"]]
    assert any(f.name.startswith("onnxruntime_pybind11_state") for f in used)  # the probe sees the extension
    touched = {
        pattern: [str(f) for f in used if any(f == p or p in f.parents for p in paths)]
        for pattern, paths in pruned_paths().items()
    }
    assert not {pattern: files for pattern, files in touched.items() if files}
    assert not {m.split(".")[0] for m in served["modules"]} & {"sklearn", "scipy", "joblib"}
