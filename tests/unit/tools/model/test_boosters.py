"""Boosters saved with their library's own save_model (tools/model/boosters.py), through `package-model`: what is
refused, with exit status 2 and one line that says why, and where the feature names come from. (The served
answers of XGBoost .json and LightGBM .txt boosters are the zoo's: tests/zoo.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMRanker, LGBMRegressor
from xgboost import XGBRanker, XGBRegressor

from tests.zoo import housing, package

X, Y = (part[:2000] for part in housing())
NAMES = ["income", "age", "rooms", "lat", "lon"]


def refused(path: Path, *args: str) -> str:
    code, _, err = package(["--estimator", str(path), *args, "--out", str(path.parent / "model")])
    assert code == 2, err
    assert not (path.parent / "model").exists()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [("not-xgboost.json", '{"a": 1}', "not-xgboost.json is not an XGBoost model saved with save_model: "),
     ("not-lightgbm.txt", "tree\nversion=v4\n",
      "not-lightgbm.txt is not a LightGBM text model saved with save_model: "),
     ("empty.ubj", "", "empty.ubj is not an XGBoost model saved with save_model: ")],
)  # fmt: skip
def test_a_file_of_neither_library_is_refused(tmp_path: Path, name: str, content: str, why: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert refused(path, "--feature-names", ",".join(NAMES)).startswith(f"package_model: error: {why}")


def test_objectives_the_service_cannot_serve_are_refused(tmp_path: Path) -> None:
    groups = np.full(100, 20)
    XGBRanker(n_estimators=3).fit(X, np.arange(2000) % 4, group=groups).get_booster().save_model(tmp_path / "r.json")
    message = refused(tmp_path / "r.json", "--feature-names", ",".join(NAMES))
    assert "XGBoost objective rank:" in message
    assert "is not served: regression (reg:*), binary:logistic and multi:softprob are" in message
    ranker = LGBMRanker(n_estimators=3, verbose=-1).fit(X, np.arange(2000) % 4, group=groups)
    ranker.booster_.save_model(tmp_path / "r.txt")
    assert "LightGBM objective lambdarank is not served" in refused(
        tmp_path / "r.txt", "--feature-names", ",".join(NAMES)
    )


def test_an_xgboost_model_of_several_targets_is_refused(tmp_path: Path) -> None:
    XGBRegressor(n_estimators=3).fit(X, np.column_stack([Y, -Y])).get_booster().save_model(tmp_path / "two.json")
    assert "several targets is not served" in refused(tmp_path / "two.json", "--feature-names", ",".join(NAMES))


def test_feature_names_come_from_the_booster_else_from_feature_names(tmp_path: Path) -> None:
    XGBRegressor(n_estimators=3).fit(X, Y).get_booster().save_model(tmp_path / "plain.json")
    message = refused(tmp_path / "plain.json")
    assert message.endswith("plain.json records no feature names: give them, in the booster's column order "
                            "(FEATURE_NAMES=a,b,c)")  # fmt: skip
    frame = pd.DataFrame(X, columns=NAMES)
    LGBMRegressor(n_estimators=5, verbose=-1).fit(frame, Y).booster_.save_model(tmp_path / "named.txt")
    code, _, err = package(["--estimator", str(tmp_path / "named.txt"), "--out", str(tmp_path / "model")])
    assert code == 0, err
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert (manifest["feature_names"], manifest["runtime"]) == (NAMES, "onnx")
