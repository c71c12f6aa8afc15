"""The layer build's choices, without pip or Docker: which pins a bundle's runtime gets (tools/build/model_layer.py),
what ships in /opt/model, what is pruned, the size report, and the refusals (layer build and model-ops)."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from typing import get_args

import pytest

from predictor.model.manifest import RUNTIME_LIBRARIES, Runtime, read_manifest
from tests.conftest import ROOT
from tests.utils import rewrite_manifest
from tools.build.lambda_build import BuildError, canonical, prune, read_pins
from tools.build.lambda_platform import UNZIPPED_LIMIT
from tools.build.model_layer import (
    RUNTIME_LAYERS,
    Sizes,
    build_layer,
    check_bundle,
    check_layer_python,
    copy_bundle,
    layer_runtime,
    main,
    sizes,
)
from tools.operate import ops

RUNTIMES: tuple[Runtime, ...] = get_args(Runtime)


@pytest.fixture(scope="module")
def bundles(default_bundle: Path, sklearn_bundle: Path) -> dict[str, Path]:
    """The default model packaged for each runtime (make model: RUNTIME=auto converts it to ONNX)."""
    found = {"onnx": default_bundle, "sklearn": sklearn_bundle}
    assert {runtime: read_manifest(path).runtime for runtime, path in found.items()} == {r: r for r in found}
    return found


def fake_layer_python(root: Path, runtime: Runtime, **versions: str) -> Path:
    """A built layer's python/ as far as the checks read it: one dist-info per pinned package (``versions``
    overrides a pin: onnxruntime="1.0.0")."""
    for name, version in read_pins(layer_runtime(runtime).requirements).items():
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        version = versions.get(name.replace("-", "_"), version)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


def test_every_runtime_of_the_contract_has_a_layer_whose_pins_cover_its_checked_libraries() -> None:
    assert set(RUNTIME_LAYERS) == set(RUNTIMES) == set(RUNTIME_LIBRARIES)
    for runtime, layer in RUNTIME_LAYERS.items():
        pins = read_pins(layer.requirements)
        assert canonical(layer.distribution) in pins, runtime
        for key, distribution in RUNTIME_LIBRARIES[runtime].items():
            assert canonical(distribution) in pins, f"{runtime}: {key} ({distribution}) is not pinned"


def test_the_bundles_runtime_picks_the_layers_requirements(bundles: dict[str, Path]) -> None:
    chosen = {runtime: layer_runtime(check_bundle(path).runtime).requirements for runtime, path in bundles.items()}
    assert chosen == {
        "sklearn": ROOT / "layers" / "model" / "requirements.txt",
        "onnx": ROOT / "layers" / "model" / "requirements-onnx.txt",
    }
    onnx_pins = read_pins(chosen["onnx"])
    assert not {"scikit-learn", "scipy", "joblib"} & set(onnx_pins)  # an ONNX layer never ships them


@pytest.mark.parametrize(
    ("runtime", "key", "message"),
    [
        ("onnx", "onnxruntime_version", "onnxruntime bundle=1.0.0 layer pin=1.32.0"),
        ("sklearn", "sklearn_version", "scikit-learn bundle=1.0.0 layer pin=1.9.1"),
    ],
)
def test_a_bundle_made_with_other_versions_than_its_runtimes_pins_is_refused(
    bundles: dict[str, Path], tmp_path: Path, runtime: str, key: str, message: str
) -> None:
    bundle = Path(shutil.copytree(bundles[runtime], tmp_path / "model"))
    rewrite_manifest(bundle, lambda m: m.update({key: "1.0.0"}))
    with pytest.raises(BuildError) as refused:
        check_bundle(bundle)
    pins_file = "requirements-onnx.txt" if runtime == "onnx" else "requirements.txt"
    assert f"does not match the {runtime} layer's pins (layers/model/{pins_file})" in str(refused.value)
    assert message in str(refused.value)


def test_an_onnx_bundle_is_not_checked_against_scikit_learn(bundles: dict[str, Path], tmp_path: Path) -> None:
    """An ONNX bundle records the scikit-learn it was converted from; only onnxruntime and numpy serve it."""
    bundle = Path(shutil.copytree(bundles["onnx"], tmp_path / "model"))
    rewrite_manifest(bundle, lambda m: m.update({"sklearn_version": "1.0.0", "scipy_version": "1.0.0"}))
    assert check_bundle(bundle).runtime == "onnx"


def test_a_missing_or_tampered_bundle_is_refused(bundles: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"no model bundle: .*manifest\.json is missing - run `make model` first"):
        check_bundle(tmp_path / "nothing")
    bundle = Path(shutil.copytree(bundles["onnx"], tmp_path / "model"))
    (bundle / "model.onnx").write_bytes(b"tampered")
    with pytest.raises(BuildError, match="sha256 mismatch"):
        check_bundle(bundle)


def test_only_the_bundles_own_files_ship_in_opt_model(bundles: dict[str, Path], tmp_path: Path) -> None:
    for runtime, source in bundles.items():
        bundle = Path(shutil.copytree(source, tmp_path / runtime))
        (bundle / "notes.txt").write_text("a stray file")
        (bundle / "__pycache__").mkdir()
        (bundle / "model.joblib.bak").write_bytes(b"old")
        dest = tmp_path / f"{runtime}-layer" / "model"
        dest.mkdir(parents=True)
        (dest / "left-over").write_text("from a previous build")
        manifest = check_bundle(bundle)
        copy_bundle(manifest, bundle, dest)
        assert sorted(p.name for p in dest.iterdir()) == sorted(["manifest.json", manifest.artifact])
        assert (dest / manifest.artifact).read_bytes() == (bundle / manifest.artifact).read_bytes()


def test_the_layer_recipe_refuses_a_bundle_before_installing_anything(bundles: dict[str, Path], tmp_path: Path) -> None:
    """layers/model/Makefile (what `sam build` runs) fails with the reason, and installs nothing."""
    bundle = Path(shutil.copytree(bundles["onnx"], tmp_path / "model"))
    rewrite_manifest(bundle, lambda m: m.update({"numpy_version": "1.0.0"}))
    out = tmp_path / "layer"
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(ROOT / "layers" / "model" / "Makefile"), "build-ModelLayer",
         f"ARTIFACTS_DIR={out}", f"MODEL_BUNDLE={bundle}", f"PYTHON={sys.executable}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "model_layer: error: the model bundle does not match the onnx layer's pins" in result.stderr
    assert "numpy bundle=1.0.0 layer pin=2.4.6" in result.stderr
    assert not (out / "python").exists()


def test_build_layer_refuses_without_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="run `make model` first"):
        build_layer(tmp_path / "model", tmp_path / "layer")


def test_a_built_runtime_serves_only_bundles_of_its_own_runtime(bundles: dict[str, Path], tmp_path: Path) -> None:
    layers = {runtime: fake_layer_python(tmp_path / runtime, runtime) for runtime in RUNTIMES}
    for runtime, bundle in bundles.items():
        manifest = read_manifest(bundle)
        check_layer_python(manifest, layers[runtime])
        other = next(r for r in RUNTIMES if r != runtime)
        with pytest.raises(BuildError) as refused:
            check_layer_python(manifest, layers[other])
        wanted, held = layer_runtime(runtime).distribution, layer_runtime(other).distribution
        assert (
            f"the bundle's runtime is {runtime} ({wanted}) but {layers[other]} holds the {other} ({held}) runtime"
            in str(refused.value)
        )
        assert "build the layer for this bundle" in str(refused.value)


def test_a_built_runtime_at_other_versions_is_refused(bundles: dict[str, Path], tmp_path: Path) -> None:
    layer = fake_layer_python(tmp_path / "python", "onnx", onnxruntime="1.31.0")
    with pytest.raises(BuildError, match=r"onnxruntime bundle=1\.32\.0 layer \(.*\)=1\.31\.0"):
        check_layer_python(read_manifest(bundles["onnx"]), layer)
    with pytest.raises(BuildError, match=r"no built ML runtime in .*: run `make build` first"):
        check_layer_python(read_manifest(bundles["onnx"]), tmp_path / "empty")


def test_a_lightgbm_layer_without_its_openmp_library_is_refused(bundles: dict[str, Path], tmp_path: Path) -> None:
    """LightGBM's layer is python/ and lib/libgomp.so.1 (the image lacks it): a python/ alone would fail to import
    LightGBM on Lambda, so publish-model's check refuses it, naming the file."""
    manifest = read_manifest(bundles["sklearn"]).model_copy(
        update={"runtime": "lightgbm", "format": 4, "lightgbm_version": importlib.metadata.version("lightgbm")}
    )
    layer = fake_layer_python(tmp_path / "python", "lightgbm")
    with pytest.raises(BuildError, match=r"lib/libgomp\.so\.1 is missing: the lightgbm runtime needs it"):
        check_layer_python(manifest, layer)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libgomp.so.1").write_bytes(b"\x7fELF")
    check_layer_python(manifest, layer)
    content, _ = ops.layer_zip(manifest, bundles["sklearn"], layer)
    names = zipfile.ZipFile(BytesIO(content)).namelist()
    assert "lib/libgomp.so.1" in names
    assert "model/manifest.json" in names


@pytest.fixture
def capsys_no_aws(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    """A refusal comes before any AWS call; should one be made anyway, it goes to a closed loopback port."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return capsys


def run_publish(bundle: Path, layer_python: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """model-ops publish-model up to its checks."""
    code = ops.main(
        ["--region", "us-east-1", "publish-model", "--stack", "s", "--bucket", "b", "--bundle", str(bundle),
         "--layer-python", str(layer_python)]
    )  # fmt: skip
    return code, capsys.readouterr().err


def test_publish_model_refuses_a_bundle_whose_runtime_the_layer_python_lacks(
    bundles: dict[str, Path], tmp_path: Path, capsys_no_aws: pytest.CaptureFixture[str]
) -> None:
    capsys = capsys_no_aws
    sklearn_python = fake_layer_python(tmp_path / "sklearn", "sklearn")
    code, err = run_publish(bundles["onnx"], sklearn_python, capsys)
    assert code == 2
    assert "model-ops: error: the bundle's runtime is onnx (onnxruntime) but" in err
    assert "holds the sklearn (scikit-learn) runtime" in err
    onnx_python = fake_layer_python(tmp_path / "onnx", "onnx")
    code, err = run_publish(bundles["sklearn"], onnx_python, capsys)
    assert code == 2
    assert "the bundle's runtime is sklearn (scikit-learn) but" in err


def test_publish_model_checks_the_bundle_against_its_runtimes_pins(
    bundles: dict[str, Path], tmp_path: Path, capsys_no_aws: pytest.CaptureFixture[str]
) -> None:
    bundle = Path(shutil.copytree(bundles["onnx"], tmp_path / "model"))
    rewrite_manifest(bundle, lambda m: m.update({"onnxruntime_version": "1.0.0"}))
    code, err = run_publish(bundle, fake_layer_python(tmp_path / "onnx", "onnx"), capsys_no_aws)
    assert code == 2
    assert "does not match the onnx layer's pins (layers/model/requirements-onnx.txt)" in err


def test_the_published_zip_holds_the_runtime_and_the_bundles_own_files(
    bundles: dict[str, Path], tmp_path: Path
) -> None:
    python = fake_layer_python(tmp_path / "python", "onnx")
    bundle = Path(shutil.copytree(bundles["onnx"], tmp_path / "model"))
    (bundle / "stray.txt").write_text("not part of the bundle")
    manifest = ops.verify_bundle(bundle, python)
    content, unzipped = ops.layer_zip(manifest, bundle, python)
    names = zipfile.ZipFile(BytesIO(content)).namelist()
    assert sorted(n for n in names if n.startswith("model/")) == ["model/manifest.json", "model/model.onnx"]
    assert "python/onnxruntime-1.32.0.dist-info/METADATA" in names
    shipped = [*python.rglob("*"), bundle / "manifest.json", bundle / "model.onnx"]
    assert unzipped == sum(p.stat().st_size for p in shipped if p.is_file())


def test_prune_removes_the_listed_paths_and_no_library_the_runtime_loads(tmp_path: Path) -> None:
    files = [
        "onnxruntime/__init__.py",
        "onnxruntime/capi/onnxruntime_pybind11_state.cpython-313-x86_64-linux-gnu.so",
        "onnxruntime/capi/libonnxruntime_providers_shared.so",
        "onnxruntime/capi/libonnxruntime.so.1.32.0",
        "onnxruntime/transformers/models/gpt2/convert.py",
        "onnxruntime/quantization/quantize.py",
        "onnxruntime/tools/symbolic_shape_infer.py",
        "onnxruntime/datasets/mul_1.onnx",
        "onnxruntime/backend/backend.py",
        "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
        "numpy/_core/_multiarray_umath.cpython-313-x86_64-linux-gnu.so",
        "numpy/_core/tests/test_api.py",
        "numpy/_core/include/numpy/ndarraytypes.h",
        "bin/f2py",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * 10)
    removed = prune(tmp_path, RUNTIME_LAYERS["onnx"].prune)
    assert [name for name, _ in removed] == [
        "onnxruntime/transformers",
        "onnxruntime/quantization",
        "onnxruntime/tools",
        "onnxruntime/datasets",
        "onnxruntime/backend",
        "onnxruntime/capi/libonnxruntime.so.1.32.0",
    ]
    kept = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert kept == sorted(
        [
            "onnxruntime/__init__.py",
            "onnxruntime/capi/onnxruntime_pybind11_state.cpython-313-x86_64-linux-gnu.so",
            "onnxruntime/capi/libonnxruntime_providers_shared.so",
            "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
            "numpy/_core/_multiarray_umath.cpython-313-x86_64-linux-gnu.so",
        ]
    )
    assert RUNTIME_LAYERS["sklearn"].prune == ()  # the scikit-learn layer is pruned as it always was


def test_the_size_report_gives_the_room_left_for_a_model() -> None:
    report = Sizes(runtime="onnx", function=22_000_000, layer_runtime=94_000_000, model=1_000_000)
    assert report.total == 117_000_000
    assert report.room_for_model == UNZIPPED_LIMIT - 22_000_000 - 94_000_000 == 146_144_000
    text = report.report()
    assert f"Lambda's limit for a function and its layers: {UNZIPPED_LIMIT:,} bytes" in text
    assert "layer: onnx runtime (/opt/python, /opt/lib)" in text
    assert "room for a model: 146.1 MB (146,144,000 bytes; 145.1 MB more than this one)" in text


def test_sizes_reads_a_sam_build(bundles: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build = tmp_path / "build"
    (build / "PredictFunction").mkdir(parents=True)
    (build / "PredictFunction" / "app.py").write_bytes(b"x" * 1000)
    fake_layer_python(build / "ModelLayer" / "python", "onnx")
    copy_bundle(read_manifest(bundles["onnx"]), bundles["onnx"], build / "ModelLayer" / "model")
    found = sizes(build)
    assert (found.runtime, found.function) == ("onnx", 1000)
    assert found.model == sum(p.stat().st_size for p in (build / "ModelLayer" / "model").iterdir())
    assert main(["sizes", str(build)]) == 0
    assert "room for a model" in capsys.readouterr().out
    shutil.rmtree(build / "PredictFunction")
    assert main(["sizes", str(build)]) == 2
    assert "PredictFunction is missing: not a complete `sam build`" in capsys.readouterr().err


@pytest.mark.parametrize(("runtime", "library"), [("xgboost", "xgboost-cpu"), ("lightgbm", "lightgbm")])
def test_a_boosting_librarys_layer_is_scikit_learns_and_the_library(runtime: Runtime, library: str) -> None:
    """The native layer of a pickled XGBoost/LightGBM estimator: scikit-learn's pins (read through ``-r``, as pip
    reads them) and the library itself, at the version the dev venv packages with."""
    pins = read_pins(layer_runtime(runtime).requirements)
    sklearn_pins = read_pins(layer_runtime("sklearn").requirements)
    assert pins == {**sklearn_pins, library: importlib.metadata.version(library)}
