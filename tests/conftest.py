"""Shared fixtures: sample events, bundles built by the project's own packager, handlers over them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import warnings
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
IRIS_NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

from predictor.observability import logger  # noqa: E402
from tests.housing import BoosterFiles, HousingFiles, boosters, write_files  # noqa: E402
from tests.utils import FakeLambdaContext, manifest_of  # noqa: E402
from tests.zoo import ZooModel, build_zoo  # noqa: E402
from tools.model import package_model  # noqa: E402


def pytest_report_header() -> str:
    """What a failed run on another machine needs first: its CPU and the disk left (the sam tests' builds and
    images take gigabytes)."""
    free = shutil.disk_usage(tempfile.gettempdir()).free
    return f"machine: {platform.machine()}, {os.cpu_count()} cores, {free / 2**30:.1f} GiB free for temp files"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())  # type: ignore[no-any-return]


def event_names() -> list[str]:
    return sorted(p.stem for p in EVENTS.glob("*.json"))


Handler = Callable[[dict[str, Any]], dict[str, Any]]


def package(out: Path, *args: str) -> Path:
    assert package_model.main([*args, "--out", str(out)]) == 0
    return out


def packaged(folder: Path, estimator: Path, eval_csv: Path, target: str) -> Path:
    """``estimator`` packaged into ``folder``/model with its held-out rows (EVAL_CSV)."""
    return package(folder / "model", "--estimator", str(estimator), "--eval-csv", str(eval_csv), "--target", target)


@pytest.fixture(autouse=True)
def current_event_loop() -> None:
    """Mangum runs each event on the thread's current event loop, which its constructor makes when there is
    none; on Lambda nothing else touches it. A test that ran ``asyncio.run`` (load tests, clients) leaves the
    thread with no current loop, and a handler called later in the same session would answer 500 (Mangum's
    "There is no current event loop"): every test starts with one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture(scope="session")
def default_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model, trained and packaged exactly as `make model` does, in a temp folder: RUNTIME=auto
    converts it to ONNX (float64), and ONNX Runtime serves it."""
    return package(tmp_path_factory.mktemp("default") / "model")


@pytest.fixture(scope="session")
def sklearn_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model served by scikit-learn (make model RUNTIME=sklearn): model.joblib."""
    return package(tmp_path_factory.mktemp("default-sklearn") / "model", "--runtime", "sklearn")


@pytest.fixture(scope="session")
def default_estimator() -> Any:
    """The default model's fitted scikit-learn pipeline, as make model trains it (the answers to match)."""
    return package_model.train_default()[0]


@pytest.fixture(scope="session")
def iris_estimator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's fitted classifier pipeline, saved with joblib, without feature names."""
    data = load_iris()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(np.asarray(data.data), data.target_names[data.target])  # string labels
    path = tmp_path_factory.mktemp("user") / "iris-clf.joblib"
    joblib.dump(model, path)
    return path


@pytest.fixture(scope="session")
def name(default_bundle: Path) -> str:
    """The default model's name, as the standard protocols address it."""
    return manifest_of(default_bundle)["name"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def iris_bundle(tmp_path_factory: pytest.TempPathFactory, iris_estimator: Path) -> Path:
    return package(
        tmp_path_factory.mktemp("iris") / "model",
        "--estimator",
        str(iris_estimator),
        "--feature-names",
        ",".join(IRIS_NAMES),
        "--version",
        "2.0.0",
    )


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ZooModel]:
    """The model zoo (tests/zoo.py): each estimator trained, saved and packaged with RUNTIME=auto, once."""
    return build_zoo(tmp_path_factory.mktemp("zoo"))


@pytest.fixture(scope="session")
def housing(tmp_path_factory: pytest.TempPathFactory) -> HousingFiles:
    """The housing pipelines with string columns (tests/housing.py), fitted on a DataFrame and saved."""
    return write_files(tmp_path_factory.mktemp("housing"))


@pytest.fixture(scope="session")
def price_bundle(tmp_path_factory: pytest.TempPathFactory, housing: HousingFiles) -> Path:
    """The price regressor packaged with its held-out rows (EVAL_CSV): ONNX Runtime serves it, strings included."""
    return packaged(tmp_path_factory.mktemp("price"), housing.regressor, housing.price_csv, "price")


@pytest.fixture(scope="session")
def price_native_bundle(tmp_path_factory: pytest.TempPathFactory, housing: HousingFiles) -> Path:
    """The price regressor packaged without data: its trees cannot be probed through the encoder, so scikit-learn
    serves it."""
    return package(tmp_path_factory.mktemp("price-native") / "model", "--estimator", str(housing.regressor))


@pytest.fixture(scope="session")
def band_bundle(tmp_path_factory: pytest.TempPathFactory, housing: HousingFiles) -> Path:
    """The price band classifier (OrdinalEncoder: an unknown category is an error) with its held-out rows."""
    return packaged(tmp_path_factory.mktemp("band"), housing.classifier, housing.band_csv, "band")


@pytest.fixture(scope="session")
def booster_files(tmp_path_factory: pytest.TempPathFactory) -> BoosterFiles:
    """XGBoost and LightGBM fitted on the housing table with its strings as pandas category columns."""
    return boosters(tmp_path_factory.mktemp("boosters"))


@pytest.fixture(scope="session")
def lightgbm_bundle(tmp_path_factory: pytest.TempPathFactory, booster_files: BoosterFiles,
                    housing: HousingFiles) -> Path:  # fmt: skip
    return packaged(tmp_path_factory.mktemp("band-lightgbm"), booster_files.lightgbm, housing.band_csv, "band")


@pytest.fixture(scope="session")
def xgboost_bundle(tmp_path_factory: pytest.TempPathFactory, booster_files: BoosterFiles,
                   housing: HousingFiles) -> Path:  # fmt: skip
    return packaged(tmp_path_factory.mktemp("price-xgboost"), booster_files.xgboost, housing.price_csv, "price")


# The log keys (model_version) each imported app module left on the shared Powertools logger.
_LOG_KEYS_AT_IMPORT: weakref.WeakKeyDictionary[ModuleType, dict[str, Any]] = weakref.WeakKeyDictionary()


def import_app(model_dir: Path) -> ModuleType:
    """functions/predict/app.py imported afresh the way Lambda does, with MODEL_DIR pointing at the bundle."""
    # As Lambda runs it: MODEL_DIR at the bundle, AWS_LAMBDA_FUNCTION_NAME set (EMF metrics, no /metrics).
    lambda_env = {"MODEL_DIR": str(model_dir), "AWS_LAMBDA_FUNCTION_NAME": "PredictFunction"}
    saved = {key: os.environ.get(key) for key in lambda_env}
    os.environ.update(lambda_env)
    sys.modules.pop("app", None)
    try:
        import app
    finally:  # SAM CLI lets shell variables override the template's: never leak these
        sys.modules.pop("app", None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    _LOG_KEYS_AT_IMPORT[app] = dict(logger.get_current_keys())
    return app


def production_handler(app_module: ModuleType, context: FakeLambdaContext | None = None) -> Handler:
    """The module's Lambda ``handler`` (event check, Powertools, Mangum) with a fake Lambda context."""

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        # Each module runs in a process of its own on Lambda: its handler logs with the keys its import set,
        # whichever app module was imported last into this one.
        logger.append_keys(**_LOG_KEYS_AT_IMPORT[app_module])
        return app_module.handler(event, context or FakeLambdaContext())  # type: ignore[no-any-return]

    return invoke


@pytest.fixture(scope="session")
def app_module(default_bundle: Path) -> ModuleType:
    return import_app(default_bundle)


@pytest.fixture(scope="session")
def handler(app_module: ModuleType) -> Handler:
    return production_handler(app_module)


@pytest.fixture(scope="session")
def price_handler(price_bundle: Path) -> Handler:
    return production_handler(import_app(price_bundle))


@pytest.fixture(scope="session")
def price_native_handler(price_native_bundle: Path) -> Handler:
    return production_handler(import_app(price_native_bundle))


@pytest.fixture(scope="session")
def band_handler(band_bundle: Path) -> Handler:
    return production_handler(import_app(band_bundle))


@pytest.fixture(scope="session")
def iris_handler(iris_bundle: Path) -> Handler:
    return production_handler(import_app(iris_bundle))


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The function's JSON log lines (its Powertools logger's formatter), captured while the test runs."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    yield stream
    logger.removeHandler(capture)
