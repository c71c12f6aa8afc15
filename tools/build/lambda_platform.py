"""The Lambda platform this project builds for, in one place: the managed runtime's Python, the CPU
architecture, and the wheels that load there.

Lambda's python3.13 runtime runs on Amazon Linux 2023 (glibc 2.34): a wheel tagged for a newer glibc
would install and import in a newer local image and then fail on Lambda, so only manylinux tags up to
2.28 are accepted. Naming the older tags as well keeps packages that ship only those.
"""

from __future__ import annotations

import sys
from pathlib import Path

PYTHON_VERSION = "3.13"
RUNTIME = f"python{PYTHON_VERSION}"  # template.yaml's Runtime (a test holds them equal)
ARCHITECTURE = "x86_64"
PLATFORMS = [f"manylinux_2_28_{ARCHITECTURE}", f"manylinux_2_17_{ARCHITECTURE}", f"manylinux2014_{ARCHITECTURE}"]

# Lambda's quota on a function's deployment package: the function and all its layers together, unzipped.
UNZIPPED_LIMIT = 262_144_000  # bytes (250 MiB)


def unzipped_size(path: Path) -> int:
    """Bytes ``path`` weighs once unzipped on Lambda: its regular files (a symlink is not counted twice)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def pip_install_command(requirements: Path, target: Path) -> list[str]:
    """The host's pip installing wheels for the Lambda runtime into ``target`` (nothing compiled for the host:
    its bytecode, e.g. cpython-311, is useless on Lambda's Python)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    # The target is a fresh folder: conflicts with whatever the host Python has installed are irrelevant.
    command += ["--no-warn-conflicts", "--root-user-action=ignore", "--only-binary=:all:", "--implementation", "cp"]
    command += ["--python-version", PYTHON_VERSION, *[f"--platform={platform}" for platform in PLATFORMS]]
    return [*command, "--target", str(target), "-r", str(requirements)]
