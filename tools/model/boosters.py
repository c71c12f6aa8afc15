"""Boosters saved with their library's own ``save_model``: XGBoost ``.json`` / ``.ubj``, LightGBM text ``.txt``.

Each is loaded by its own library and handed to the packager as that library's scikit-learn estimator
(``XGBRegressor``/``XGBClassifier`` through XGBoost's own ``load_model``; ``LGBMRegressor``/``LGBMClassifier``
around the loaded ``Booster``), so that it converts, is gated and is served like a pickled one. The task comes
from the booster's objective: regression objectives -> regression; ``binary:logistic`` / ``binary`` ->
classes ``[0, 1]``; ``multi:softprob`` / ``multiclass`` -> classes ``0..k-1``. Anything else (ranking,
survival, several targets, a file of neither library) is refused with the reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

SUFFIXES = {".json": "XGBoost", ".ubj": "XGBoost", ".txt": "LightGBM"}
LIGHTGBM_REGRESSION = {"regression", "regression_l1", "huber", "fair", "poisson", "quantile", "mape", "gamma",
                       "tweedie"}  # fmt: skip


class BoosterError(ValueError):
    """The file is not a booster this service can serve: the message says why."""


def load(path: Path) -> Any:
    """The booster in ``path`` as its library's scikit-learn estimator."""
    library = SUFFIXES[path.suffix.lower()]
    return xgboost_estimator(path) if library == "XGBoost" else lightgbm_estimator(path)


def first_line(exc: Exception) -> str:
    """The library's reason, without XGBoost's "[12:00:00] /path/file.h:88: " prefix."""
    lines = str(exc).strip().splitlines()
    return re.sub(r"^\[[\d:]+\] [^ ]+:\d+: ", "", lines[0])[:200] if lines else type(exc).__name__


def xgboost_estimator(path: Path) -> Any:
    import xgboost

    try:
        booster = xgboost.Booster(model_file=str(path))
    except xgboost.core.XGBoostError as exc:
        raise BoosterError(f"{path.name} is not an XGBoost model saved with save_model: {first_line(exc)}") from None
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    if int(learner["learner_model_param"].get("num_target", "1")) > 1:
        raise BoosterError(f"{path.name}: an XGBoost model with several targets is not served (one target only)")
    if objective.startswith("reg:"):
        estimator: Any = xgboost.XGBRegressor()
    elif objective in {"binary:logistic", "multi:softprob"}:
        estimator = xgboost.XGBClassifier()
    else:
        raise BoosterError(
            f"{path.name}: XGBoost objective {objective} is not served: regression (reg:*), binary:logistic and "
            "multi:softprob are"
        )
    estimator.load_model(str(path))
    return estimator


def lightgbm_estimator(path: Path) -> Any:
    import lightgbm

    try:
        booster = lightgbm.Booster(model_file=str(path))
    except lightgbm.basic.LightGBMError as exc:
        raise BoosterError(
            f"{path.name} is not a LightGBM text model saved with save_model: {first_line(exc)}"
        ) from None
    dump = booster.dump_model()  # the whole model as JSON: read once
    objective = dump["objective"].split()[0]
    classes = dump["num_class"] if objective == "multiclass" else 2
    if objective in LIGHTGBM_REGRESSION:
        estimator: Any = lightgbm.LGBMRegressor()
    elif objective in {"binary", "multiclass"}:
        estimator = lightgbm.LGBMClassifier()
        as_classifier(estimator, int(classes))
    else:
        raise BoosterError(
            f"{path.name}: LightGBM objective {objective} is not served: regression objectives, binary and "
            "multiclass are"
        )
    estimator._objective = objective  # what fit would have recorded: predict passes it on with num_class
    return with_booster(estimator, booster)


def as_classifier(estimator: Any, n_classes: int) -> None:
    """What LGBMClassifier.fit records of the labels, for the classes 0..k-1 a booster predicts."""
    from lightgbm.sklearn import _LGBMLabelEncoder  # type: ignore[attr-defined]

    estimator._le = _LGBMLabelEncoder().fit(np.arange(n_classes))
    estimator._classes = estimator._le.classes_
    estimator._n_classes = n_classes


def with_booster(estimator: Any, booster: Any) -> Any:
    """What LGBMModel.fit records of its booster (lightgbm 4.7, pinned): enough for predict and the converter."""
    names = list(booster.feature_name())
    estimator._Booster = booster
    estimator.fitted_ = True
    estimator._n_features = estimator._n_features_in = booster.num_feature()
    # LightGBM names unnamed columns Column_0, Column_1, ...: those are no names of the user's
    estimator._fitted_with_feature_names = names != [f"Column_{i}" for i in range(len(names))]
    return estimator
