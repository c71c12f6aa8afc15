"""What unpickling an object imports: the modules of every class and function its pickle refers to.

A scikit-learn bundle is a pickle (joblib): loading it imports each class and function it names, by module.
The packager runs where the user's own code is importable; the function imports only what the layer
ships. ``modules_referenced`` lists the modules by pickling the object once into nothing, with a
``reducer_override`` that sees every class and function pickle is about to store by reference.
"""

from __future__ import annotations

import pickle
from typing import Any

Referenced = dict[str, set[str]]  # module name -> the names in it that unpickling an object imports


class _Discard:
    """A file that keeps nothing: the pickle itself is not needed, only what it refers to."""

    def write(self, data: bytes | pickle.PickleBuffer) -> int:  # large arrays come as a PickleBuffer
        return memoryview(data).nbytes


class _ReferenceRecorder(pickle.Pickler):
    def __init__(self) -> None:
        super().__init__(_Discard(), protocol=pickle.HIGHEST_PROTOCOL)
        self.references: dict[str, set[str]] = {}

    def reducer_override(self, obj: Any) -> Any:
        # What pickle stores by name carries its own name and module: classes, functions, builtins and
        # numpy's ufuncs (np.log1p in a FunctionTransformer). Instances carry neither name.
        module = getattr(obj, "__module__", None)
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        if isinstance(module, str) and isinstance(name, str):
            self.references.setdefault(module, set()).add(name)
        return NotImplemented  # pickle it as it would anyway


def modules_referenced(obj: Any) -> Referenced:
    """Module name -> the names in it that unpickling ``obj`` imports."""
    recorder = _ReferenceRecorder()
    recorder.dump(obj)
    return recorder.references
