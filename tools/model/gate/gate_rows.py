"""The rows a bundle is proven on: its reference rows (stored in the manifest, reproduced at every cold start)
and the parity gate's rows.

- Reference rows: up to 32 rows of the eval data (``EVAL_CSV``, evenly spaced), else drawn uniformly within the
  training range the fitted estimator records; stored rounded to 6 significant digits (they are also the
  /docs examples).
- For a tree model, the threshold probes (tools/model/gate/tree_probes.py): two rows either side of each sampled split,
  stored exactly (a rounded probe is no longer next to its threshold), up to 512 rows within the manifest's
  budget, all of them compared by the gate.
- For a tree model whose preprocessing cannot be inverted, no probes: ``unprovable`` says why, and ``auto``
  wants real rows (EVAL_CSV) before it serves ONNX.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from tools.model.feature_types import KEEPS_COLUMNS, positions
from tools.model.gate import tree_probes
from tools.model.gate.tree_probes import Probes
from tools.model.gate.trees import split_pipeline, split_values, trees_of

REFERENCE_ROWS = 32  # rows whose outputs the bundle stores and the function reproduces at cold start
REFERENCE_VALUES = 20_000  # at most this many stored numbers: keeps manifest.json small for wide models
# Threshold probes stored as reference rows, at most: re-checked at every cold start, where each row costs (a
# 50-tree forest: 2,032 rows 20-55 ms, 544 rows 9-23 ms); the gate itself compares all of them at packaging.
STORED_PROBE_ROWS = 512

FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]
# Where reference rows come from when there is no data: (rows, a sentence for the manifest).
ReferenceRows = tuple[FloatMatrix, str]


def evenly_spaced(rows: FloatMatrix, source: str) -> ReferenceRows:
    """Up to the reference budget of ``rows``, spread evenly over the table (deterministic)."""
    count = min(len(rows), max(1, min(REFERENCE_ROWS, REFERENCE_VALUES // rows.shape[1])))
    picked = np.unique(np.linspace(0, len(rows) - 1, count).round().astype(int))
    return rows[picked], f"{source}: {len(picked)} of {len(rows)} rows, evenly spaced"


def scaler_range(scaler: Any) -> tuple[FloatMatrix, FloatMatrix, str] | None:
    """[low, high] of the features a fitted scaler saw: its data_min_..data_max_, or its mean_ +- 2 scale_ (a
    pipeline's last step, after steps that keep the values, such as a SimpleImputer)."""
    steps: list[tuple[str, Any]] = getattr(scaler, "steps", None) or []
    if steps and all(type(step).__name__ in KEEPS_COLUMNS for _, step in steps[:-1]):
        scaler = steps[-1][1]
    if getattr(scaler, "data_min_", None) is not None and getattr(scaler, "data_max_", None) is not None:
        low, high = np.asarray(scaler.data_min_), np.asarray(scaler.data_max_)
        return low, high, f"{type(scaler).__name__} data_min_..data_max_"
    if getattr(scaler, "mean_", None) is not None and getattr(scaler, "scale_", None) is not None:
        mean, scale = np.asarray(scaler.mean_), np.asarray(scaler.scale_)
        return mean - 2 * scale, mean + 2 * scale, f"{type(scaler).__name__} mean_ +- 2 scale_"
    return None


def column_ranges(transformer: Any, n_features: int) -> tuple[FloatMatrix, FloatMatrix, str] | None:
    """Per-feature [low, high] from the scalers of a ColumnTransformer that selects by position ([-1, 1] for the
    features no scaler saw), or None when none has a scaler."""
    low, high, sources = np.full(n_features, -1.0), np.full(n_features, 1.0), []
    for _, step, columns in getattr(transformer, "transformers_", []):
        found, selected = scaler_range(step), positions(columns, n_features)
        if found is None or selected is None:
            continue
        low[selected], high[selected] = found[0], found[1]
        sources.append(found[2])
    return (low, high, "ColumnTransformer " + ", ".join(sources)) if sources else None


def recorded_ranges(estimator: Any, n_features: int) -> tuple[FloatMatrix, FloatMatrix, str] | None:
    """Per-feature [low, high] of the training data as far as the fitted estimator records it."""
    steps = getattr(estimator, "steps", None)
    first = steps[0][1] if steps else estimator
    if (scaled := scaler_range(first) or column_ranges(first, n_features)) is not None:
        return scaled
    final = steps[-1][1] if steps else estimator
    found = trees_of(final)
    if found is None or first is not final:  # the trees' thresholds are in the preprocessing's output space
        return None
    low, high = np.full(n_features, np.inf), np.full(n_features, -np.inf)
    features, thresholds = split_values(found[0])
    np.minimum.at(low, features, thresholds)
    np.maximum.at(high, features, thresholds)
    unused = ~np.isfinite(low)
    low[unused], high[unused] = -1.0, 1.0
    pad = np.where(high > low, 0.1 * (high - low), np.maximum(0.5 * np.abs(low), 1e-3))  # one threshold: straddle it
    return low - pad, high + pad, f"{type(final).__name__} split thresholds, padded 10 %"


def drawn_rows(estimator: Any, n_features: int) -> ReferenceRows:
    """Rows drawn uniformly within the training range the estimator records (else [-1, 1])."""
    ranges = recorded_ranges(estimator, n_features)
    if ranges is None:
        print("package_model: the training range is unknown: reference rows are drawn in [-1, 1] "
              "(EVAL_CSV=... gives rows from real data)", file=sys.stderr)  # fmt: skip
        ranges = (np.full(n_features, -1.0), np.full(n_features, 1.0), "training range unknown: [-1, 1]")
    low, high, where = ranges
    count = max(1, min(REFERENCE_ROWS, REFERENCE_VALUES // n_features))
    rows = np.random.default_rng(0).uniform(low, high, size=(count, n_features))
    return rows, f"drawn uniformly within the training range ({where})"


@dataclass(frozen=True)
class ProvingRows:
    """The reference rows, the threshold probes (``stored`` of them in the manifest), or why there are none."""

    base: ReferenceRows
    probes: Probes | None = None
    stored: np.ndarray | None = None  # indices of the probe rows the manifest stores
    unprovable: str | None = None  # a tree model whose preprocessing cannot be inverted: why

    @property
    def stored_probes(self) -> FloatMatrix:
        if self.probes is None or self.stored is None:
            return np.empty((0, self.base[0].shape[1]))
        return np.asarray(self.probes.rows[self.stored], dtype=np.float64)

    @property
    def unstored_probes(self) -> FloatMatrix:
        if self.probes is None or self.stored is None:
            return np.empty((0, self.base[0].shape[1]))
        return np.delete(self.probes.rows, self.stored, axis=0)


def stored_pairs(probes: Probes, budget_rows: int) -> np.ndarray:
    """Indices of the probe rows to store: whole pairs, evenly spread over the splits, within the budget."""
    pairs = len(probes.splits)
    keep = min(pairs, max(0, budget_rows // 2))
    chosen = np.unique(np.linspace(0, pairs - 1, keep).round().astype(int)) if keep else np.empty(0, dtype=int)
    return np.sort(np.concatenate([2 * chosen, 2 * chosen + 1]))


def proving_rows(estimator: Any, base: ReferenceRows) -> ProvingRows:
    """The reference rows and, for a tree model, its threshold probes (none through an encoder of strings)."""
    if base[0].dtype == object:
        if trees_of(split_pipeline(estimator)[2]) is None:
            return ProvingRows(base)
        return ProvingRows(base, unprovable=(
            "the trees' split thresholds cannot be probed through the encoder of its categorical features: only "
            "real rows can prove the graph; give EVAL_CSV=... EVAL_TARGET=... (or RUNTIME=onnx)"
        ))  # fmt: skip
    try:
        probes = tree_probes.probe_rows(estimator, base[0])
    except tree_probes.Uninvertible as exc:
        return ProvingRows(base, unprovable=(
            f"the trees' split thresholds cannot be probed through the preprocessing ({exc}): only real rows can "
            "prove the graph; give EVAL_CSV=... EVAL_TARGET=... (or RUNTIME=onnx)"
        ))  # fmt: skip
    if probes is None:
        return ProvingRows(base)
    width = base[0].shape[1]
    budget_rows = min(STORED_PROBE_ROWS, max(0, REFERENCE_VALUES // width - len(base[0])))
    return ProvingRows(base, probes, stored_pairs(probes, budget_rows))
