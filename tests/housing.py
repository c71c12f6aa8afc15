"""A housing table as a data scientist trains on it: numeric and string columns in a pandas DataFrame, pipelines that
select their columns by name. The price regressor one-hot encodes city and property type (unknown cities are served:
``handle_unknown="ignore"``) before gradient boosting; the price band classifier ordinal-encodes them (an unknown
category is an error) before HistGradientBoosting. Both are saved with joblib, with held-out CSVs for ``EVAL_CSV``.
The boosters (``boosters``) take the same table with its string columns as pandas ``category`` columns, which they
encode themselves: a LightGBM band classifier and an XGBoost price regressor (``enable_categorical=True``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from threadpoolctl import threadpool_limits

NUMERIC = ["income", "age", "rooms"]
CATEGORICAL = ["city", "property_type"]
FEATURES = [*NUMERIC, *CATEGORICAL]
CITIES = {"Paris": 50.0, "Lyon": 20.0, "Marseille": 10.0, "Lille": 0.0, "Nantes": 5.0}
PROPERTY_TYPES = {"flat": 0.0, "house": 15.0, "studio": -10.0}
BAND_THRESHOLD = 180.0  # a price above it is "high"


@dataclass(frozen=True)
class HousingFiles:
    regressor: Path  # price: ColumnTransformer(StandardScaler, OneHotEncoder(handle_unknown="ignore")) + GBR
    classifier: Path  # band: ColumnTransformer(passthrough, OrdinalEncoder()) + HistGradientBoostingClassifier
    price_csv: Path  # held-out rows with the target "price"
    band_csv: Path  # held-out rows with the target "band"


def table(n_rows: int, seed: int) -> Any:
    """A DataFrame of houses: income, age, rooms (numbers), city and property_type (strings), price and band."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "income": rng.normal(50, 10, n_rows).round(2),
        "age": rng.integers(1, 80, n_rows).astype(float),
        "rooms": rng.integers(1, 8, n_rows).astype(float),
        "city": rng.choice(list(CITIES), n_rows),
        "property_type": rng.choice(list(PROPERTY_TYPES), n_rows),
    })  # fmt: skip
    noise = rng.normal(0, 2, n_rows)
    frame["price"] = (
        2 * frame.income + 10 * frame.rooms - 0.2 * frame.age
        + frame.city.map(CITIES) + frame.property_type.map(PROPERTY_TYPES) + noise
    )  # fmt: skip
    frame["band"] = np.where(frame.price > BAND_THRESHOLD, "high", "low")
    return frame


def regressor() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prepare = ColumnTransformer([
        ("numbers", StandardScaler(), NUMERIC), ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)
    ])  # fmt: skip
    return Pipeline([("prepare", prepare), ("boost", GradientBoostingRegressor(n_estimators=60, random_state=0))])


def classifier() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    prepare = ColumnTransformer([("numbers", "passthrough", NUMERIC), ("categories", OrdinalEncoder(), CATEGORICAL)])
    return Pipeline([("prepare", prepare), ("boost", HistGradientBoostingClassifier(max_iter=40, random_state=0))])


def write_files(folder: Path) -> HousingFiles:
    """Both pipelines fitted on 800 rows of the table and saved, and 200 held-out rows for each target."""
    frame = table(1_000, seed=7)
    train, held_out = frame.iloc[:800], frame.iloc[800:]
    files = HousingFiles(
        folder / "price.joblib", folder / "band.joblib", folder / "price.csv", folder / "band.csv"
    )  # fmt: skip
    with threadpool_limits(limits=1):  # HistGradientBoosting's OpenMP threads: 5 s instead of 0.07 s on busy cores
        joblib.dump(regressor().fit(train[FEATURES], train.price), files.regressor)
        joblib.dump(classifier().fit(train[FEATURES], train.band), files.classifier)
    held_out[[*FEATURES, "price"]].to_csv(files.price_csv, index=False)
    held_out[[*FEATURES, "band"]].to_csv(files.band_csv, index=False)
    return files


def json_rows(frame: Any) -> list[list[Any]]:
    """The features of a DataFrame's rows as positional JSON rows: floats for the numbers, the strings as they are."""
    return [[v if isinstance(v, str) else float(v) for v in row] for row in frame[FEATURES].itertuples(index=False)]


def held_out(csv: Path) -> Any:
    """The held-out rows of ``csv`` as the DataFrame the pipeline was trained on (features only)."""
    import pandas as pd

    return pd.read_csv(csv)[FEATURES]


def with_categories(frame: Any) -> Any:
    """The table's string columns as pandas ``category`` columns of every city and property type (one of neither is
    missing): what XGBoost and LightGBM are fitted on when they encode categories themselves."""
    import pandas as pd

    def categories(column: Any, known: dict[str, float]) -> Any:
        return pd.Categorical(column.where(column.isin(list(known))), categories=sorted(known))

    return frame.assign(
        city=categories(frame.city, CITIES), property_type=categories(frame.property_type, PROPERTY_TYPES)
    )


@dataclass(frozen=True)
class BoosterFiles:
    lightgbm: Path  # band: LGBMClassifier on the category columns
    xgboost: Path  # price: XGBRegressor(enable_categorical=True) on the category columns


def boosters(folder: Path) -> BoosterFiles:
    """Both boosters fitted on the same 800 rows as the pipelines (write_files' held-out CSVs are theirs too)."""
    from lightgbm import LGBMClassifier
    from xgboost import XGBRegressor

    train = with_categories(table(1_000, seed=7).iloc[:800])
    files = BoosterFiles(folder / "band-lightgbm.joblib", folder / "price-xgboost.joblib")
    band = LGBMClassifier(n_estimators=40, min_child_samples=5, n_jobs=1, random_state=0, verbose=-1)
    joblib.dump(band.fit(train[FEATURES], train.band), files.lightgbm)
    price = XGBRegressor(n_estimators=60, enable_categorical=True, max_cat_to_onehot=1, n_jobs=1, random_state=0)
    joblib.dump(price.fit(train[FEATURES], train.price), files.xgboost)
    return files
