"""Rows on both sides of a tree model's split thresholds, in the request's feature space: the parity gate's probes.

A converted tree ensemble agrees with the estimator everywhere except, possibly, next to a threshold, where one
rounding step of difference sends a row down the other branch. Rows drawn at random almost never land there;
these do. For each sampled split (tree ``t``, node ``n``: ``x[j] <= threshold``) two rows are built that reach
the node (every ancestor's condition holds) and fall on either side of its threshold by the smallest step the
estimator can tell apart: the last float32 (or float64, for HistGradientBoosting) at or below the threshold,
and the next one above, as the estimator sees its input.

The trees see the pipeline's preprocessing output, the request holds the raw features: the rows are mapped back
through the preprocessing when it is invertible column by column (scalers, passthrough, reordered or dropped
columns: each tree input an affine function of one request feature, found by evaluating the preprocessing
itself), and the last step is a bisection on the request value with scikit-learn's own ``transform``, so the
row sits at the threshold as the estimator computes it. Other preprocessing (encoders, PCA, any non-linear
step) cannot be inverted: ``Uninvertible`` says which, and ``make model`` asks for real rows (EVAL_CSV).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tools.model.gate.trees import Tree, split_pipeline, trees_of

PROBED_SPLITS = 1_000  # at most this many splits probed (two rows each); sampled with a fixed seed beyond
BISECTION_STEPS = 80  # float64 has 64 bits: enough to reach adjacent request values
LINEAR_RTOL = 1e-9  # a preprocessing output is affine in one input when it agrees with the fit this closely

FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]


class Uninvertible(ValueError):
    """The preprocessing cannot be inverted column by column: the message names the step."""


@dataclass(frozen=True)
class Split:
    tree: int
    node: int
    feature: int  # the tree input's column
    threshold: float
    low: np.ndarray  # per tree input: the row must be > low ...
    high: np.ndarray  # ... and <= high to reach this node


@dataclass(frozen=True)
class Probes:
    """Probe rows (two per split, left side first) and what they cover."""

    rows: FloatMatrix
    splits: list[Split]
    total_splits: int
    compare_dtype: type
    strict: bool = False  # the trees send a row left when its value is < the threshold (else <=)

    @property
    def summary(self) -> str:
        sampled = "" if len(self.splits) == self.total_splits else f" (sampled of {self.total_splits:,})"
        return f"{len(self.rows):,} rows on both sides of {len(self.splits):,} split thresholds{sampled}"


def all_splits(trees: list[Tree]) -> list[tuple[int, int]]:
    return [(t, int(n)) for t, tree in enumerate(trees) for n in np.flatnonzero(tree.left >= 0)]


def path_box(tree: Tree, node: int, parents: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The tree-input box a row must lie in to reach ``node``: low < x <= high, per column."""
    low, high = np.full(width, -np.inf), np.full(width, np.inf)
    child, parent = node, parents[node]
    while parent >= 0:
        feature, threshold = tree.feature[parent], tree.threshold[parent]
        if tree.left[parent] == child:
            high[feature] = min(high[feature], threshold)
        else:
            low[feature] = max(low[feature], threshold)
        child, parent = parent, parents[parent]
    return low, high


def sample_splits(trees: list[Tree], width: int, limit: int = PROBED_SPLITS) -> tuple[list[Split], int]:
    """Up to ``limit`` splits, chosen evenly at random with a fixed seed, each with its path box."""
    every = all_splits(trees)
    chosen = every
    if len(every) > limit:
        picked = np.sort(np.random.default_rng(0).choice(len(every), size=limit, replace=False))
        chosen = [every[i] for i in picked]
    parents = [tree.parents() for tree in trees]
    splits = []
    for t, n in chosen:
        tree = trees[t]
        low, high = path_box(tree, n, parents[t], width)
        splits.append(Split(t, n, int(tree.feature[n]), float(tree.threshold[n]), low, high))
    return splits, len(every)


@dataclass(frozen=True)
class Affine:
    """The preprocessing, column by column: tree input ``j`` = ``offset[j] + slope[j] * request[source[j]]``."""

    source: np.ndarray
    offset: np.ndarray
    slope: np.ndarray
    transform: Any  # the preprocessing's own transform (identity when there is none)

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray((values - self.offset) / self.slope, dtype=np.float64)


def preprocessing(estimator: Any) -> Any:
    from sklearn.pipeline import Pipeline

    before = split_pipeline(estimator)[0]
    return Pipeline(before) if before else None


def affine_columns(estimator: Any, center: np.ndarray, spread: np.ndarray, width: int) -> Affine:
    """Read the preprocessing as per-column affine maps by evaluating it; Uninvertible when it is not."""
    pre = preprocessing(estimator)
    n = len(center)
    if pre is None:
        return Affine(np.arange(n), np.zeros(n), np.ones(n), lambda rows: rows)

    def transform(rows: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings(), np.errstate(all="ignore"):  # NaN from log(-1) is judged below
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(pre.transform(rows), dtype=np.float64)

    steps = ", ".join(type(step).__name__ for _, step in pre.steps)
    step = np.where(spread > 0, spread, 1.0) / 4
    points = np.vstack([center, center + np.diag(step), center + 2 * np.diag(step)])
    try:
        out = transform(points)
    except Exception as exc:  # noqa: BLE001 - any failure means it cannot be read as affine maps
        raise Uninvertible(f"{steps} cannot transform rows off its training values: {type(exc).__name__}") from None
    if out.shape[1] != width:
        raise Uninvertible(f"{steps} gives {out.shape[1]} columns, the trees take {width}")
    base, once, twice = out[0], out[1 : n + 1] - out[0], out[n + 1 :] - out[0]
    moved = np.abs(once) > 1e-12 * (np.abs(base) + 1)  # [input i, output j]: output j moves with input i
    if not (moved.sum(axis=0) == 1).all() or (moved.sum(axis=1) > 1).any():
        raise Uninvertible(f"{steps} mixes or repeats columns (each tree input must come from one feature)")
    source = np.argmax(moved, axis=0)
    columns = np.arange(width)
    slope = once[source, columns] / step[source]
    if not np.allclose(twice[source, columns], 2 * once[source, columns], rtol=LINEAR_RTOL, atol=0):
        raise Uninvertible(f"{steps} is not affine in its inputs (only scalers, passthrough and column selection are)")
    offset = base - slope * center[source]
    return Affine(source, offset, slope, transform)


def inside(low: np.ndarray, high: np.ndarray, preferred: np.ndarray) -> np.ndarray:
    """A tree-input value in (low, high] per column: the preferred one when it is inside, else an inner point."""
    with np.errstate(invalid="ignore"):
        middle = low + (high - low) / 2
        above_low = low + 0.01 * np.maximum(np.abs(low), 1.0)
        below_high = high - 0.01 * np.maximum(np.abs(high), 1.0)
    inner = np.where(np.isfinite(low), np.where(np.isfinite(high), middle, above_low), below_high)
    return np.where((preferred > low) & (preferred <= high), preferred, inner)


def sides(affine: Affine, rows: np.ndarray, splits: list[Split], compare: type,
          strict: bool) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For each row (reaching its split's node), the two request values of the split's feature that put the
    tree input last on the left and first on the right of the threshold, as the estimator computes it
    (bisection)."""
    index = np.arange(len(rows))
    feature = np.array([s.feature for s in splits])
    threshold = np.array([s.threshold for s in splits])
    column = affine.source[feature]
    up = affine.slope[feature] > 0

    def goes_left(values: np.ndarray) -> np.ndarray:
        trial = rows.copy()
        trial[index, column] = values
        seen = affine.transform(trial)[index, feature].astype(compare).astype(np.float64)
        return np.asarray(seen < threshold if strict else seen <= threshold)

    guess = (threshold - affine.offset[feature]) / affine.slope[feature]
    reach = np.maximum(np.abs(guess), 1.0) * 1e-4
    lo, hi = np.where(up, guess - reach, guess + reach), np.where(up, guess + reach, guess - reach)
    for _ in range(8):  # widen until lo goes left and hi goes right
        bad_lo, bad_hi = ~goes_left(lo), goes_left(hi)
        if not (bad_lo.any() or bad_hi.any()):
            break
        reach *= 16
        lo = np.where(bad_lo, np.where(up, guess - reach, guess + reach), lo)
        hi = np.where(bad_hi, np.where(up, guess + reach, guess - reach), hi)
    for _ in range(BISECTION_STEPS):
        middle = lo + (hi - lo) / 2
        left = goes_left(middle)
        lo, hi = np.where(left, middle, lo), np.where(left, hi, middle)
    return lo, hi


def probe_rows(estimator: Any, base_rows: FloatMatrix, limit: int = PROBED_SPLITS) -> Probes | None:
    """Two rows per sampled split of the final tree model, in the request's feature space; None for a model
    that is not a tree ensemble; Uninvertible when the preprocessing cannot be mapped back."""
    final = split_pipeline(estimator)[2]
    found = trees_of(final)
    if found is None:
        return None
    trees, compare = found
    width = int(max(np.max(tree.feature) for tree in trees) + 1)
    width = max(width, int(getattr(final, "n_features_in_", width)))
    center = np.median(base_rows, axis=0)
    spread = np.ptp(base_rows, axis=0)
    affine = affine_columns(estimator, center, spread, width)
    splits, total = sample_splits(trees, width, limit)
    if not splits:
        return Probes(np.empty((0, len(center))), [], 0, compare)
    base = affine.transform(center[None, :])[0]
    rows = np.tile(center, (len(splits), 1))
    for i, split in enumerate(splits):
        chosen = inside(split.low, split.high, base)
        rows[i, affine.source] = affine.inverse(chosen)
    strict = trees[0].strict
    left, right = sides(affine, rows, splits, compare, strict)
    column = affine.source[[s.feature for s in splits]]
    index = np.arange(len(splits))
    below, above = rows.copy(), rows.copy()
    below[index, column], above[index, column] = left, right
    paired = np.empty((2 * len(splits), rows.shape[1]))
    paired[0::2], paired[1::2] = below, above
    return Probes(paired, splits, total, compare, strict)
