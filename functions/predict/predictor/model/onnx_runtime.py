"""The ONNX Runtime runtime: a graph converted from the estimator by ``make model`` (``"runtime": "onnx"``).

Neither scikit-learn nor SciPy is imported here or shipped in the layer: numpy and onnxruntime are all
an ONNX bundle needs, which is what makes its layer small and its cold start short.

Threads, deliberately: one intra-op and one inter-op thread, sequential execution, no spinning. Lambda
hands an execution environment one request at a time and sizes its vCPUs by memory; ONNX Runtime's
default (a thread per core, spinning while it waits for work) would burn billed CPU between requests and
pay a thread hand-off on one-row requests that take microseconds. Nothing uses /dev/shm (Lambda has none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from predictor.model.manifest import BundleError, Manifest, OnnxModel
from predictor.model.runtime import RawOutputs, Rows

# The runtime's side of the version check (the manifest's side: predictor/model/manifest.py RUNTIME_LIBRARIES).
VERSIONS: dict[str, str] = {
    "onnxruntime_version": ort.__version__,
    "numpy_version": np.__version__,
}


def versions(runtime: str) -> dict[str, str]:
    """The versions this process serves ``runtime`` (``onnx``) with."""
    return VERSIONS


ONNX_TYPES = {"float64": "tensor(double)", "float32": "tensor(float)"}


def session_options() -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: warnings about unused initializers are not the user's concern
    return options


class OnnxRuntimeModel:
    """An ONNX graph in an InferenceSession, answering like the estimator it was converted from."""

    def __init__(self, graph: bytes | Path, info: OnnxModel, task: str, with_probabilities: bool) -> None:
        try:
            source = str(graph) if isinstance(graph, Path) else graph
            self.session = ort.InferenceSession(source, session_options(), providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a graph ONNX Runtime cannot load means the bundle is unusable
            raise BundleError(f"ONNX Runtime cannot load the graph: {type(exc).__name__}: {exc}") from None
        self.info = info
        self.dtype = np.dtype(info.input_dtype)
        if task == "classification":
            outputs = [info.label_output] + ([info.probabilities_output] if with_probabilities else [])
        else:
            outputs = [info.prediction_output]
        if any(name is None for name in outputs):
            raise BundleError(f"manifest invalid: onnx names no output for a {task} model: {info}")
        self.outputs: list[str] = [name for name in outputs if name is not None]
        self.with_probabilities = with_probabilities and task == "classification"
        self.columns: list[tuple[str, bool]] = []  # input_per_feature: (input name, takes strings), by check_graph

    def check_graph(self, feature_names: list[str], categorical: frozenset[str] = frozenset()) -> None:
        """The graph takes what the manifest says (one (n, n_features) tensor of its dtype, or one (n, 1) input per
        feature, named as the feature: strings for the ``categorical`` ones) and has the named outputs."""
        if self.info.input_per_feature:
            self.check_inputs_per_feature(feature_names, categorical)
        else:
            self.check_one_input(len(feature_names))
        missing = set(self.outputs) - {o.name for o in self.session.get_outputs()}
        if missing:
            raise BundleError(f"manifest does not match the graph: no output(s) {sorted(missing)}")

    def check_one_input(self, n_features: int) -> None:
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != self.info.input_name:
            names = [i.name for i in inputs]
            raise BundleError(
                f"manifest does not match the graph: inputs {names}, manifest says {self.info.input_name}"
            )
        graph_input = inputs[0]
        width = graph_input.shape[-1] if graph_input.shape else None
        if graph_input.type != ONNX_TYPES[self.info.input_dtype] or (isinstance(width, int) and width != n_features):
            raise BundleError(
                f"manifest does not match the graph: input {graph_input.type} {graph_input.shape}, manifest says "
                f"{self.info.input_dtype} with {n_features} features"
            )

    def check_inputs_per_feature(self, feature_names: list[str], categorical: frozenset[str]) -> None:
        """One (n, 1) input per feature, in the features' order: ``tensor(string)`` for a categorical one."""
        number = ONNX_TYPES[self.info.input_dtype]
        wanted = [(name, "tensor(string)" if name in categorical else number) for name in feature_names]
        found = [(i.name, i.type) for i in self.session.get_inputs()]
        if found != wanted or any(i.shape and i.shape[-1] not in (1, None) for i in self.session.get_inputs()):
            raise BundleError(
                f"manifest does not match the graph: inputs {found}, manifest says one per feature {wanted}"
            )
        self.columns = [(name, name in categorical) for name in feature_names]

    def feed(self, rows: Rows) -> dict[str, Any]:
        """The graph's inputs for ``rows``: the one (n, n_features) tensor, or a (n, 1) column per feature."""
        # float32 graphs: inputs beyond float32's range become +-inf, as scikit-learn's trees do themselves.
        if self.info.input_per_feature:
            with np.errstate(over="ignore"):
                return {
                    name: rows[:, [j]] if is_category else rows[:, [j]].astype(self.dtype)
                    for j, (name, is_category) in enumerate(self.columns)
                }
        if self.dtype == np.float64:  # float64 rows to a float64 graph: no cast, nothing to overflow
            return {self.info.input_name: np.ascontiguousarray(rows, dtype=np.float64)}
        with np.errstate(over="ignore"):
            return {self.info.input_name: np.ascontiguousarray(rows, dtype=self.dtype)}

    def predict(self, rows: Rows) -> RawOutputs:
        results: list[Any] = self.session.run(self.outputs, self.feed(rows))
        if self.with_probabilities:
            return RawOutputs(np.asarray(results[0]).reshape(len(rows)), np.asarray(results[1]))
        return RawOutputs(np.asarray(results[0]), None)


def load(manifest: Manifest, artifact: Path) -> OnnxRuntimeModel:
    """Open the (sha256-verified) graph and check it takes and gives what the manifest says."""
    if manifest.onnx is None:
        raise BundleError("manifest invalid: runtime onnx without its onnx section")
    model = OnnxRuntimeModel(artifact, manifest.onnx, manifest.task, manifest.has_probabilities)
    model.check_graph(manifest.feature_names, frozenset(manifest.categorical or {}))
    return model
