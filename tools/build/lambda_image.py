"""The python3.13 Lambda runtime image that `sam local` runs the function in. Prints its name.

    python3 tools/build/lambda_image.py            # ensure an image exists; print REPO:TAG on stdout
    python3 tools/build/lambda_image.py --which    # print the name only if it already exists (exit 1 if not)

Choice, printed on stderr:
1. ``LAMBDA_IMAGE`` if set (any image with python3.13 and /var/runtime/bootstrap);
2. the official ``public.ecr.aws/lambda/python:3.13`` when it is present or can be pulled
   (a laptop with internet);
3. otherwise an image built here from Debian packages: ``debootstrap`` trixie (CPython 3.13),
   ``awslambdaric`` installed by the host's pip as cp313 wheels into /var/runtime, and
   ``images/python3.13/bootstrap``; ``docker import`` makes it an image. It is rebuilt only when its
   recipe changes: the recipe's hash is in the *repository* name, because SAM names its derived
   image ``<repo>:rapid-x86_64`` and would silently reuse an old one from the same repository.

Needs a running Docker engine (tools/build/docker-engine) and, for 3., root with apt-get for debootstrap.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.build.lambda_platform import PLATFORMS, PYTHON_VERSION, RUNTIME, pip_install_command
from tools.paths import ROOT

RECIPE_DIR = ROOT / "images" / RUNTIME
OFFICIAL = f"public.ecr.aws/lambda/python:{PYTHON_VERSION}"
SUITE = "trixie"  # Debian's release whose python3 is Lambda's PYTHON_VERSION
PACKAGES = ["python3", RUNTIME]
REPO_PREFIX = f"sklearn-serverless/{RUNTIME}-debian"
IMPORT_CHANGES = [
    "ENV LANG=C.UTF-8",
    "ENV LAMBDA_TASK_ROOT=/var/task",
    "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "WORKDIR /var/task",
]


class ImageError(RuntimeError):
    pass


def say(message: str) -> None:
    print(f"lambda-image: {message}", file=sys.stderr)


def docker(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def exists(image: str) -> bool:
    return docker("image", "inspect", image).returncode == 0


def recipe_hash() -> str:
    digest = hashlib.sha256()
    for part in [SUITE, *PACKAGES, *PLATFORMS, *IMPORT_CHANGES]:
        digest.update(part.encode() + b"\0")
    for path in sorted(RECIPE_DIR.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def local_name() -> str:
    return f"{REPO_PREFIX}-{recipe_hash()}:latest"


def debian_archive() -> str:
    """The Debian archive this machine's apt uses (deb822 or one-line format); ImageError when it has none."""
    for path in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if line.startswith("URIs:") and len(words) > 1 and "security" not in words[1]:
                return words[1]
            if line.startswith("deb ") and len(words) > 1 and "security" not in words[1]:
                return words[1]
    raise ImageError(
        "no Debian archive in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list: debootstrap needs "
        "one to build the python3.13 image (add the archive apt should use, or pull the official image)"
    )


def ensure_debootstrap() -> str:
    found = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ImageError("debootstrap is missing and cannot be installed here (needs root and apt-get)")
    say("installing debootstrap with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=True, env=env, capture_output=True)
    return "/usr/sbin/debootstrap"


def build_local(name: str) -> None:
    debootstrap = ensure_debootstrap()
    with tempfile.TemporaryDirectory(prefix="lambda-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        archive = debian_archive()
        say(f"building {name}: debootstrap {SUITE} from {archive} (about a minute)")
        result = subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), archive],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ImageError(f"debootstrap failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        runtime = rootfs / "var" / "runtime"
        runtime.mkdir(parents=True, exist_ok=True)
        subprocess.run(pip_install_command(RECIPE_DIR / "requirements.txt", runtime), check=True)
        shutil.copy2(RECIPE_DIR / "bootstrap", runtime / "bootstrap")
        (runtime / "bootstrap").chmod(0o755)
        for folder in ("var/task", "opt", "tmp"):
            (rootfs / folder).mkdir(parents=True, exist_ok=True)
        # The runtime's own modules get bytecode too (as the managed runtime ships it).
        subprocess.run(
            ["chroot", str(rootfs), RUNTIME, "-m", "compileall", "-q", "/var/runtime"],
            check=True,
            capture_output=True,
        )
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(rootfs / cache, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        changes = [arg for change in IMPORT_CHANGES for arg in ("-c", change)]
        imported = subprocess.run(["docker", "import", *changes, "-", name], stdin=tar.stdout, capture_output=True)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise ImageError(f"docker import failed: {imported.stderr.decode()[-2000:]}")
    say(f"built {name}")


def ensure() -> str:
    if os.environ.get("LAMBDA_IMAGE"):
        image = os.environ["LAMBDA_IMAGE"]
        say(f"using LAMBDA_IMAGE={image}")
        return image
    if docker("info").returncode != 0:
        raise ImageError("no Docker engine answers 'docker info' (run tools/build/docker-engine)")
    if exists(OFFICIAL):
        say(f"using the official image {OFFICIAL} (present locally)")
        return OFFICIAL
    try:
        pulled = docker("pull", OFFICIAL, timeout=300).returncode == 0
    except subprocess.TimeoutExpired:
        pulled = False
    if pulled:
        say(f"using the official image {OFFICIAL} (pulled)")
        return OFFICIAL
    name = local_name()
    if exists(name):
        say(f"official image unreachable; using {name} (built from Debian packages, recipe unchanged)")
        return name
    say(f"official image unreachable; building {name} from Debian packages")
    build_local(name)
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--which", action="store_true", help="print an existing image's name; build nothing")
    args = parser.parse_args(argv)
    try:
        if args.which:
            for image in [os.environ.get("LAMBDA_IMAGE", ""), OFFICIAL, local_name()]:
                if image and exists(image):
                    print(image)
                    return 0
            return 1
        print(ensure())
    except ImageError as exc:
        say(f"error: {exc}")
        return 3
    except subprocess.CalledProcessError as exc:
        say(f"error: {' '.join(map(str, exc.cmd[:3]))}... exited with {exc.returncode}")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
