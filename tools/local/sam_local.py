"""Run a `sam local` command so that however it is stopped, it leaves no Lambda container running.

    python3 tools/local/sam_local.py [--sam PATH] [--grace SECONDS] -- local start-api --port 3000 ...

Why: stopped with Ctrl-C (SIGINT), SAM CLI stops and removes its Lambda containers. Stopped with SIGTERM
(a process manager, a CI runner, `timeout`, or `make`, which passes its own SIGTERM on to its children) it
sometimes leaves the warm container running (seen in 1 of 3 tries). So this wrapper:

1. starts SAM in a session of its own, with stdin, stdout and stderr passed through, so that a signal for
   the wrapper's process group (Ctrl-C, `kill -- -PGID`) does not reach SAM too; on Linux SAM also gets a
   SIGINT if the wrapper dies, even by SIGKILL, rather than serving on as an orphan;
2. turns the first SIGTERM, SIGHUP, SIGINT or SIGQUIT it receives into one SIGINT to SAM's process group,
   what Ctrl-C does (a second SIGINT would cut SAM's own cleanup short); later ones are ignored. SIGQUIT
   is included because, SAM being in a session of its own, Ctrl-\\ would otherwise leave it running;
3. waits for SAM at most --grace seconds after that, then kills SAM's process group (SIGKILL);
4. when SAM was stopped by a signal or failed, removes (`docker rm -f`) every SAM Lambda container (label
   sam.cli.container.type=lambda) created while it ran and still there. Containers that existed before it
   started are never touched; one that another `sam local` on the same engine started meanwhile would be,
   if still there when this one stops. After a normal exit (`sam local invoke` that finished: SAM removed
   its own container) nothing is removed, so `make invoke` beside a serving `make local` leaves it alone;
5. exits with SAM's exit code, or 128 + the signal that stopped it.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import IO

from tools.paths import ROOT

DEFAULT_SAM = ROOT / ".venv-sam" / "bin" / "sam"
LAMBDA_LABEL = "label=sam.cli.container.type=lambda"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT)
DOCKER_TIMEOUT = 120.0  # a loaded machine's engine can take a while to answer
PR_SET_PDEATHSIG = 1


def say(message: str) -> None:
    print(f"sam-local: {message}", file=sys.stderr, flush=True)


def lambda_containers() -> set[str] | None:
    """IDs of SAM's Lambda containers, running or not; None when the engine does not answer."""
    try:
        result = subprocess.run(
            ["docker", "ps", "-aq", "--no-trunc", "--filter", LAMBDA_LABEL],
            capture_output=True,
            text=True,
            timeout=DOCKER_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(result.stdout.split()) if result.returncode == 0 else None


def remove_new_containers(before: set[str] | None) -> None:
    """`docker rm -f` the Lambda containers that are there now and were not in ``before``."""
    after = lambda_containers()
    if before is None or after is None:
        say("cannot list Docker containers: no check for Lambda containers left running")
        return
    leftover = sorted(after - before)
    if not leftover:
        return
    try:
        result = subprocess.run(
            ["docker", "rm", "-f", *leftover], capture_output=True, text=True, timeout=DOCKER_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        say(f"could not remove the Lambda containers sam left: {exc}")
        return
    short = " ".join(cid[:12] for cid in leftover)
    if result.returncode == 0:
        say(f"removed {len(leftover)} Lambda container(s) sam left behind: {short}")
    else:
        say(f"docker rm -f {short} failed: {result.stderr.strip()}")


def die_with_parent() -> None:
    """In the child before exec (Linux): get SIGINT when the wrapper dies, even by SIGKILL."""
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGINT, 0, 0, 0)
    if os.getppid() != parent:  # the wrapper died before prctl took effect
        os.kill(os.getpid(), signal.SIGINT)


class Stopper:
    """Turns the stop signals the wrapper receives into a single SIGINT to SAM's process group."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.received: int | None = None
        self.forwarded = False

    @contextmanager
    def installed(self) -> Iterator[Stopper]:
        previous = {signum: signal.signal(signum, self.handle) for signum in STOP_SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        # No output here: the handler may interrupt the main thread's own writes to stderr.
        if self.received is None:
            self.received = signum
        self.forward()

    def forward(self) -> None:
        if self.proc is not None and self.received is not None and not self.forwarded:
            self.forwarded = True
            self.killpg(signal.SIGINT)

    def killpg(self, signum: int) -> None:
        if self.proc is None or self.proc.returncode is not None:  # not started, or reaped: its pid may be reused
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)

    def start(self, command: list[str], stdout: int | None = None) -> None:
        preexec = die_with_parent if sys.platform == "linux" else None
        self.proc = subprocess.Popen(command, start_new_session=True, preexec_fn=preexec, stdout=stdout)
        self.forward()  # a signal that came while SAM was starting

    def wait(self, grace: float) -> int:
        """SAM's return code: waits until it exits, at most ``grace`` seconds once a stop signal came."""
        assert self.proc is not None
        deadline: float | None = None
        while True:
            if self.received is not None and deadline is None:
                say(f"{signal.Signals(self.received).name}: stopping sam with SIGINT, as Ctrl-C does")
                deadline = time.monotonic() + grace
            try:
                return self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if deadline is not None and time.monotonic() > deadline:
                say(f"sam did not stop within {grace:.0f} s of SIGINT: killing it")
                self.killpg(signal.SIGKILL)
                return self.proc.wait()


def tee(source: IO[bytes], copy: bytearray) -> None:
    """Copies ``source`` to this process's stdout as it comes, and into ``copy``."""
    for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
        copy.extend(chunk)
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()


def run(command: list[str], grace: float, stdout_copy: bytearray | None = None) -> int:
    """Runs ``command`` (SAM) as described above; returns the exit code for the wrapper. With ``stdout_copy``,
    SAM's stdout still reaches ours as it comes, and is also collected there (`sam local invoke` prints the
    function's answer on stdout)."""
    before = lambda_containers()
    stopper = Stopper()
    returncode = 0
    with stopper.installed():
        if stopper.received is None:  # no stop signal while the containers were listed
            stopper.start(command, stdout=None if stdout_copy is None else subprocess.PIPE)
            reader = None
            if stdout_copy is not None:
                assert stopper.proc is not None
                assert stopper.proc.stdout is not None
                reader = threading.Thread(target=tee, args=(stopper.proc.stdout, stdout_copy), daemon=True)
                reader.start()
            returncode = stopper.wait(grace)
            if reader is not None:
                reader.join(timeout=10)  # SAM's children may hold the pipe open: never wait on them for long
        if stopper.received is not None or returncode != 0:
            remove_new_containers(before)
    if stopper.received is not None:
        return 128 + stopper.received
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [--sam PATH] [--grace SECONDS] -- SAM_ARGS...",
    )
    parser.add_argument("--sam", default=str(DEFAULT_SAM) if DEFAULT_SAM.exists() else "sam", help="SAM CLI binary")
    parser.add_argument("--grace", type=float, default=60.0, help="seconds SAM gets to stop after SIGINT")
    args = parser.parse_args(argv[:split])
    sam_args = argv[split + 1 :]
    if not sam_args:
        parser.error("no SAM arguments after --")
    try:
        return run([args.sam, *sam_args], args.grace)
    except OSError as exc:
        say(f"error: cannot run {args.sam}: {exc}")
        return 127


if __name__ == "__main__":
    sys.exit(main())
