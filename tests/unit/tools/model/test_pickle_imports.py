"""What unpickling a model imports, as the packager lists it (tools/model/pickle_imports.py)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from tools.build.model_layer import unshipped
from tools.model.pickle_imports import modules_referenced


def test_classes_functions_and_ufuncs_are_listed_by_module() -> None:
    x = np.abs(np.random.default_rng(0).normal(size=(20, 3)))
    model = make_pipeline(FunctionTransformer(np.log1p), FunctionTransformer(math.sqrt), LinearRegression())
    model.steps[0][1].fit(x)
    referenced = modules_referenced(model)
    assert referenced["sklearn.pipeline"] == {"Pipeline"}
    assert {"log1p"} <= referenced["numpy"]  # a ufunc, pickled by name
    assert referenced["math"] == {"sqrt"}
    assert unshipped(referenced, "sklearn") == []  # scikit-learn, numpy and the standard library ship


def test_large_arrays_are_walked_without_keeping_the_pickle() -> None:
    coefficients = np.ones(5_000_000)  # 40 MB: pickle hands it over out of band (a PickleBuffer)
    assert "numpy" in modules_referenced({"coefficients": coefficients})


def test_modules_outside_the_layer_are_named() -> None:
    assert unshipped({"my_features": {"LogScaler"}, "pandas.core.frame": {"DataFrame"}}, "sklearn") == [
        "my_features",
        "pandas.core.frame",  # in the dev venv, not in the layer
    ]
    assert unshipped({"sklearn.pipeline": {"Pipeline"}}, "onnx") == ["sklearn.pipeline"]
