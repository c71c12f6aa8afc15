"""The model layer (template.yaml's ModelLayer): which ML runtime a bundle gets, and the layer that ships it.

The bundle's manifest says which runtime serves it (predictor/model/manifest.py: ``"sklearn"`` or ``"onnx"``);
``RUNTIME_LAYERS`` below is the one place that maps it to what the layer ships. The layer build
(layers/model/Makefile, run by ``sam build``), ``make build``'s size report and ``model-ops publish-model``
all read it:

    python -m tools.build.model_layer build --bundle layers/model/model --out DIR   # the layer recipe
    python -m tools.build.model_layer sizes .aws-sam/build                         # make build: what fits

The layer holds ``python/`` (/opt/python, on sys.path: the runtime's pinned wheels with python3.13
bytecode, tools/build/lambda_build.py), ``model/`` (/opt/model, MODEL_DIR): the bundle's ``manifest.json`` and
the artifact it names, nothing else from the bundle's folder; and, for a runtime whose wheels link a system
library that Lambda's python3.13 image lacks, ``lib/`` (/opt/lib, on Lambda's LD_LIBRARY_PATH) with it. The build refuses a bundle whose artifact
is not the one its manifest vouches for, or whose library versions are not the runtime's pins.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from predictor.model.manifest import MANIFEST_FILE, BundleError, Manifest, Runtime, check_versions, verified_artifact
from tools.build.lambda_build import BuildError, build, canonical, exit_status, installed, read_pins
from tools.build.lambda_platform import UNZIPPED_LIMIT, unzipped_size
from tools.paths import ROOT

LAYER_DIR = ROOT / "layers" / "model"


@dataclass(frozen=True)
class LayerRuntime:
    requirements: Path  # every package the layer's python/ installs, pinned
    distribution: str  # the runtime's own package: a built python/ of this runtime has it
    prune: tuple[str, ...] = ()  # globs under python/ that serving never imports nor loads (a test proves it)
    # System libraries a wheel links without bundling them (soname -> a glob under python/ of a wheel-bundled copy
    # of that library, manylinux-built): copied into lib/ under the soname the loader looks for.
    system_libraries: tuple[tuple[str, str], ...] = ()


RUNTIME_LAYERS: dict[Runtime, LayerRuntime] = {
    "sklearn": LayerRuntime(LAYER_DIR / "requirements.txt", "scikit-learn"),
    "xgboost": LayerRuntime(LAYER_DIR / "requirements-xgboost.txt", "xgboost-cpu", prune=("xgboost/testing",)),
    # lib_lightgbm.so needs libgomp.so.1, which Amazon Linux's Lambda images do not have: scikit-learn's wheel
    # bundles the GNU OpenMP runtime (auditwheel-renamed, glibc 2.17 symbols), which the layer ships by its soname.
    "lightgbm": LayerRuntime(
        LAYER_DIR / "requirements-lightgbm.txt",
        "lightgbm",
        system_libraries=(("libgomp.so.1", "scikit_learn.libs/libgomp-*.so*"),),
    ),
    "onnx": LayerRuntime(
        LAYER_DIR / "requirements-onnx.txt",
        "onnxruntime",
        prune=(
            "onnxruntime/transformers",  # transformer graph optimisation scripts (need torch, onnx)
            "onnxruntime/quantization",  # quantisation tooling (needs onnx)
            "onnxruntime/tools",  # conversion, profiling and mobile-build scripts
            "onnxruntime/datasets",  # sample models
            "onnxruntime/backend",  # the ONNX backend-test API (needs onnx, which is not shipped)
            # The C API library (35 MB) for C/C++ callers: the Python extension (onnxruntime_pybind11_state)
            # has the runtime linked in, does not list it as NEEDED, and never opens it.
            "onnxruntime/capi/libonnxruntime.so.*",
        ),
    ),
}


def layer_runtime(runtime: Runtime) -> LayerRuntime:
    return RUNTIME_LAYERS[runtime]


def requirements_name(runtime: Runtime) -> str:
    """The pins file as a person finds it: layers/model/requirements*.txt."""
    return layer_runtime(runtime).requirements.relative_to(LAYER_DIR.parents[1]).as_posix()


def unshipped(modules: Iterable[str], runtime: Runtime) -> list[str]:
    """The modules (of those a bundle imports as it loads) that the runtime's layer does not ship: neither
    the standard library nor a package installed from the layer's pins. Judged by the top-level package
    and the distribution that installed it in this interpreter (the dev venv holds the same pins)."""
    pinned = set(read_pins(layer_runtime(runtime).requirements))
    installed_by = importlib.metadata.packages_distributions()
    missing = []
    for module in sorted(modules):
        top = module.partition(".")[0]
        if top in sys.stdlib_module_names:
            continue
        if not {canonical(dist) for dist in installed_by.get(top, [])} & pinned:
            missing.append(module)
    return missing


def check_bundle(bundle: Path) -> Manifest:
    """The bundle the layer would ship: its manifest, the artifact it vouches for (sha256), and the versions
    of its runtime's libraries equal to that runtime's pins (the contract's own version check)."""
    if not (bundle / MANIFEST_FILE).is_file():
        raise BuildError(f"no model bundle: {bundle / MANIFEST_FILE} is missing - run `make model` first")
    try:
        manifest, _ = verified_artifact(bundle)
    except BundleError as exc:
        raise BuildError(str(exc)) from None
    pins = read_pins(layer_runtime(manifest.runtime).requirements)
    try:
        check_versions(
            manifest,
            {key: pins.get(canonical(dist), "unpinned") for key, dist in manifest.libraries.items()},
            "layer pin",
        )
    except BundleError as exc:
        raise BuildError(
            f"the model bundle does not match the {manifest.runtime} layer's pins "
            f"({requirements_name(manifest.runtime)}): {exc}"
        ) from None
    return manifest


def check_layer_python(manifest: Manifest, layer_python: Path) -> None:
    """A built layer's python/ serves this bundle: it holds the bundle's runtime, at the bundle's versions."""
    have = installed(layer_python) if layer_python.is_dir() else {}
    if not have:
        raise BuildError(f"no built ML runtime in {layer_python}: run `make build` first")
    wanted = layer_runtime(manifest.runtime)
    if canonical(wanted.distribution) not in have:
        held = [f"{r} ({lr.distribution})" for r, lr in RUNTIME_LAYERS.items() if canonical(lr.distribution) in have]
        raise BuildError(
            f"the bundle's runtime is {manifest.runtime} ({wanted.distribution}) but {layer_python} holds the "
            f"{' and '.join(held) or 'no known'} runtime: build the layer for this bundle (put it in "
            "layers/model/model and run `make build`, or run "
            "`python -m tools.build.model_layer build --bundle BUNDLE --out DIR` and pass DIR/python)"
        )
    try:
        check_versions(
            manifest,
            {key: have.get(canonical(dist), "missing") for key, dist in manifest.libraries.items()},
            f"layer ({layer_python})",
        )
    except BundleError as exc:
        raise BuildError(str(exc)) from None
    lib = layer_python.parent / "lib"
    for soname, _ in wanted.system_libraries:
        if not (lib / soname).is_file():
            raise BuildError(
                f"{lib / soname} is missing: the {manifest.runtime} runtime needs it beside {layer_python} "
                "(build the layer with `make build` or tools/build/model_layer.py, which ship it)"
            )


def bundle_files(manifest: Manifest) -> list[str]:
    """What of the bundle's folder ships in /opt/model: the manifest and the artifact it names."""
    return [MANIFEST_FILE, manifest.artifact]


def copy_bundle(manifest: Manifest, bundle: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in bundle_files(manifest):
        shutil.copy2(bundle / name, dest / name)


def copy_system_libraries(runtime: LayerRuntime, python: Path, lib: Path) -> None:
    """lib/ with each system library the runtime's wheels link, from the wheel-bundled copy in python/."""
    if lib.exists():
        shutil.rmtree(lib)
    for soname, pattern in runtime.system_libraries:
        found = sorted(python.glob(pattern))
        if not found:
            raise BuildError(f"no {pattern} in the built layer: cannot ship {soname}, which {runtime.distribution} needs")
        lib.mkdir(exist_ok=True)
        shutil.copy2(found[0], lib / soname)
        print(f"model_layer: lib/{soname} from python/{found[0].relative_to(python).as_posix()}")


def build_layer(bundle: Path, out: Path) -> Manifest:
    """The layer for ``bundle`` in ``out``: python/ with its runtime's pins (pruned, with bytecode), model/ with
    the bundle's own files."""
    manifest = check_bundle(bundle)
    runtime = layer_runtime(manifest.runtime)
    print(
        f"model_layer: {manifest.name} {manifest.version} is served by the {manifest.runtime} runtime: "
        f"installing {requirements_name(manifest.runtime)}"
    )
    python = out / "python"
    if python.exists():  # a folder built for the other runtime must not leave its packages behind
        shutil.rmtree(python)
    build(runtime.requirements, python, prefix="/opt/python", prune_paths=runtime.prune)
    copy_system_libraries(runtime, python, out / "lib")
    copy_bundle(manifest, bundle, out / "model")
    print(
        f"model_layer: unzipped: {manifest.runtime} runtime (python/) {unzipped_size(python) / 1e6:.1f} MB, "
        f"model (model/) {unzipped_size(out / 'model') / 1e6:.2f} MB"
    )
    return manifest


@dataclass(frozen=True)
class Sizes:
    """A `sam build`'s unzipped sizes against Lambda's limit, in bytes."""

    runtime: str
    function: int
    layer_runtime: int
    model: int

    @property
    def total(self) -> int:
        return self.function + self.layer_runtime + self.model

    @property
    def room_for_model(self) -> int:
        """The largest model bundle that fits beside this function and this runtime."""
        return UNZIPPED_LIMIT - self.function - self.layer_runtime

    def report(self) -> str:
        rows = [
            ("function (PredictFunction)", self.function),
            (f"layer: {self.runtime} runtime (/opt/python, /opt/lib)", self.layer_runtime),
            ("layer: model bundle (/opt/model)", self.model),
            ("total", self.total),
        ]
        lines = [f"  {name:<44} {size / 1e6:8.1f} MB  {size:>13,} bytes" for name, size in rows]
        room, more = self.room_for_model, self.room_for_model - self.model
        return "\n".join(
            [
                f"unzipped sizes (Lambda's limit for a function and its layers: {UNZIPPED_LIMIT:,} bytes):",
                *lines,
                f"  {self.total / UNZIPPED_LIMIT:.0%} of the limit; room for a model: {room / 1e6:.1f} MB "
                f"({room:,} bytes; {more / 1e6:.1f} MB more than this one)",
            ]
        )


def measure(function: Path, layer: Path) -> Sizes:
    """The sizes of a built function folder and a built model layer folder (python/ and model/)."""
    for needed in (function, layer / "python", layer / "model" / MANIFEST_FILE):
        if not needed.exists():
            raise BuildError(f"{needed} is missing: not a complete `sam build` of this project (make build)")
    try:
        manifest, _ = verified_artifact(layer / "model")
    except BundleError as exc:
        raise BuildError(str(exc)) from None
    return Sizes(
        runtime=manifest.runtime,
        function=unzipped_size(function),
        layer_runtime=sum(unzipped_size(layer / part) for part in ("python", "lib") if (layer / part).exists()),
        model=unzipped_size(layer / "model"),
    )


def sizes(build_dir: Path) -> Sizes:
    """The sizes of a `sam build` (``build_dir`` holds PredictFunction/ and ModelLayer/)."""
    return measure(build_dir / "PredictFunction", build_dir / "ModelLayer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build.model_layer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the layer for a bundle (its runtime's pins + the bundle)")
    build_cmd.add_argument("--bundle", type=Path, required=True, help="the bundle's folder (manifest.json + artifact)")
    build_cmd.add_argument("--out", type=Path, required=True, help="the layer's folder (python/ and model/ go there)")
    sizes_cmd = commands.add_parser("sizes", help="unzipped sizes of a sam build and the room left for a model")
    sizes_cmd.add_argument("build_dir", type=Path, help="sam build's folder (.aws-sam/build)")
    args = parser.parse_args(argv)
    if args.command == "build":
        return exit_status("model_layer", lambda: build_layer(args.bundle, args.out))
    return exit_status("model_layer", lambda: print(sizes(args.build_dir).report()))


if __name__ == "__main__":
    sys.exit(main())
