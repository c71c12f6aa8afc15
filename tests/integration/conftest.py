"""Integration fixtures: `sam build` once per session, a Docker engine, the python3.13 Lambda image.

Tests that need Docker are skipped with the reason when no engine can be had (not root, not Debian) -
except under CI=true, where that is a failure: CI must run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, get_args

import httpx2
import pytest
from cfnlint.decode import cfn_yaml

from predictor.model.manifest import Runtime, read_manifest
from tests.conftest import ROOT
from tests.utils import free_port, served_by
from tests.zoo import ZooModel
from tools.local import sam_local

SAM = ROOT / ".venv-sam" / "bin" / "sam"
BUNDLE = ROOT / "layers" / "model" / "model"


def function_env_names() -> set[str]:
    """Every variable template.yaml sets for the function, read from the template itself."""
    template = cfn_yaml.load(str(ROOT / "template.yaml"))
    return set(template["Resources"]["PredictFunction"]["Properties"]["Environment"]["Variables"])


# SAM CLI would let the shell's values of these override the template's: never pass them on.
FUNCTION_ENV = function_env_names()


def sam_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FUNCTION_ENV}
    return {**env, "SAM_CLI_TELEMETRY": "0", "PYTHON": sys.executable}


def run_sam(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SAM), *args], cwd=cwd, env=sam_env(), capture_output=True, text=True, timeout=timeout)


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


def lambda_containers() -> set[str]:
    """Every container SAM started for a Lambda function (running or not) on this engine: sam-local's own view."""
    found = sam_local.lambda_containers()
    assert found is not None, "the Docker engine did not answer `docker ps`"
    return found


def docker_images(*filters: str) -> set[str]:
    """IDs of the engine's images that pass every ``--filter``; empty when the engine does not answer."""
    args = ["docker", "images", "-q", "--no-trunc", *(f"--filter={f}" for f in filters)]
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return set(result.stdout.split()) if result.returncode == 0 else set()


def prune_dangling_images() -> None:
    """SAM bakes the layers into an image of its own (samcli/lambda-*, up to 250 MB above the base image) and
    rebakes it when a layer's files change, leaving the last one dangling: the model zoo alone left 29 of them,
    gigabytes a full run never freed. ``docker image prune`` removes those no container uses."""
    subprocess.run(["docker", "image", "prune", "-f"], capture_output=True, timeout=300)


def release_sam_images(keep: set[str]) -> None:
    """Give back the disk SAM's images hold, but for those in ``keep``. An image a container still uses (another
    run's, or a session-long `sam local start-api`) is refused by the engine and stays."""
    prune_dangling_images()
    baked = docker_images("reference=samcli/lambda-*") - keep
    if baked:
        subprocess.run(["docker", "image", "rm", *sorted(baked)], capture_output=True, timeout=300)


@pytest.fixture(scope="module", autouse=True)
def sam_images_released(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each module that runs containers, the images SAM baked for it are removed."""
    if request.node.get_closest_marker("docker") is None:
        yield
        return
    before = docker_images("reference=samcli/lambda-*")
    yield
    release_sam_images(keep=before)


def wait_for_health(proc: subprocess.Popen[bytes], base: str, log: Path, deadline_s: float = 300) -> None:
    """Until ``base``/health answers 200 (a first cold start on a slow, loaded machine can take minutes);
    fails at once, with the log's tail, when the process ended, the bundle was refused (503) or the
    function keeps failing (10 server errors in a row: it does not even import)."""
    deadline, errors = time.monotonic() + deadline_s, 0
    while True:
        status = 0
        try:
            status = httpx2.get(f"{base}/health", timeout=30).status_code
            if status == 200:
                return
            errors = errors + 1 if status >= 500 else 0
        except httpx2.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline or status == 503 or errors >= 10:
            pytest.fail(f"{base} did not serve /health (last status {status}):\n{log.read_text()[-3000:]}")
        time.sleep(1)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of template.yaml into a temp build dir (function + model layer)."""
    if not (BUNDLE / "manifest.json").is_file():
        pytest.fail("no model bundle in layers/model/model: run `make model` (make test does)")
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    result = run_sam("build", "--build-dir", str(build_dir), "--no-cached")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


class ModelLayer(NamedTuple):
    path: Path  # the built layer: python/ (/opt/python) and model/ (/opt/model)
    bundle: Path  # the bundle it was built for


@pytest.fixture(scope="session")
def model_layers(
    built: Path,
    default_bundle: Path,
    sklearn_bundle: Path,
    zoo: dict[str, ZooModel],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, ModelLayer]:
    """A model layer for each runtime, beside the one function `sam build` made: sam build's own layer (for the
    bundle in layers/model/model), and each other runtime's, built once by the same recipe (layers/model/Makefile,
    which `sam build` runs) for the default model packaged for that runtime, or a zoo model that auto served by
    its own boosting library."""
    own = read_manifest(built / "ModelLayer" / "model").runtime
    layers = {own: ModelLayer(built / "ModelLayer", BUNDLE)}
    bundles = {"onnx": default_bundle, "sklearn": sklearn_bundle}
    for model in zoo.values():
        bundles.setdefault(model.case.runtime, model.bundle)
    for runtime in sorted(set(get_args(Runtime)) - {own}):
        assert read_manifest(bundles[runtime]).runtime == runtime
        out = tmp_path_factory.mktemp(f"layer-{runtime}") / "ModelLayer"
        result = subprocess.run(
            ["make", "--no-print-directory", "-f", str(ROOT / "layers" / "model" / "Makefile"), "build-ModelLayer",
             f"ARTIFACTS_DIR={out}", f"MODEL_BUNDLE={bundles[runtime]}", f"PYTHON={sys.executable}"],
            env=sam_env(), capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        sys.stderr.write(
            "".join(line for line in result.stdout.splitlines(True) if line.startswith(("lambda_", "model_")))
        )
        layers[runtime] = ModelLayer(out, bundles[runtime])
    return layers


def build_with_layer(built: Path, layer: ModelLayer, logical_id: str, folder: Path) -> Path:
    """A build in ``folder``: sam build's template and function, and ``layer``'s python/ (and lib/: a system library
    the runtime's wheels link, LightGBM's libgomp) as the layer ``logical_id``; the layer's folder is returned, its
    model/ is the caller's. SAM tags the image it bakes a layer into by the layer's logical id alone: each build
    that another test may run beside this one's needs its own."""
    build = folder / "build"
    build.mkdir()
    template = re.sub(r"\bModelLayer\b", logical_id, (built / "template.yaml").read_text())
    (build / "template.yaml").write_text(template)
    # Hard links, not copies: a runtime's python/ is up to 250 MB, and no build writes into it.
    shutil.copytree(built / "PredictFunction", build / "PredictFunction", symlinks=True, copy_function=os.link)
    for part in ("python", "lib"):
        if (layer.path / part).exists():
            shutil.copytree(layer.path / part, build / logical_id / part, symlinks=True, copy_function=os.link)
    return build / logical_id


def invoke_event(build: Path, image: str, event: Path) -> dict[str, Any]:
    """The function's answer to ``event``: one `sam local invoke` of the build in ``build`` in ``image``."""
    result = run_sam(
        "local", "invoke", "PredictFunction", "-t", str(build / "template.yaml"), "-e", str(event),
        "--invoke-image", image, "--skip-pull-image", timeout=300,
    )  # fmt: skip
    prune_dangling_images()  # the image baked for the bundle before this one
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines, f"no answer from sam local invoke:\n{result.stderr[-3000:]}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def docker_engine() -> None:
    result = subprocess.run([str(ROOT / "tools" / "build" / "docker-engine")], capture_output=True, text=True)
    if result.returncode != 0:
        unavailable(f"no Docker engine: {result.stderr.strip().splitlines()[-1] if result.stderr else 'unknown'}")


@pytest.fixture(scope="session")
def lambda_image(docker_engine: None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tools.build.lambda_image"], capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        unavailable(f"no python3.13 Lambda image: {result.stderr.strip()[-500:]}")
    sys.stderr.write(result.stderr)
    return result.stdout.strip()


@contextmanager
def serve(model_dir: Path) -> Iterator[str]:
    """The app over ``model_dir`` under uvicorn on a free loopback port: its base URL, until the block ends."""
    port = free_port()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    env = {**os.environ, "MODEL_DIR": str(model_dir), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    proc = subprocess.Popen(
        [str(uvicorn), "app:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=ROOT / "functions" / "predict", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    with served_by(proc, f"http://127.0.0.1:{port}") as base:
        wait_until_listening(port)
        yield base


def wait_until_listening(port: int) -> None:
    for _ in range(100):  # a TCP connect, not a request: the first response must go to the client
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("uvicorn did not start")


@pytest.fixture(scope="module")
def server(default_bundle: Path) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, with the default model."""
    with serve(default_bundle) as base:
        yield base


@pytest.fixture(scope="session")
def start_api(built: Path, lambda_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sam local start-api` on the session's build."""
    with sam_start_api(built, lambda_image, tmp_path_factory.mktemp("start-api") / "sam.log") as base:
        yield base


@contextmanager
def sam_start_api(build: Path, lambda_image: str, log: Path) -> Iterator[str]:
    """`sam local start-api` on the build in ``build``, stopped as Ctrl-C does (SIGINT to its group; SIGTERM, what
    make local's wrapper turns into that, is tests/integration/test_clean_stop.py's): no container may be left."""
    before = lambda_containers()
    port = free_port()
    args = ["local", "start-api", "-t", str(build / "template.yaml"), "--port", str(port)]
    args += ["--invoke-image", lambda_image, "--skip-pull-image", "--warm-containers", "EAGER"]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(SAM), *args], cwd=ROOT, env=sam_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(proc, base, log)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: SAM stops its containers
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode is not None
    assert lambda_containers() - before == set(), "sam local start-api left containers behind"
