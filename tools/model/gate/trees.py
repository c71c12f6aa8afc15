"""The tree models the packager knows, and their trees as plain arrays, read from each library's own structures:
scikit-learn's decision trees and their ensembles, HistGradientBoosting, XGBoost and LightGBM. What each
compares its inputs in (float32 or float64, ``<`` or ``<=``) is what the ONNX graph must reproduce
(tools/model/gate/onnx_precision.py) and what the parity gate's probes straddle (tools/model/gate/tree_probes.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.tree import BaseDecisionTree

HIST_GRADIENT_BOOSTING = {"HistGradientBoostingRegressor", "HistGradientBoostingClassifier"}


@dataclass(frozen=True)
class Tree:
    """One decision tree as arrays indexed by node; leaves have ``left == -1``. A row goes left when its value
    is ``<= threshold`` (scikit-learn), or ``< threshold`` when ``strict`` (XGBoost)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    strict: bool = False

    def parents(self) -> np.ndarray:
        parent = np.full(len(self.feature), -1)
        internal = np.flatnonzero(self.left >= 0)
        parent[self.left[internal]] = internal
        parent[self.right[internal]] = internal
        return parent


def split_values(trees: list[Tree]) -> tuple[np.ndarray, np.ndarray]:
    """Every split of the trees: its feature (tree input column) and threshold, leaves left out."""
    features = np.concatenate([tree.feature[tree.left >= 0] for tree in trees])
    thresholds = np.concatenate([tree.threshold[tree.left >= 0] for tree in trees])
    return features, thresholds


def split_pipeline(estimator: Any) -> tuple[list[tuple[str, Any]], str, Any]:
    """(the steps before the final estimator, the final step's name, the final estimator)."""
    steps = getattr(estimator, "steps", None)
    if steps:
        name, final = steps[-1]
        return list(steps[:-1]), name, final
    return [], type(estimator).__name__.lower(), estimator


def is_xgboost(final: Any) -> bool:
    """XGBoost's scikit-learn estimators (XGBRegressor, XGBClassifier): converted by onnxmltools."""
    return type(final).__module__.partition(".")[0] == "xgboost"


def casts_to_float32(final: Any) -> bool:
    """scikit-learn's decision trees and the ensembles made only of them (forests, extra trees, classic gradient
    boosting, bagging of trees) cast their input to float32 before comparing it with a threshold; so does
    XGBoost (its DMatrix holds float32)."""
    if is_xgboost(final):
        return True
    parts = np.ravel(getattr(final, "estimators_", [final]))
    return bool(len(parts)) and all(isinstance(part, BaseDecisionTree) for part in parts)


def is_hist_gradient_boosting(final: Any) -> bool:
    return type(final).__name__ in HIST_GRADIENT_BOOSTING


def is_lightgbm(final: Any) -> bool:
    """LightGBM's scikit-learn estimators (LGBMRegressor, LGBMClassifier): converted by onnxmltools."""
    return type(final).__module__.partition(".")[0] == "lightgbm"


def compares_in_float64(final: Any) -> bool:
    """HistGradientBoosting and LightGBM compare float64 inputs with float64 thresholds (``<=``)."""
    return is_hist_gradient_boosting(final) or is_lightgbm(final)


def xgboost_trees(final: Any) -> list[Tree] | None:
    """An XGBoost estimator's trees from its own model JSON (float32 split conditions, exactly), or None when
    it has none that can be probed (gblinear, dart, categorical splits)."""
    model = json.loads(final.get_booster().save_raw(raw_format="json"))["learner"]["gradient_booster"]
    if model.get("name") != "gbtree":
        return None
    trees = []
    for tree in model["model"]["trees"]:
        if any(tree["split_type"]):
            return None
        left = np.asarray(tree["left_children"], dtype=np.int64)
        threshold = np.asarray(tree["split_conditions"], dtype=np.float32).astype(np.float64)
        feature = np.asarray(tree["split_indices"], dtype=np.int64)
        trees.append(Tree(feature, threshold, left, np.asarray(tree["right_children"], dtype=np.int64), strict=True))
    return trees


def flattened(root: dict[str, Any]) -> tuple[list[dict[str, Any]], list[int], list[int]]:
    """A LightGBM dump's nested tree as its nodes in depth-first order, with each node's children (-1: leaf)."""
    nodes: list[dict[str, Any]] = []
    left: list[int] = []
    right: list[int] = []
    pending: list[tuple[dict[str, Any], int, bool]] = [(root, -1, True)]
    while pending:
        node, parent, is_left = pending.pop()
        index = len(nodes)
        nodes.append(node)
        left.append(-1)
        right.append(-1)
        if parent >= 0:
            (left if is_left else right)[parent] = index
        if "split_feature" in node:
            pending.append((node["right_child"], index, False))
            pending.append((node["left_child"], index, True))
    return nodes, left, right


def lightgbm_trees(final: Any) -> list[Tree] | None:
    """A LightGBM estimator's trees from its own model dump (float64 thresholds, ``<=``), or None when it has
    splits that are not numeric (categorical)."""
    trees = []
    for info in final.booster_.dump_model()["tree_info"]:
        nodes, left, right = flattened(info["tree_structure"])
        if any(node.get("decision_type", "<=") != "<=" for node in nodes):
            return None
        feature = np.array([node.get("split_feature", 0) for node in nodes], dtype=np.int64)
        threshold = np.array([float(node.get("threshold", 0.0)) for node in nodes], dtype=np.float64)
        trees.append(Tree(feature, threshold, np.array(left), np.array(right)))
    return trees


def hist_gradient_boosting_trees(final: Any) -> list[Tree]:
    nodes = [tree.nodes for iteration in final._predictors for tree in iteration]
    return [
        Tree(n["feature_idx"].astype(np.int64), n["num_threshold"],
             np.where(n["is_leaf"], -1, n["left"].astype(np.int64)),
             np.where(n["is_leaf"], -1, n["right"].astype(np.int64)))
        for n in nodes
    ]  # fmt: skip


def trees_of(final: Any) -> tuple[list[Tree], type] | None:
    """The final estimator's trees and the dtype it compares inputs in; None when it is not a tree model."""
    if is_xgboost(final):
        trees = xgboost_trees(final)
        return (trees, np.float32) if trees else None
    if is_lightgbm(final):
        found = lightgbm_trees(final)
        return (found, np.float64) if found else None
    if casts_to_float32(final):
        parts = [part.tree_ for part in np.ravel(getattr(final, "estimators_", [final]))]
        return [Tree(t.feature, t.threshold, t.children_left, t.children_right) for t in parts], np.float32
    if is_hist_gradient_boosting(final):
        return hist_gradient_boosting_trees(final), np.float64
    return None
