"""Through the production handler: a bundle whose stored answers this runtime does not reproduce is
refused at cold start like a hash mismatch (/health 503, /predict never serves)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import import_app, load_event, production_handler


def test_bundle_whose_reference_outputs_differ_is_never_served(default_bundle: Path, tmp_path: Path) -> None:
    bundle = Path(shutil.copytree(default_bundle, tmp_path / "model"))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["reference"]["predictions"][11] += 0.001  # model.joblib untouched: its sha256 still matches
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    handler = production_handler(import_app(bundle))

    health = handler(load_event("rest-health"))
    assert health["statusCode"] == 503
    detail = json.loads(health["body"])["detail"]
    assert detail.startswith("reference predictions not reproduced: row 11 prediction: served ")
    assert "|difference| 0.001 > tolerance" in detail

    for name in ("rest-predict-single", "rest-predict-batch", "http-predict-single", "alb-predict-single"):
        response = handler(load_event(name))
        assert response["statusCode"] == 503, name
        assert json.loads(response["body"])["detail"] == f"model not loaded: {detail}"
