"""Bundle loading and integrity: a bundle that does not match its manifest is never served."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from predictor.model.bundle import ModelBundle
from predictor.model.manifest import MANIFEST_FORMAT, Manifest
from predictor.model.native_runtime import VERSIONS as RUNTIME_VERSIONS
from predictor.model.native_runtime import make_single_process
from tests.conftest import package
from tests.utils import assert_predictions_close, refusal, rewrite_manifest


@pytest.fixture(params=["onnx", "sklearn"])
def bundle_copy(request: pytest.FixtureRequest, default_bundle: Path, sklearn_bundle: Path, tmp_path: Path) -> Path:
    """A copy of the default bundle in each runtime: the integrity checks come before either runtime's."""
    source = default_bundle if request.param == "onnx" else sklearn_bundle
    return Path(shutil.copytree(source, tmp_path / "model"))


@pytest.fixture
def sklearn_copy(sklearn_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(sklearn_bundle, tmp_path / "model"))


@pytest.fixture
def onnx_copy(default_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(default_bundle, tmp_path / "model"))


def artifact_of(model_dir: Path) -> Path:
    return model_dir / json.loads((model_dir / "manifest.json").read_text())["artifact"]


def edit_manifest(model_dir: Path, **changes: Any) -> None:
    rewrite_manifest(model_dir, lambda manifest: manifest.update(changes))


def test_default_bundle_is_served_by_onnx_runtime_like_the_model(default_bundle: Path, default_estimator: Any) -> None:
    bundle = ModelBundle.load(default_bundle)
    x = load_diabetes().data[:20]
    assert bundle.manifest.runtime == "onnx"
    assert bundle.manifest.onnx is not None
    assert bundle.manifest.onnx.input_dtype == "float64"
    assert_predictions_close(bundle.predict(x).predictions, default_estimator.predict(x), default_bundle)
    assert bundle.manifest.task == "regression"
    assert bundle.feature_names == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert bundle.manifest.sklearn_version == RUNTIME_VERSIONS["sklearn_version"]  # what it was converted from


def test_sklearn_bundle_predicts_exactly_like_the_model(sklearn_bundle: Path) -> None:
    bundle = ModelBundle.load(sklearn_bundle)
    model = joblib.load(sklearn_bundle / "model.joblib")
    x = load_diabetes().data[:20]
    assert bundle.manifest.runtime == "sklearn"
    assert bundle.predict(x).predictions == model.predict(x).tolist()  # one runtime, one process: exact


def test_manifest_has_the_model_card_fields(default_bundle: Path) -> None:
    manifest = json.loads((default_bundle / "manifest.json").read_text())
    for key in ("name", "version", "task", "feature_names", "sha256", "sklearn_version", "python_version"):
        assert manifest[key]
    assert manifest["numpy_version"] == np.__version__
    assert manifest["trained_at"].endswith("Z")
    assert manifest["metrics"]["test_r2"] > 0.3  # diabetes + ridge: about 0.45 on the held-out split


def test_missing_directory(tmp_path: Path) -> None:
    assert refusal(tmp_path / "nope") == f"model directory not found: {tmp_path / 'nope'}"


def test_tampered_artifact_is_refused_before_unpickling(bundle_copy: Path) -> None:
    artifact = artifact_of(bundle_copy)
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    assert refusal(bundle_copy).startswith("sha256 mismatch: manifest says")


def test_truncated_artifact_is_refused(bundle_copy: Path) -> None:
    artifact = artifact_of(bundle_copy)
    artifact.write_bytes(artifact.read_bytes()[:100])
    assert "sha256 mismatch" in refusal(bundle_copy)


@pytest.mark.parametrize(
    ("bundle_fixture", "message"),
    [("sklearn_copy", "cannot load model.joblib:"), ("onnx_copy", "ONNX Runtime cannot load the graph:")],
)
def test_truncated_artifact_with_matching_sha_fails_to_load(
    bundle_fixture: str, message: str, request: pytest.FixtureRequest
) -> None:
    import hashlib

    model_dir: Path = request.getfixturevalue(bundle_fixture)
    artifact = artifact_of(model_dir)
    artifact.write_bytes(artifact.read_bytes()[:100])
    edit_manifest(model_dir, sha256=hashlib.sha256(artifact.read_bytes()).hexdigest())
    assert refusal(model_dir).startswith(message)


def test_missing_artifact(bundle_copy: Path) -> None:
    artifact_of(bundle_copy).unlink()
    assert refusal(bundle_copy).startswith("model artifact not found:")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"numpy_version": "1.26.4"}, "library version mismatch: numpy bundle=1.26.4 runtime="),
        ({"task": "forecast"}, "manifest invalid:"),
        ({"feature_names": []}, "manifest invalid:"),
        ({"sha256": "abc"}, "manifest invalid:"),
        ({"format": MANIFEST_FORMAT + 1}, "newer than this function reads"),
    ],
)
def test_manifest_that_does_not_fit_is_refused(bundle_copy: Path, change: dict[str, Any], message: str) -> None:
    edit_manifest(bundle_copy, **change)
    assert message in refusal(bundle_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sklearn_version": "1.2.0"}, "library version mismatch: scikit-learn bundle=1.2.0 runtime="),
        ({"feature_names": ["a", "b"]}, "manifest does not match the model: manifest lists 2 features"),
        ({"task": "classification", "classes": [0, 1]}, "manifest does not match the model: manifest classes"),
    ],
)
def test_sklearn_manifest_that_does_not_fit_is_refused(
    sklearn_copy: Path, change: dict[str, Any], message: str
) -> None:
    edit_manifest(sklearn_copy, **change)
    assert message in refusal(sklearn_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"onnxruntime_version": "1.20.0"}, "library version mismatch: onnxruntime bundle=1.20.0 runtime="),
        ({"feature_names": ["a", "b"]}, "manifest does not match the graph: input tensor(double)"),
        ({"runtime": "sklearn"}, "cannot load model.onnx:"),
        ({"format": 2}, "runtime onnx needs manifest format 3"),
        ({"onnx": None}, "runtime onnx needs the onnx and onnxruntime_version fields"),
    ],
)
def test_onnx_manifest_that_does_not_fit_is_refused(onnx_copy: Path, change: dict[str, Any], message: str) -> None:
    edit_manifest(onnx_copy, **change)
    assert message in refusal(onnx_copy)


def test_onnx_graph_with_another_input_dtype_is_refused(onnx_copy: Path) -> None:
    rewrite_manifest(onnx_copy, lambda manifest: manifest["onnx"].update(input_dtype="float32"))
    assert "manifest does not match the graph: input tensor(double)" in refusal(onnx_copy)


def test_scikit_learn_version_of_an_onnx_bundle_is_provenance_not_a_requirement(onnx_copy: Path) -> None:
    edit_manifest(onnx_copy, sklearn_version="1.2.0", scipy_version="1.0.0")
    assert ModelBundle.load(onnx_copy).manifest.sklearn_version == "1.2.0"


def test_missing_or_unparseable_manifest(bundle_copy: Path) -> None:
    (bundle_copy / "manifest.json").write_text("{not json")
    assert refusal(bundle_copy).startswith("manifest invalid:")
    (bundle_copy / "manifest.json").unlink()
    assert refusal(bundle_copy).startswith("manifest invalid:")
    assert "is missing" in refusal(bundle_copy)


def test_manifest_from_another_model_is_refused(default_bundle: Path, iris_bundle: Path, tmp_path: Path) -> None:
    mixed = Path(shutil.copytree(default_bundle, tmp_path / "mixed"))
    shutil.copy(iris_bundle / "manifest.json", mixed / "manifest.json")
    assert refusal(mixed).startswith("sha256 mismatch")


def test_artifact_that_is_not_a_file(bundle_copy: Path) -> None:
    artifact = artifact_of(bundle_copy)
    artifact.unlink()
    artifact.mkdir()  # a directory where the file should be: reading it fails even as root
    assert refusal(bundle_copy).startswith("model artifact not found")


def test_parallel_estimators_are_made_single_process(tmp_path: Path) -> None:
    x, y = load_diabetes(return_X_y=True)
    forest = make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=5, n_jobs=-1, random_state=0))
    forest.fit(x, y)
    assert make_single_process(forest) == {"randomforestregressor__n_jobs": -1}
    assert forest.get_params()["randomforestregressor__n_jobs"] == 1

    forest.set_params(randomforestregressor__n_jobs=4)
    joblib.dump(forest, tmp_path / "forest.joblib")
    bundle_dir = package(tmp_path / "model", "--estimator", str(tmp_path / "forest.joblib"), "--runtime", "sklearn")
    # the packager already stored n_jobs=1; loading keeps every n_jobs at 1
    loaded = ModelBundle.load(bundle_dir)
    assert loaded.model.estimator.get_params()["randomforestregressor__n_jobs"] == 1
    assert Manifest.model_validate_json((bundle_dir / "manifest.json").read_text()).feature_names[0] == "x0"


def test_boosters_default_of_every_core_is_made_single_process() -> None:
    """n_jobs=None is one job in scikit-learn (left alone) and every core in XGBoost and LightGBM (set to 1)."""
    from lightgbm import LGBMRegressor
    from xgboost import XGBRegressor

    x, y = load_diabetes(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), LGBMRegressor(n_estimators=5, verbose=-1)).fit(x, y)
    assert make_single_process(pipeline) == {"lgbmregressor__n_jobs": None}
    assert pipeline.get_params()["lgbmregressor__n_jobs"] == 1
    booster = XGBRegressor(n_estimators=5).fit(x, y)
    assert make_single_process(booster) == {"n_jobs": None}
    assert booster.n_jobs == 1
    forest = RandomForestRegressor(n_estimators=5, random_state=0).fit(x, y)
    assert make_single_process(forest) == {}
