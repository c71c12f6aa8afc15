"""The request line written in one pass (predictor/access_log.py) is the line Powertools' formatter writes for the
same record: same keys, same order, same values (the timestamp aside: two records, two instants)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from predictor.access_log import log_request
from predictor.observability import logger

FIELDS = {"method": "POST", "path": "/predict", "status": 200, "duration_ms": 0.512}


def both(log_lines: io.StringIO) -> tuple[dict[str, object], dict[str, object]]:
    std = logging.getLogger(logger.name)
    log_request(std, "request", FIELDS)
    logger.info("request", extra=FIELDS)
    fast, generic = (json.loads(line) for line in log_lines.getvalue().splitlines()[-2:])
    for line in (fast, generic):
        assert isinstance(line.pop("timestamp"), str)
        assert str(line.pop("location")).startswith("both:")
    return fast, generic


def test_the_request_line_is_powertools_line(log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    logger.append_keys(model_version="abc123", cold_start=True, function_request_id="r-1", unset=None)
    logger.thread_safe_append_keys(tenant="t-1")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    try:
        fast, generic = both(log_lines)
    finally:
        logger.remove_keys(["model_version", "cold_start", "function_request_id", "unset"])
        logger.thread_safe_clear_keys()
    assert list(fast.items()) == list(generic.items())
    assert fast["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert (fast["tenant"], fast["status"], "unset" in fast) == ("t-1", 200, False)


def test_nothing_is_written_below_the_logger_s_level(log_lines: io.StringIO) -> None:
    std = logging.getLogger(logger.name)
    level = std.level
    std.setLevel(logging.WARNING)
    try:
        log_request(std, "request", FIELDS)
    finally:
        std.setLevel(level)
    assert log_lines.getvalue() == ""
