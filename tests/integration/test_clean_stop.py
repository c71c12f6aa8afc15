"""`make local` stopped with SIGTERM, as a process manager, a CI runner or `timeout` stops it, leaves no Lambda
container running: SIGTERM to make alone (make passes it on to tools/local/sam_local.py), and to the whole group.

Each case runs `make local` as a new user does, `sam build` into the repository's .aws-sam included (about
30 s here), waits for /health, sends one /predict so a warm container surely exists, then stops it.
SAM itself cleans up after SIGINT nearly always, so the last test has a stand-in for SAM that never does:
the wrapper must remove what it left, and nothing that was there before.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest

from tests.conftest import ROOT, load_event
from tests.integration.conftest import lambda_containers, sam_env, wait_for_health
from tests.utils import free_port

pytestmark = [pytest.mark.build, pytest.mark.sam, pytest.mark.docker]

# make local serves from the repository's build; other `sam local` runs on the same engine (other tests,
# other checkouts) mount other folders, and their containers are none of this test's business.
CODE_DIR = ROOT / ".aws-sam" / "build"
STOP_TIMEOUT = 180  # the wrapper gives SAM 60 s, then kills it and removes what it left


def from_this_repo(ids: set[str]) -> set[str]:
    """The containers among ``ids`` that mount code from this repository's .aws-sam/build."""
    mine = set()
    for cid in ids:
        inspect = subprocess.run(["docker", "inspect", cid], capture_output=True, text=True, timeout=120)
        if inspect.returncode != 0:  # gone meanwhile
            continue
        mounts = json.loads(inspect.stdout)[0].get("Mounts") or []
        if any(Path(m.get("Source", "")).is_relative_to(CODE_DIR) for m in mounts):
            mine.add(cid)
    return mine


def make_env() -> dict[str, str]:
    """sam_env() without an outer make's flags (pytest may run under `make test`): a new user's shell."""
    return {k: v for k, v in sam_env().items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}}


def serving(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def kill_leftover_sam(port: int) -> None:
    """After a failure only: SAM runs in a session of its own, so killing make's group may not reach it."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"start-api" in args and str(port).encode() in args:
            os.kill(int(cmdline.parent.name), signal.SIGKILL)


@pytest.fixture
def make_local(lambda_image: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, set[str]]]:
    """`make local PORT=<free port>` serving, with one /predict answered; yields (make, port, containers before)."""
    before = lambda_containers()
    port = free_port()
    log = tmp_path / "make-local.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "local", f"PORT={port}"], cwd=ROOT, env=make_env(),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    started = time.monotonic()
    try:
        wait_for_health(proc, f"http://127.0.0.1:{port}", log, deadline_s=600)  # sam build included
        predict = httpx2.post(f"http://127.0.0.1:{port}/predict", content=load_event("rest-predict-single")["body"])
        assert predict.status_code == 200, predict.text
        print(f"\nmake local: serving after {time.monotonic() - started:.0f} s (sam build included)")
        yield proc, port, before
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        kill_leftover_sam(port)
        leftover = from_this_repo(lambda_containers() - before)
        if leftover:
            subprocess.run(["docker", "rm", "-f", *leftover], capture_output=True, timeout=120)
        print(log.read_text()[-1500:])


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="sigterm-to-make-only"),
        pytest.param(lambda pid: os.killpg(pid, signal.SIGTERM), id="sigterm-to-process-group"),
    ],
)
def test_sigterm_leaves_no_container(
    make_local: tuple[subprocess.Popen[bytes], int, set[str]], stop: Callable[[int], None]
) -> None:
    proc, port, before = make_local
    warm = from_this_repo(lambda_containers() - before)
    assert warm, "make local serves, yet no Lambda container of its own runs"

    stop(proc.pid)
    started = time.monotonic()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"make local still running {STOP_TIMEOUT} s after SIGTERM")
    print(f"make local: stopped {time.monotonic() - started:.1f} s after SIGTERM, exit status {proc.returncode}")

    assert proc.returncode != 0  # stopped, not finished
    assert not serving(port), "make exited, yet something still serves its port"
    left = from_this_repo(lambda_containers() - before)
    assert not left, f"Lambda containers left running after SIGTERM: {sorted(c[:12] for c in left)}"


FAKE_SAM = """#!/bin/sh
# Starts a SAM-labelled container and, stopped, leaves it behind: what SAM does now and then on SIGTERM.
docker run -d --label sam.cli.container.type=lambda --entrypoint sleep "$1" 600 > "$2.tmp" && mv "$2.tmp" "$2"
trap 'exit 0' INT
while :; do sleep 0.2; done
"""


def start_container(image: str) -> str:
    run = ["docker", "run", "-d", "--label", "sam.cli.container.type=lambda", "--entrypoint", "sleep", image, "600"]
    return subprocess.run(run, capture_output=True, text=True, timeout=120, check=True).stdout.strip()


def exists(cid: str) -> bool:
    return subprocess.run(["docker", "inspect", cid], capture_output=True, timeout=120).returncode == 0


def test_wrapper_removes_only_what_sam_left(lambda_image: str, tmp_path: Path) -> None:
    fake, cidfile = tmp_path / "sam", tmp_path / "cid"
    fake.write_text(FAKE_SAM)
    fake.chmod(0o755)
    older = start_container(lambda_image)  # there before the wrapper starts: must survive
    wrapper = [sys.executable, "-m", "tools.local.sam_local", "--sam", str(fake), "--"]
    proc = subprocess.Popen([*wrapper, lambda_image, str(cidfile)], cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not cidfile.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the stand-in for SAM started no container")
            time.sleep(0.2)
        left = cidfile.read_text().strip()
        assert exists(left)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=STOP_TIMEOUT) == 128 + signal.SIGTERM
        assert not exists(left), "the wrapper left the container SAM left"
        assert exists(older), "the wrapper removed a container that was there before it started"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        ids = [older, *([cidfile.read_text().strip()] if cidfile.exists() else [])]
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=120)
