"""The bundle's contract, shared by the function, the packager, the layer build and the operator CLI:
``manifest.json``'s schema, the artifact's sha256, the libraries whose exact versions are part of the
contract and their check, and the reference predictions (predictor/model/reference.py). Nothing here imports
the ML libraries or the web framework: the build tools read a manifest without loading a model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from predictor.model.reference import Reference

MANIFEST_FILE = "manifest.json"
# 2: reference predictions (``reference``); 3: the runtime that serves (``runtime``, ``onnx``); 4: the boosting
# libraries' own runtimes (``xgboost``, ``lightgbm``) and their versions; 5: categorical features (``categorical``),
# strings in the reference rows, graphs with one input per feature (``onnx.input_per_feature``)
MANIFEST_FORMAT = 5
OLDEST_FORMAT = 2  # format 2 bundles are scikit-learn bundles and are still served

# ``onnx``: the converted graph, served by ONNX Runtime. The native runtimes serve the pickled estimator itself
# with its own library: ``sklearn`` (scikit-learn alone), ``xgboost`` and ``lightgbm`` (scikit-learn and that
# boosting library, whose scikit-learn estimators the pickle holds: a booster saved with ``save_model`` is
# packaged as one).
Runtime = Literal["sklearn", "onnx", "xgboost", "lightgbm"]
NATIVE_RUNTIMES: tuple[Runtime, ...] = ("sklearn", "xgboost", "lightgbm")
BOOSTING_LIBRARIES: dict[str, str] = {"xgboost": "xgboost_version", "lightgbm": "lightgbm_version"}

# Libraries whose exact version is part of the contract, per runtime: manifest key -> distribution name.
# An ONNX bundle still records the scikit-learn, SciPy, joblib (and boosting library) it was fitted and converted
# with (its reference outputs are theirs), but only ONNX Runtime and numpy serve it, so only they are checked.
SKLEARN_LIBRARIES = {
    "sklearn_version": "scikit-learn",
    "numpy_version": "numpy",
    "scipy_version": "scipy",
    "joblib_version": "joblib",
}
RUNTIME_LIBRARIES: dict[str, dict[str, str]] = {
    "sklearn": SKLEARN_LIBRARIES,
    "xgboost": {**SKLEARN_LIBRARIES, "xgboost_version": "xgboost-cpu"},
    "lightgbm": {**SKLEARN_LIBRARIES, "lightgbm_version": "lightgbm"},
    "onnx": {
        "onnxruntime_version": "onnxruntime",
        "numpy_version": "numpy",
    },
}
ARTIFACTS: dict[str, str] = {"onnx": "model.onnx", **dict.fromkeys(NATIVE_RUNTIMES, "model.joblib")}


class BundleError(RuntimeError):
    """The bundle cannot be served; the message says why."""


def runtime_not_shipped(runtime: str, exc: ImportError) -> BundleError:
    """A bundle whose runtime's library the layer lacks (its import failed)."""
    return BundleError(
        f"the bundle needs the {runtime} runtime, which this layer does not ship ({exc}): "
        "rebuild the layer for this bundle (make build)"
    )


class Categorical(BaseModel):
    """A feature whose values are strings: the categories its encoder learnt in training (``manifest.json:
    categorical``, by feature name). Every feature not listed is a number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: list[str] = Field(min_length=1)
    # what the encoder does with a string it never saw: ``ignore`` serves it as the encoder does (OneHotEncoder's
    # handle_unknown="ignore" or "infrequent_if_exist", OrdinalEncoder's "use_encoded_value"), ``error`` refuses it
    unknown: Literal["ignore", "error"]
    encoder: str = Field(min_length=1)  # the encoder's class, for the model card: "OneHotEncoder"
    # True: the model is a booster that encodes the column itself (a pandas ``category`` column of LightGBM's, or of
    # XGBoost's with ``enable_categorical=True``) and takes the category's position in ``categories`` as a number,
    # what its own predict on a DataFrame passes it; a string it never saw is NaN (missing), as pandas makes it
    codes: bool | None = None


class Parity(BaseModel):
    """How the ONNX model's answers compared with scikit-learn's when it was packaged (the parity gate)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    rows: int = Field(ge=1)  # rows compared: the reference rows, plus the eval data when given
    sources: list[str]
    max_relative_error: float | None = None  # regression: max |onnx - sklearn| / (|sklearn| + scale)
    scale: float | None = None  # regression: mean |sklearn prediction| over the compared rows
    labels_identical: bool | None = None  # classification
    splits_total: int | None = None  # tree models: the split thresholds of the trees ...
    splits_probed: int | None = None  # ... how many were probed (two rows each, among ``rows``)
    max_probability_error: float | None = None  # classification: max |onnx - sklearn| of a probability


class OnnxModel(BaseModel):
    """What ``manifest.json: onnx`` says of an ONNX bundle's graph and how it was made."""

    model_config = ConfigDict(extra="allow", frozen=True)

    input_name: str = Field(min_length=1)  # the one input (n, n_features); unused with input_per_feature
    # format 5: one (n, 1) input per feature, named as the feature: strings for the categorical features, numbers of
    # ``input_dtype`` for the others (skl2onnx's way to take a DataFrame's columns)
    input_per_feature: bool = False
    input_dtype: Literal["float64", "float32"]  # float32 only as a last resort, when no float64 graph passed
    # Each step of the graph and the dtype it computes in, as the estimator does (tools/model/gate/onnx_precision.py);
    # the graph casts to float32 before the named step (scikit-learn's decision trees and their ensembles).
    step_dtypes: dict[str, Literal["float64", "float32"]] | None = None
    cast_to_float32_before: str | None = None
    label_output: str | None = None  # classification: the label output's name
    probabilities_output: str | None = None  # classification with probabilities
    prediction_output: str | None = None  # regression
    opsets: dict[str, int]
    onnx_version: str
    skl2onnx_version: str
    parity: Parity


class Manifest(BaseModel):
    """What ``tools/model/package_model.py`` (``make model``) writes next to ``model.joblib``."""

    model_config = ConfigDict(extra="allow", frozen=True, protected_namespaces=())

    format: int
    runtime: Runtime = "sklearn"
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    task: Literal["regression", "classification"]
    feature_names: list[str] = Field(min_length=1)
    categorical: dict[str, Categorical] | None = None  # format 5: the features whose values are strings
    classes: list[int | float | str | bool] | None = None
    has_probabilities: bool = False
    artifact: str = "model.joblib"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    sklearn_version: str
    numpy_version: str
    scipy_version: str
    joblib_version: str
    xgboost_version: str | None = None  # a model of XGBoost (any runtime); checked by runtime xgboost
    lightgbm_version: str | None = None  # a model of LightGBM (any runtime); checked by runtime lightgbm
    onnxruntime_version: str | None = None  # runtime onnx
    onnx: OnnxModel | None = None  # runtime onnx
    runtime_choice: str | None = None  # why this runtime: "auto: ONNX passed the parity gate", or the fallback reason
    python_version: str
    trained_at: str
    metrics: dict[str, Any]
    estimator: str | None = None
    size_bytes: int | None = None
    reference: Reference

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: int) -> int:
        if value < OLDEST_FORMAT:
            raise ValueError(
                f"format {value} predates reference predictions (format {OLDEST_FORMAT}): "
                "re-package the model with `make model`"
            )
        if value > MANIFEST_FORMAT:
            raise ValueError(f"format {value} is newer than this function reads ({MANIFEST_FORMAT}): update it")
        return value

    @model_validator(mode="after")
    def _runtime_complete(self) -> Manifest:
        if self.runtime == "onnx" and self.format < 3:
            raise ValueError(f"runtime onnx needs manifest format 3, this one is format {self.format}")
        if self.runtime == "onnx" and (self.onnx is None or self.onnxruntime_version is None):
            raise ValueError("runtime onnx needs the onnx and onnxruntime_version fields")
        if (key := BOOSTING_LIBRARIES.get(self.runtime)) is not None:
            if self.format < 4:
                raise ValueError(f"runtime {self.runtime} needs manifest format 4, this one is format {self.format}")
            if getattr(self, key) is None:
                raise ValueError(f"runtime {self.runtime} needs the {key} field")
        if self.categorical is not None:
            if self.format < 5:
                raise ValueError(f"categorical features need manifest format 5, this one is format {self.format}")
            if unknown := sorted(set(self.categorical) - set(self.feature_names)):
                raise ValueError(f"categorical names features that feature_names does not list: {unknown}")
        return self

    @property
    def libraries(self) -> dict[str, str]:
        """The libraries whose versions this bundle's runtime must match: manifest key -> distribution."""
        return RUNTIME_LIBRARIES[self.runtime]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def has_categories(self) -> bool:
        """Whether some feature takes strings: rows are then object arrays (strings and floats), not float64."""
        return bool(self.categorical)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(model_dir: Path) -> Manifest:
    if not model_dir.is_dir():
        raise BundleError(f"model directory not found: {model_dir}")
    path = model_dir / MANIFEST_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"manifest invalid: {path} is missing") from None
    except OSError as exc:
        raise BundleError(f"manifest invalid: cannot read {path}: {exc.strerror}") from None
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise BundleError(f"manifest invalid: {path}: {problems}") from None


def verified_artifact(model_dir: Path) -> tuple[Manifest, Path]:
    """Steps 1-3: the manifest, and the artifact whose sha256 it vouches for (nothing unpickled)."""
    manifest = read_manifest(model_dir)
    artifact = model_dir / manifest.artifact
    if not artifact.is_file():
        raise BundleError(f"model artifact not found: {artifact}")
    try:
        actual = sha256_of(artifact)
    except OSError as exc:
        raise BundleError(f"cannot read {artifact}: {exc.strerror}") from None
    if actual != manifest.sha256:
        raise BundleError(
            f"sha256 mismatch: manifest says {manifest.sha256}, {artifact.name} has {actual}; "
            "refusing to unpickle a file the manifest does not vouch for"
        )
    return manifest, artifact


def check_versions(manifest: Manifest, runtime: dict[str, str], side: str = "runtime") -> None:
    """The libraries the bundle's runtime needs must be exactly those of ``runtime`` (manifest key -> version)."""
    mismatches = [
        f"{name} bundle={getattr(manifest, key)} {side}={runtime.get(key)}"
        for key, name in manifest.libraries.items()
        if getattr(manifest, key) != runtime.get(key)
    ]
    if mismatches:
        raise BundleError(
            "library version mismatch: "
            + "; ".join(mismatches)
            + " (rebuild the layer with the versions the model was saved with, or re-package the model)"
        )


def manifest_dict(manifest: Manifest) -> dict[str, Any]:
    return json.loads(manifest.model_dump_json())  # type: ignore[no-any-return]
