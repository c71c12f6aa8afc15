"""Install pinned wheels for the Lambda runtime into a folder, prune it, and compile python3.13 bytecode.

Used by the SAM ``BuildMethod: makefile`` recipes of the function and (through tools/build/model_layer.py,
which picks the pins by the bundle's runtime) the layer, so plain ``sam build`` (no container) produces
the same artifact wherever it runs, with or without Docker:

    python -m tools.build.lambda_build --requirements REQ --target DIR [--prune] [--copy SRC...]

1. The host's pip downloads wheels for CPython 3.13 on manylinux <= 2.28 (Lambda's Amazon Linux 2023
   has glibc 2.34; wheels tagged above it would import here and fail there), ``--no-compile``
   because the host's bytecode (e.g. cpython-311) is useless on 3.13.
2. The installed set must be exactly the pinned set: a transitive dependency missing from the pins
   would otherwise arrive at whatever version is newest on the day of the build.
3. ``--prune`` removes what the runtime never imports: test suites, C/Cython sources and headers,
   console scripts (and, for the model layer, the paths its runtime lists: tools/build/model_layer.py).
   Never ``strip`` the auditwheel-patched ``*.libs``: numpy stops importing.
4. Bytecode is compiled by a CPython 3.13 (``LAMBDA_PYTHON``, ``python3.13`` on PATH, or pyenv's;
   else inside the python3.13 Lambda image that tools/build/lambda_image.py provides) with
   ``--invalidation-mode unchecked-hash``: Lambda mounts /opt and /var/task read-only, so missing or
   stale-looking .pyc would be recompiled in memory at every cold start, and zip files keep mtimes
   at 2-second resolution, which makes timestamp-checked .pyc look stale.

The sizes are printed at each step: installed, after pruning, with bytecode.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.build.lambda_platform import PYTHON_VERSION, pip_install_command, unzipped_size

PRUNE_DIRS = {"tests", "__pycache__"}  # test suites; stale host bytecode
PRUNE_SUFFIXES = {".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h", ".hpp", ".f", ".f90"}


class BuildError(RuntimeError):
    pass


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(requirements: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):  # another pins file, as pip reads it: relative to this one
            pins.update(read_pins(requirements.parent / line[3:].strip()))
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        if not match:
            raise BuildError(f"{requirements}: every line must pin one package as name==version, got {line!r}")
        pins[canonical(match.group(1))] = match.group(2)
    return pins


def installed(target: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in target.glob("*.dist-info/METADATA"):
        name = version = ""
        for line in meta.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Name: "):
                name = line[6:].strip()
            elif line.startswith("Version: "):
                version = line[9:].strip()
            if name and version:
                break
        found[canonical(name)] = version
    return found


def pip_install(requirements: Path, target: Path) -> None:
    subprocess.run([*pip_install_command(requirements, target), "--upgrade"], check=True)


def check_closed(pins: dict[str, str], have: dict[str, str]) -> None:
    extra = sorted(set(have) - set(pins))
    wrong = sorted(f"{n} {have[n]} (pinned {pins[n]})" for n in pins if n in have and have[n] != pins[n])
    missing = sorted(set(pins) - set(have))
    problems = []
    if extra:
        problems.append("unpinned dependencies arrived: " + ", ".join(f"{n}=={have[n]}" for n in extra))
    if wrong:
        problems.append("versions differ from the pins: " + ", ".join(wrong))
    if missing:
        problems.append("pinned but not installed: " + ", ".join(missing))
    if problems:
        raise BuildError("; ".join(problems) + " - pin every package, transitive ones included")


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def prune(target: Path, paths: Sequence[str] = ()) -> list[tuple[str, int]]:
    """Remove test suites, sources, headers, console scripts, and the glob patterns ``paths`` (relative to
    ``target``); returns what the patterns removed with its size. Never strips a shared library."""
    removed: list[tuple[str, int]] = []
    for pattern in paths:
        for path in sorted(target.glob(pattern)):
            removed.append((path.relative_to(target).as_posix(), unzipped_size(path)))
            remove(path)
    for bin_dir in [target / "bin"]:
        if bin_dir.is_dir():
            shutil.rmtree(bin_dir)
    for root, dirs, files in os.walk(target, topdown=True):
        for d in list(dirs):
            if d in PRUNE_DIRS:
                shutil.rmtree(Path(root) / d)
                dirs.remove(d)
        for f in files:
            if Path(f).suffix in PRUNE_SUFFIXES:
                (Path(root) / f).unlink()
    return removed


def _runs_313(candidate: str) -> bool:
    try:
        out = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == PYTHON_VERSION


def find_python313() -> str | None:
    candidates = [os.environ.get("LAMBDA_PYTHON", ""), shutil.which(f"python{PYTHON_VERSION}") or ""]
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    pattern = f"{pyenv_root}/versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"
    candidates += sorted(glob.glob(pattern), reverse=True)
    candidates += sorted(glob.glob(f"/usr/bin/python{PYTHON_VERSION}")) + sorted(
        glob.glob(f"/usr/local/bin/python{PYTHON_VERSION}")
    )
    for candidate in candidates:
        if candidate and _runs_313(candidate):
            return candidate
    return None


def image_with_python313() -> str | None:
    """The local python3.13 Lambda image (tools/build/lambda_image.py), if one exists and an engine runs."""
    if not shutil.which("docker"):
        return None
    which = subprocess.run([sys.executable, "-m", "tools.build.lambda_image", "--which"], capture_output=True, text=True)
    return which.stdout.strip() or None if which.returncode == 0 else None


def compile_bytecode(target: Path, prefix: str) -> None:
    compile_args = ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    python = find_python313()
    if python is not None:
        cmd = [python, *compile_args, "-s", str(target), "-p", prefix, str(target)]
        where = python
    else:
        image = image_with_python313()
        if image is None:
            raise BuildError(
                f"no CPython {PYTHON_VERSION} to compile bytecode for the Lambda runtime: install "
                f"python{PYTHON_VERSION} (e.g. `pyenv install {PYTHON_VERSION}`), point LAMBDA_PYTHON at one, "
                "or run `make image` so the python3.13 Lambda image can compile it"
            )
        user = f"{os.getuid()}:{os.getgid()}"
        cmd = ["docker", "run", "--rm", "--network", "none", "-u", user, "-v", f"{target.resolve()}:/build"]
        cmd += ["--entrypoint", f"python{PYTHON_VERSION}", image, *compile_args]
        cmd += ["-s", "/build", "-p", prefix, "/build"]
        where = f"{image} (docker)"
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"compileall with {where} failed:\n{result.stdout}{result.stderr}")
    print(f"lambda_build: bytecode compiled by {where}")


@dataclass(frozen=True)
class Built:
    packages: int
    installed: int  # bytes as pip installed them
    pruned: int  # after pruning (the same as installed without --prune)
    final: int  # with the python3.13 bytecode: what ships


def build(
    requirements: Path,
    target: Path,
    *,
    prefix: str,
    pruning: bool = True,
    prune_paths: Sequence[str] = (),
    copy: Sequence[Path] = (),
) -> Built:
    """Install the pinned wheels into ``target``, check the set, copy ``copy`` in, prune, compile bytecode."""
    pins = read_pins(requirements)
    target.mkdir(parents=True, exist_ok=True)
    pip_install(requirements, target)
    check_closed(pins, installed(target))
    for src in copy:
        dest = target / src.name
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dest)
    installed_bytes = unzipped_size(target)
    if pruning:
        for name, size in prune(target, prune_paths):
            print(f"lambda_build: pruned {name} ({size / 1e6:.1f} MB)")
    pruned_bytes = unzipped_size(target)
    compile_bytecode(target, prefix)
    built = Built(len(pins), installed_bytes, pruned_bytes, unzipped_size(target))
    print(
        f"lambda_build: {target.name}: {built.packages} packages, unzipped {built.installed / 1e6:.1f} MB installed, "
        f"{built.pruned / 1e6:.1f} MB pruned, {built.final / 1e6:.1f} MB with bytecode"
    )
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requirements", type=Path, required=True)
    parser.add_argument("--target", type=Path, required=True)
    parser.add_argument("--prune", action="store_true")
    parser.add_argument("--copy", nargs="*", default=[], type=Path, help="source files/dirs to copy into --target")
    parser.add_argument(
        "--runtime-prefix", default="/var/task", help="path shown in tracebacks (/opt/python for layers)"
    )
    args = parser.parse_args(argv)
    return exit_status(
        "lambda_build",
        lambda: build(args.requirements, args.target, prefix=args.runtime_prefix, pruning=args.prune, copy=args.copy),
    )


def exit_status(tool: str, action: Callable[[], object]) -> int:
    """Run a build step for a command line: 0, or 2 with the reason on stderr (no traceback)."""
    try:
        action()
    except BuildError as exc:
        print(f"{tool}: error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"{tool}: error: {' '.join(exc.cmd[:4])}... exited with {exc.returncode}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
