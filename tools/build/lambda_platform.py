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

# ---------------------------------------------------------------- memory, concurrency and scaling (capacity planning)
# Memory: any whole number of MB from 128 to 10,240 ("Lambda quotas", Function memory allocation;
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
MEMORY_MB_MIN = 128
MEMORY_MB_MAX = 10_240
# CPU in proportion to memory: one full vCPU at 1,769 MB ("Configure Lambda function memory";
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). docker's --cpus models it.
MB_PER_VCPU = 1_769
ARCHITECTURES = ("x86_64", "arm64")  # the instruction sets Lambda runs functions on

# Concurrency: 1,000 concurrent executions per account and Region by default (a quota that can be raised), and
# reserving concurrency must leave 100 unreserved ("Lambda quotas"; PutFunctionConcurrency in the API reference).
DEFAULT_ACCOUNT_CONCURRENCY = 1_000
MIN_UNRESERVED_CONCURRENCY = 100

# Scaling rate: each function can add 1,000 execution environments every 10 seconds, "or 10,000 requests per
# second every 10 seconds"; Lambda refills that allowance continuously rather than 1,000 at once every 10 s, and
# never holds more than 1,000 unused ("Lambda scaling behavior", Concurrency scaling rate;
# https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html). Beyond it synchronous calls get 429.
SCALING_BURST_ENVIRONMENTS = 1_000
SCALING_REFILL_PER_S = 100.0  # 1,000 every 10 s, refilled continuously

# Invocation rate: each execution environment serves at most 10 requests per second, so a function's
# synchronous invocation rate is capped at 10 x its concurrency limit ("Lambda quotas": Invocation requests per
# function per Region (synchronous)); beyond it 429 (FunctionInvocationRateLimitExceeded).
INVOCATIONS_PER_S_PER_CONCURRENCY = 10
