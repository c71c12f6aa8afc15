"""SnapStart: the hooks the function registers with AWS's snapshot_restore_py, run as the Lambda runtime runs them
after a restore, and what a user sees of them: the restored environment's first invocation is a cold start again
(X-Cold-Start, the log line's cold_start, the ColdStart metric), and Python's random numbers are not the ones every
other copy of the snapshot draws."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

from predictor.invocation import PROVISIONED, Invocations
from predictor.observability import EmfTelemetry
from tests.conftest import import_app, load_event, production_handler


def restore() -> None:
    """What the Lambda runtime does when it restores a snapshot: every registered after-restore hook, in order."""
    for hook, args, kwargs in get_after_restore():
        hook(*args, **kwargs)


@pytest.fixture(scope="module")
def fresh_app(default_bundle: Path) -> ModuleType:
    return import_app(default_bundle)  # an execution environment of its own: its first invocation not yet made


def cold_starts(response: dict[str, Any], log: io.StringIO, out: str) -> tuple[bool, bool, bool]:
    """Whether the invocation said cold start: in its X-Cold-Start header, its request log line, a ColdStart metric."""
    line = json.loads(log.getvalue().splitlines()[-1])
    assert line["message"] == "request"
    header = response["headers"].get("x-cold-start") == "true"
    metric = any('"ColdStart"' in blob for blob in out.splitlines() if blob.startswith('{"_aws"'))
    return header, line["cold_start"], metric


def test_the_first_invocation_after_a_restore_is_a_cold_start(
    fresh_app: ModuleType, log_lines: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    handler, event = production_handler(fresh_app), load_event("rest-predict-single")
    capsys.readouterr()
    assert cold_starts(handler(event), log_lines, capsys.readouterr().out) == (True, True, True)
    assert cold_starts(handler(event), log_lines, capsys.readouterr().out) == (False, False, False)
    assert get_before_snapshot() == []  # nothing to do before the snapshot: init leaves no connection open
    restore()
    assert cold_starts(handler(event), log_lines, capsys.readouterr().out) == (True, True, True)
    assert cold_starts(handler(event), log_lines, capsys.readouterr().out) == (False, False, False)


def test_random_numbers_differ_from_the_snapshot_s_after_a_restore(fresh_app: ModuleType) -> None:
    random.seed(22)  # the state every copy of the snapshot would share
    shared = [random.random() for _ in range(4)]
    random.seed(22)
    restore()
    assert [random.random() for _ in range(4)] != shared


def test_provisioned_concurrency_has_no_cold_start_and_a_restore_keeps_it_so() -> None:
    invocations = Invocations(EmfTelemetry(None), initialization_type=PROVISIONED)
    context = type("Context", (), {"function_name": "f", "memory_limit_in_mb": 128, "invoked_function_arn": "arn",
                                    "aws_request_id": "r"})()  # fmt: skip
    assert invocations.begin(context) is False
    invocations.restored()
    assert invocations.begin(context) is False
    on_demand = Invocations(EmfTelemetry(None), initialization_type="on-demand")
    assert (on_demand.begin(context), on_demand.begin(context)) == (True, False)
