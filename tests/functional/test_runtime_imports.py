"""A process serving an ONNX bundle never imports scikit-learn, SciPy, XGBoost or LightGBM (what makes its layer
small and its cold start short): a fresh interpreter imports the production handler as Lambda does, serves /predict,
and reports what it imported. The same for the native runtimes' bundles, which must import their own library and
no other: the check can fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT, load_event
from tests.zoo import ZooModel, assert_answers_match

# Runs in a fresh interpreter with MODEL_DIR set, as Lambda's runtime would: import the handler, serve one
# API Gateway event, print the answer and the top-level packages that are imported by then.
SERVE = """
import json, sys
import app

class Context:  # what Powertools and the app read of a Lambda context
    function_name, function_version, memory_limit_in_mb = "PredictFunction", "$LATEST", 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:PredictFunction"
    aws_request_id, log_group_name, log_stream_name = "c6af9ac6", "/aws/lambda/PredictFunction", "s"
    def get_remaining_time_in_millis(self): return 29000

response = app.handler(json.loads(sys.stdin.read()), Context())
packages = sorted({name.partition(".")[0] for name in sys.modules})
threads = None
if "sklearn" in sys.modules:  # the native runtime's OpenMP and BLAS threads (threadpoolctl, after the packages)
    from threadpoolctl import threadpool_info
    threads = max(info["num_threads"] for info in threadpool_info())
print(json.dumps({"response": response, "packages": packages, "threads": threads}))
"""


def serve_in_fresh_interpreter(model: ZooModel) -> tuple[dict[str, Any], set[str], int | None]:
    rows = model.held_out[:5]
    event = {**load_event("rest-predict-batch"), "body": json.dumps({"instances": rows.tolist()})}
    env = {**os.environ, "MODEL_DIR": str(model.bundle), "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction"}
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    result = subprocess.run(
        [sys.executable, "-c", SERVE], input=json.dumps(event), cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    response = out["response"]
    assert response["statusCode"] == 200, response["body"]
    assert_answers_match(model, json.loads(response["body"]), rows)
    return response, set(out["packages"]), out["threads"]


@pytest.mark.parametrize(
    "name", ["random-forest", "logistic-strings", "scaler-xgboost-classifier", "scaler-lightgbm-classifier"]
)
def test_an_onnx_bundle_is_served_without_scikit_learn_or_scipy(name: str, zoo: dict[str, ZooModel]) -> None:
    model = zoo[name]
    assert model.manifest["runtime"] == "onnx"
    _, packages, _ = serve_in_fresh_interpreter(model)
    assert "onnxruntime" in packages
    imported = {"sklearn", "scipy", "joblib", "xgboost", "lightgbm", "onnxmltools", "skl2onnx"} & packages
    assert imported == set(), "an ONNX bundle's process imported them"


def test_a_scikit_learn_bundle_imports_them(zoo: dict[str, ZooModel]) -> None:
    model = zoo["function-transformer"]
    assert model.manifest["runtime"] == "sklearn"
    _, packages, threads = serve_in_fresh_interpreter(model)
    assert {"sklearn", "scipy", "joblib"} <= packages
    assert {"onnxruntime", "xgboost", "lightgbm"} & packages == set()
    assert threads == 1, "the native runtime must predict with one OpenMP and BLAS thread"


@pytest.mark.parametrize(("name", "library"), [("xgboost-gblinear", "xgboost"), ("lightgbm-linear-tree", "lightgbm")])
def test_a_booster_bundle_imports_its_library_and_no_other(name: str, library: str, zoo: dict[str, ZooModel]) -> None:
    model = zoo[name]
    assert model.manifest["runtime"] == library
    _, packages, threads = serve_in_fresh_interpreter(model)
    assert {library, "sklearn", "joblib"} <= packages
    assert threads == 1
    assert {"onnxruntime", "xgboost", "lightgbm"} - {library} & packages == set()
