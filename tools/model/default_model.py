"""The default model: a RidgeCV pipeline trained reproducibly on scikit-learn's bundled diabetes data."""

from __future__ import annotations

from typing import Any

import numpy as np

from tools.model.gate.gate_rows import ReferenceRows


def train_default() -> tuple[Any, list[str], dict[str, Any], dict[str, Any], ReferenceRows]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_diabetes()
    x, y = np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.float64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    cv_r2 = cross_val_score(model, x_train, y_train, cv=5, scoring="r2")
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)
    metrics = {
        "test_r2": round(float(r2_score(y_test, predicted)), 6),
        "test_mae": round(float(mean_absolute_error(y_test, predicted)), 6),
        "test_rmse": round(float(np.sqrt(mean_squared_error(y_test, predicted))), 6),
        "cv5_r2_mean": round(float(cv_r2.mean()), 6),
        "n_train": len(y_train),
        "n_test": len(y_test),
    }
    dataset = {"name": "sklearn.datasets.load_diabetes", "split": "train_test_split(test_size=0.2, random_state=42)"}
    return model, list(data.feature_names), metrics, dataset, (x_test, "the held-out test split")
