"""The model zoo (tests/zoo.py) through `sam local invoke`: each bundle served by the built function and the layer
of its runtime in the python3.13 Lambda image, its answers on held-out rows equal to the estimator's own within
the bundle's tolerance.

Nothing is built for the zoo: the session's `sam build` gives the template and the function, and each runtime's
layer comes from ``model_layers`` (built once per runtime by the layer recipe). One build folder per runtime
takes each zoo model in turn in its layer's model/ (what the recipe ships: manifest + artifact), and batch
event per 1,000 held-out rows of a model.

SAM bakes a template's layers into an image tagged by the layers' logical ids alone (``ModelLayer``), rebuilt
at each invoke: another `sam local invoke` of this project on the same engine (another test run) can retag it
between this one's build and its container, which then serves the other's model (seen: "expected 10 features,
got 5"). So the layer's logical id here is the runtime's own (``ZooOnnxLayer``, ``ZooSklearnLayer``,
``ZooXgboostLayer``, ``ZooLightgbmLayer``; nothing else in the template changes), the invokes run one at a
time, and every answer's model_version is checked.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from pathlib import Path

import pytest

from predictor.model.manifest import read_manifest
from tests.conftest import load_event
from tests.integration.conftest import ModelLayer, build_with_layer, invoke_event
from tests.zoo import CASES, ZooModel, assert_answers_match, batches
from tools.build.model_layer import copy_bundle

pytestmark = [pytest.mark.build, pytest.mark.sam, pytest.mark.docker]


@pytest.fixture(scope="module")
def zoo_layers(
    built: Path, model_layers: dict[str, ModelLayer], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Per runtime, the layer folder of a build: `sam build`'s template and function, that runtime's layer python/
    (the model/ beside it is each test's)."""
    return {
        runtime: build_with_layer(
            built, layer, f"Zoo{runtime.capitalize()}Layer", tmp_path_factory.mktemp(f"zoo-{runtime}")
        )
        for runtime, layer in model_layers.items()
    }


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_zoo_model_answers_in_the_lambda_image(
    name: str, zoo: dict[str, ZooModel], zoo_layers: dict[str, Path], lambda_image: str, tmp_path: Path
) -> None:
    """The model in its runtime's layer, a REST API batch event of its held-out rows, one `sam local invoke`."""
    model = zoo[name]
    manifest = read_manifest(model.bundle)
    layer = zoo_layers[manifest.runtime]
    copy_bundle(manifest, model.bundle, layer / "model")
    for part in batches(model.held_out):
        event = tmp_path / "event.json"
        body = json.dumps({"instances": part.tolist()})
        event.write_text(json.dumps({**load_event("rest-predict-batch"), "body": body}))
        response = invoke_event(layer.parent, lambda_image, event)
        assert response["statusCode"] == 200, response["body"]
        answer = json.loads(response["body"])
        assert answer["model_version"] == manifest.version, "the container served another bundle than this model's"
        assert response["headers"]["x-model-version"] == manifest.version
        assert_answers_match(model, answer, part)


def test_the_lightgbm_layer_ships_the_openmp_library_the_image_lacks(
    zoo_layers: dict[str, Path], lambda_image: str
) -> None:
    """lib_lightgbm.so links libgomp.so.1, which Lambda's python3.13 image lacks (the image built from Debian
    packages too): the layer's lib/ (/opt/lib, on Lambda's LD_LIBRARY_PATH) is what lets LightGBM load."""
    layer = zoo_layers["lightgbm"]

    def import_lightgbm(*env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "/bin/sh", "-v", f"{layer}:/opt:ro", "-e",
             "PYTHONPATH=/opt/python", *env, lambda_image, "-c",
             "exec python3.13 -c 'import lightgbm; print(lightgbm.__version__)'"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    without = import_lightgbm()
    if without.returncode != 0:  # an image with its own libgomp (none known) would not need the layer's
        assert "libgomp.so.1: cannot open shared object file" in without.stderr
    loaded = import_lightgbm("-e", "LD_LIBRARY_PATH=/opt/lib")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == importlib.metadata.version("lightgbm")
