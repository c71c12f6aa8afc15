"""`make invoke`'s command (tools/local/invoke.py) through `sam local invoke` with a user's model in the layer: the
sample events are fitted to its features, and the exit status is the function's answer (1 on a 4xx)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from predictor.model.manifest import read_manifest
from tests.conftest import ROOT
from tests.integration.conftest import SAM, ModelLayer, sam_env

pytestmark = [pytest.mark.build, pytest.mark.sam, pytest.mark.docker]


@pytest.fixture(scope="module")
def iris_build(
    built: Path, model_layers: dict[str, ModelLayer], iris_bundle: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The session's `sam build` with the layer of the iris bundle's runtime and the bundle in its place
    (/opt/model), as `make model MODEL=...` then `sam build` would give."""
    build = tmp_path_factory.mktemp("iris-build") / "build"
    shutil.copytree(built, build, symlinks=True, ignore=shutil.ignore_patterns("ModelLayer"))
    shutil.copytree(model_layers[read_manifest(iris_bundle).runtime].path, build / "ModelLayer", symlinks=True)
    shutil.rmtree(build / "ModelLayer" / "model")
    shutil.copytree(iris_bundle, build / "ModelLayer" / "model")
    return build


def sam_invoke(build: Path, image: str, manifest: Path, event: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.local.invoke", "--sam", str(SAM), "--image", image, "--template",
         str(build / "template.yaml"), "--manifest", str(manifest), str(ROOT / "events" / f"{event}.json")],
        cwd=ROOT, env=sam_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def answer(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_users_model_answers_the_sample_event(iris_build: Path, iris_bundle: Path, lambda_image: str) -> None:
    result = sam_invoke(iris_build, lambda_image, iris_bundle / "manifest.json", "rest-predict-single")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "body fitted to the bundle's 4 features" in result.stderr
    assert answer(result)["statusCode"] == 200


def test_a_4xx_answer_is_printed_and_exits_1(iris_build: Path, iris_bundle: Path, lambda_image: str) -> None:
    result = sam_invoke(iris_build, lambda_image, iris_bundle / "manifest.json", "rest-bad-nan")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-3000:]
    response = answer(result)
    assert response["statusCode"] == 422
    assert "features[3]: expected a finite number, got NaN" in str(response["body"])
    assert "PredictFunction answered 422: exit status 1" in result.stderr


OTHER_SAM = """#!/bin/sh
# Finishes normally while another `sam local` on the engine (a serving `make local`) starts a container.
docker run -d --label sam.cli.container.type=lambda --entrypoint sleep "$1" 600 > "$2"
"""


def test_a_finished_invoke_removes_no_container_of_others(lambda_image: str, tmp_path: Path) -> None:
    """`make invoke` beside a serving `make local`: the wrapper cleans up only after a signal or a failure,
    never the containers another `sam local` started meanwhile when SAM simply finished."""
    fake, cidfile = tmp_path / "sam", tmp_path / "cid"
    fake.write_text(OTHER_SAM)
    fake.chmod(0o755)
    wrapper = [sys.executable, "-m", "tools.local.sam_local", "--sam", str(fake), "--", lambda_image, str(cidfile)]
    try:
        assert subprocess.run(wrapper, cwd=ROOT, timeout=300).returncode == 0
        cid = cidfile.read_text().strip()
        assert subprocess.run(["docker", "inspect", cid], capture_output=True, timeout=120).returncode == 0
    finally:
        if cidfile.exists():
            subprocess.run(["docker", "rm", "-f", cidfile.read_text().strip()], capture_output=True, timeout=120)
