"""Which features take strings, read from the fitted encoders of the copy the packager serves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from predictor.model.manifest import Categorical
from tools.model.errors import PackagingError
from tools.model.feature_types import categorical_features, read_column, typed_rows
from tools.model.named_columns import positional

FRAME = pd.DataFrame({
    "income": [40.0, 55.0, 61.0, 38.0], "city": ["Lyon", "Paris", "Lyon", "Lille"], "code": [1, 2, 1, 2],
})  # fmt: skip
TARGET = [1.0, 2.0, 3.0, 4.0]
NAMES = list(FRAME.columns)


def served(prepare: ColumnTransformer) -> Pipeline:
    fitted = Pipeline([("prepare", prepare), ("model", LinearRegression())]).fit(FRAME, TARGET)
    return positional(fitted) or fitted


def test_strings_an_encoder_learnt_make_a_feature_categorical_integer_codes_stay_numbers() -> None:
    model = served(ColumnTransformer([
        ("numbers", StandardScaler(), ["income"]), ("strings", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ("codes", OneHotEncoder(), ["code"]),
    ]))  # fmt: skip
    found = categorical_features(model, NAMES)
    assert list(found) == ["city"]
    assert found["city"].categories == ["Lille", "Lyon", "Paris"]
    assert found["city"].unknown == "ignore"
    assert found["city"].encoder == "OneHotEncoder"


@pytest.mark.parametrize(
    ("encoder", "unknown"),
    [
        (OrdinalEncoder(), "error"),
        (OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), "ignore"),
        (OneHotEncoder(), "error"),
        (OneHotEncoder(handle_unknown="infrequent_if_exist"), "ignore"),
        (make_pipeline(SimpleImputer(strategy="most_frequent"), OrdinalEncoder()), "error"),
    ],
)
def test_what_the_encoder_does_with_an_unknown_category_is_recorded(encoder: object, unknown: str) -> None:
    model = served(ColumnTransformer([("strings", encoder, ["city"])], remainder="passthrough"))
    assert categorical_features(model, NAMES)["city"].unknown == unknown


def test_columns_chosen_by_a_selector_are_typed_too() -> None:
    model = served(ColumnTransformer([
        ("numbers", StandardScaler(), make_column_selector(dtype_include=np.number)),
        ("strings", OneHotEncoder(), make_column_selector(dtype_exclude=np.number)),
    ]))  # fmt: skip
    assert list(categorical_features(model, NAMES)) == ["city"]


def test_a_pipeline_that_encodes_every_column_types_every_feature() -> None:
    strings = FRAME[["city"]].assign(kind=["flat", "house", "flat", "flat"])
    model = make_pipeline(OneHotEncoder(), LinearRegression()).fit(strings, TARGET)
    assert list(categorical_features(model, ["city", "kind"])) == ["city", "kind"]


def test_a_model_without_encoders_has_no_categorical_features() -> None:
    model = make_pipeline(StandardScaler(), LinearRegression()).fit(FRAME[["income", "code"]], TARGET)
    assert categorical_features(model, ["income", "code"]) == {}


def test_drawn_rows_take_each_category_in_turn_and_csv_columns_keep_their_strings() -> None:
    model = served(ColumnTransformer([("strings", OneHotEncoder(), ["city"])], remainder="passthrough"))
    categorical = categorical_features(model, NAMES)
    rows = typed_rows(np.zeros((4, 3)), NAMES, categorical)
    assert rows.dtype == object
    assert sorted(set(rows[:, 1])) == ["Lille", "Lyon", "Paris"]
    assert model.predict(rows).shape == (4,)
    assert read_column(np.array(["Lyon", "Paris"]), "city", categorical).tolist() == ["Lyon", "Paris"]
    assert read_column(np.array([1, 2]), "code", categorical).dtype == np.float64


def booster_frame(city: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"income": [40.0, 55.0, 61.0, 38.0] * 10, "city": pd.Categorical(city * 10),
                         "code": [1, 2, 1, 2] * 10})  # fmt: skip


def test_a_boosters_pandas_category_columns_are_categorical_features_it_encodes_itself() -> None:
    from lightgbm import LGBMRegressor
    from xgboost import XGBRegressor

    frame, target = booster_frame(["Lyon", "Paris", "Lyon", "Lille"]), TARGET * 10
    lightgbm = LGBMRegressor(n_estimators=2, min_child_samples=2, verbose=-1).fit(frame, target)
    xgboost = XGBRegressor(n_estimators=2, enable_categorical=True).fit(frame, target)
    for model, unknown in ((lightgbm, "ignore"), (xgboost, "error")):
        (city,) = categorical_features(model, NAMES).items()
        assert city == ("city", Categorical(categories=["Lille", "Lyon", "Paris"], unknown=unknown,
                                            encoder=type(model).__name__, codes=True))  # fmt: skip


def test_a_booster_category_column_of_numbers_is_refused_with_what_to_do() -> None:
    from lightgbm import LGBMRegressor

    model = LGBMRegressor(n_estimators=2, min_child_samples=2, verbose=-1)
    model.fit(booster_frame([10, 20, 10, 30]), TARGET * 10)
    with pytest.raises(PackagingError, match=r"city has categories that are not strings \(10, 20, 30\).*rename_categ"):
        categorical_features(model, NAMES)


def test_lightgbm_categorical_features_that_are_not_pandas_categories_are_refused() -> None:
    from lightgbm import LGBMRegressor

    model = LGBMRegressor(n_estimators=2, min_child_samples=2, verbose=-1)
    model.fit(booster_frame(["Lyon", "Paris", "Lyon", "Lille"]), TARGET * 10, categorical_feature=["city", "code"])
    with pytest.raises(PackagingError, match="LightGBM treats 2 features as categorical, 1 of them pandas category"):
        categorical_features(model, NAMES)
