"""Reference predictions: the bundle's stored answers must be reproduced at load, within the tolerance."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from predictor.model.bundle import ModelBundle
from predictor.model.reference import ATOL, RTOL, Reference, compare, worst_numeric
from tests.utils import refusal, rewrite_manifest


def copy_of(bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle, tmp_path / "model"))


def edit_reference(model_dir: Path, edit: Any) -> None:
    """Change the stored reference (the artifact and its sha256 stay valid)."""
    rewrite_manifest(model_dir, lambda manifest: edit(manifest["reference"]))


def test_default_bundle_stores_held_out_rows_and_the_model_s_answers(
    default_bundle: Path, sklearn_bundle: Path, default_estimator: Any
) -> None:
    for bundle in (default_bundle, sklearn_bundle):
        reference = json.loads((bundle / "manifest.json").read_text())["reference"]
        assert reference["source"].startswith("the held-out test split: 32 of 89 rows")
        # scikit-learn's answers in both runtimes (reproducible training: exact in one process)
        assert default_estimator.predict(np.array(reference["rows"])).tolist() == reference["predictions"]
    sklearn_reference = json.loads((sklearn_bundle / "manifest.json").read_text())["reference"]
    assert (sklearn_reference["rtol"], sklearn_reference["atol"]) == (RTOL, ATOL)
    manifest = json.loads((default_bundle / "manifest.json").read_text())
    scale = manifest["onnx"]["parity"]["scale"]  # the ONNX bundle's tolerance is its parity gate's
    assert (manifest["reference"]["rtol"], manifest["reference"]["atol"]) == (1e-6, 1e-6 * scale)


def test_tampered_prediction_is_refused_naming_row_and_deviation(sklearn_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(sklearn_bundle, tmp_path)
    stored: list[float] = []

    def nudge(reference: dict[str, Any]) -> None:
        stored.append(reference["predictions"][7])
        reference["predictions"][7] *= 1 + 1e-6  # far above float64 noise, far below anything a user sees

    edit_reference(bundle, nudge)
    message = refusal(bundle)
    assert message.startswith("reference predictions not reproduced: row 7 prediction: served ")
    assert f"bundle says {stored[0] * (1 + 1e-6)!r}" in message
    assert "|difference| 0.000" in message
    assert "> tolerance" in message
    assert "(worst of 32 rows)" in message


def test_onnx_bundle_refuses_a_deviation_beyond_its_parity_tolerance(default_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(default_bundle, tmp_path)
    edit_reference(bundle, lambda r: r["predictions"].__setitem__(7, r["predictions"][7] * (1 + 1e-4)))
    message = refusal(bundle)
    assert message.startswith("reference predictions not reproduced: row 7 prediction: served ")
    assert "= 0.000143701 + 1e-06 x |stored|" in message  # atol = 1e-6 x the mean |prediction| (~144)


def test_deviation_within_the_tolerance_is_accepted(default_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(default_bundle, tmp_path)
    edit_reference(bundle, lambda r: r.update(predictions=[p * (1 + 1e-12) for p in r["predictions"]]))
    assert ModelBundle.load(bundle).manifest.reference.predictions[0] != 0


def test_the_bundle_s_own_tolerance_applies(default_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(default_bundle, tmp_path)
    edit_reference(bundle, lambda r: r.update(predictions=[p * (1 + 1e-6) for p in r["predictions"]], rtol=1e-5))
    ModelBundle.load(bundle)


def test_worst_row_is_named(default_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(default_bundle, tmp_path)

    def two_rows(reference: dict[str, Any]) -> None:
        reference["predictions"][3] += 1e-6
        reference["predictions"][20] += 1.0

    edit_reference(bundle, two_rows)
    assert "row 20 prediction" in refusal(bundle)


def test_classifier_labels_are_checked(iris_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(iris_bundle, tmp_path)
    labels = json.loads((bundle / "manifest.json").read_text())["reference"]["predictions"]
    assert {"setosa", "versicolor", "virginica"} <= set(labels)  # drawn around the scaler's mean: every class
    other = next(label for label in ("setosa", "versicolor") if label != labels[5])
    edit_reference(bundle, lambda r: r["predictions"].__setitem__(5, other))
    assert f"row 5 label: served {labels[5]!r}, bundle says {other!r} (labels differ)" in refusal(bundle)


def test_classifier_probabilities_are_checked(iris_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(iris_bundle, tmp_path)
    # the iris bundle is served by ONNX Runtime: probabilities agree within 1e-5 (its parity gate's)
    edit_reference(bundle, lambda r: r["probabilities"][2].__setitem__(0, r["probabilities"][2][0] + 1e-4))
    assert "not reproduced: row 2 probabilities: served [" in refusal(bundle)


def test_format_1_bundles_are_refused_with_the_fix(default_bundle: Path, tmp_path: Path) -> None:
    bundle = copy_of(default_bundle, tmp_path)
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["reference"]
    path.write_text(json.dumps({**manifest, "format": 1}))
    message = refusal(bundle)
    assert message.startswith("manifest invalid:")
    assert "format 1 predates reference predictions (format 2): re-package the model with `make model`" in message


def test_a_model_that_cannot_predict_its_rows_is_refused(
    default_bundle: Path, sklearn_bundle: Path, tmp_path: Path
) -> None:
    for name, bundle, reason in (
        ("onnx", default_bundle, "InvalidArgument: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions"),
        ("sklearn", sklearn_bundle, "ValueError: X has 3 features"),
    ):
        copy = Path(shutil.copytree(bundle, tmp_path / name))
        edit_reference(copy, lambda r: r.update(rows=[row[:3] for row in r["rows"]]))
        assert refusal(copy).startswith(f"reference predictions failed: {reason}")


def test_non_finite_output_never_agrees() -> None:
    assert worst_numeric([1.0, float("nan")], [1.0, 2.0]) is not None
    assert worst_numeric([float("inf")], [float("inf")]) is not None  # inf - inf is NaN: never trusted
    deviation = worst_numeric([1.0, 2.0], [1.0, 2.0, 3.0])
    assert deviation is not None
    assert deviation.what == "shape"


def test_tolerance_is_relative_with_an_absolute_floor() -> None:
    assert worst_numeric([1e6 * (1 + 5e-10)], [1e6]) is None
    assert worst_numeric([1e6 * (1 + 5e-9)], [1e6]) is not None
    assert worst_numeric([5e-13], [0.0]) is None  # near zero the absolute floor (1e-12) applies
    assert worst_numeric([5e-12], [0.0]) is not None


def test_labels_compare_exactly_including_their_type() -> None:
    reference = Reference(source="test", rows=[[0.0]], predictions=[1])
    assert compare(reference, [1], None, "classification") is None
    deviation = compare(reference, [True], None, "classification")
    assert deviation is not None
    assert deviation.what == "label"
