"""The parity gate's threshold probes (tools/model/gate/tree_probes.py): rows that reach each sampled split and fall on
either side of its threshold by the smallest step the estimator tells apart, mapped back through invertible
preprocessing; refused (Uninvertible) through preprocessing that cannot be inverted."""

from __future__ import annotations

import numpy as np
import pytest
from lightgbm import LGBMRegressor
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from xgboost import XGBRegressor

from tests.zoo import housing
from tools.model.gate import tree_probes
from tools.model.gate.tree_probes import Probes, Uninvertible, probe_rows

X, Y = (part[:3000] for part in housing())


def assert_straddles(probes: Probes, tree_inputs: np.ndarray, compare: type, strict: bool = False) -> None:
    """Each pair: the split's tree input at or below its threshold in the first row, above it in the second, as
    close as they can be: a few steps of the dtype the estimator compares in apart, or the request values
    themselves adjacent numbers (a scaler's slope can make one request step many steps in the trees)."""
    seen = tree_inputs.astype(compare).astype(np.float64)
    for i, split in enumerate(probes.splits):
        below, above = seen[2 * i, split.feature], seen[2 * i + 1, split.feature]
        if strict:  # XGBoost: left when x < split
            assert below < split.threshold <= above, (i, below, split.threshold, above)
        else:
            assert below <= split.threshold < above, (i, below, split.threshold, above)
        changed = np.flatnonzero(probes.rows[2 * i] != probes.rows[2 * i + 1])
        assert len(changed) == 1
        left, right = probes.rows[2 * i, changed[0]], probes.rows[2 * i + 1, changed[0]]
        adjacent = np.nextafter(left, right) == right
        assert adjacent or above - below <= 4 * np.spacing(compare(abs(split.threshold)))


def test_a_scaler_and_forest_are_probed_where_scikit_learn_casts_to_float32() -> None:
    model = make_pipeline(StandardScaler(), RandomForestRegressor(n_estimators=10, random_state=0)).fit(X, Y)
    probes = probe_rows(model, X[:32])
    assert probes is not None
    assert probes.compare_dtype is np.float32
    assert len(probes.splits) == tree_probes.PROBED_SPLITS < probes.total_splits
    assert len(probes.rows) == 2 * len(probes.splits)
    assert_straddles(probes, model[:-1].transform(probes.rows), np.float32)
    forest, inputs = model[-1], model[:-1].transform(probes.rows).astype(np.float32)
    reached = [split.node in forest.estimators_[split.tree].decision_path(inputs[r : r + 1]).indices
               for r, split in zip(range(len(probes.rows)), np.repeat(probes.splits, 2), strict=True)]  # fmt: skip
    assert np.mean(reached) > 0.95  # each row reaches the node it probes (but for boxes thinner than a step)


def test_hist_gradient_boosting_is_probed_in_float64_through_reordered_columns() -> None:
    columns = ColumnTransformer([("scale", StandardScaler(), [0, 2]), ("range", MinMaxScaler(), [3, 4])],
                                remainder="passthrough")  # fmt: skip
    model = make_pipeline(columns, HistGradientBoostingRegressor(max_iter=20, random_state=0)).fit(X, Y)
    probes = probe_rows(model, X[:32])
    assert probes is not None
    assert probes.compare_dtype is np.float64
    assert len(probes.splits) == probes.total_splits  # fewer than the limit: every split
    assert_straddles(probes, model[:-1].transform(probes.rows), np.float64)


def test_xgboost_is_probed_on_both_sides_of_its_strict_float32_splits() -> None:
    model = make_pipeline(MinMaxScaler(), XGBRegressor(n_estimators=20, random_state=0)).fit(X, Y)
    probes = probe_rows(model, X[:32])
    assert probes is not None
    assert (probes.compare_dtype, probes.strict) == (np.float32, True)
    assert_straddles(probes, model[:-1].transform(probes.rows), np.float32, strict=True)


def test_lightgbm_is_probed_in_float64_on_its_own_thresholds() -> None:
    model = make_pipeline(StandardScaler(), LGBMRegressor(n_estimators=20, random_state=0, verbose=-1)).fit(X, Y)
    probes = probe_rows(model, X[:32])
    assert probes is not None
    assert (probes.compare_dtype, probes.strict) == (np.float64, False)
    assert_straddles(probes, model[:-1].transform(probes.rows), np.float64)


def test_a_model_without_trees_has_no_probes() -> None:
    assert probe_rows(make_pipeline(StandardScaler(), Ridge()).fit(X, Y), X[:32]) is None


@pytest.mark.parametrize(
    ("step", "why"),
    [(PCA(3), "mixes or repeats columns"),
     (ColumnTransformer([("code", OneHotEncoder(), [2])], remainder="passthrough"),
      "cannot transform rows off its training values"),
     (ColumnTransformer([("code", OneHotEncoder(handle_unknown="ignore"), [2])], remainder="passthrough"),
      "gives 13 columns, the trees take 13|mixes"),
     (FunctionTransformer(np.cbrt), "is not affine")],
)  # fmt: skip
def test_preprocessing_that_cannot_be_inverted_is_named(step: object, why: str) -> None:
    model = make_pipeline(step, RandomForestRegressor(n_estimators=3, random_state=0)).fit(X, Y)
    with pytest.raises(Uninvertible, match=why):
        probe_rows(model, X[:32])
