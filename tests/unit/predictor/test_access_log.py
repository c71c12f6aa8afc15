"""The request line written in one pass (predictor/access_log.py) is the line Powertools' formatter writes for the
same record: same keys, same order, same values (the timestamp aside: two records, two instants)."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest
from aws_lambda_powertools.logging.filters import SuppressFilter
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from predictor.access_log import JsonLines, log_request
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


def request_lines(log_lines: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in log_lines.getvalue().splitlines()]


def test_a_handler_s_filter_and_level_still_apply(log_lines: io.StringIO) -> None:
    """A filtered handler gets the line through ``Handler.handle`` (its filter says no here); one set above INFO gets
    nothing; the other handlers still get it."""
    std = logging.getLogger(logger.name)
    refusing, quiet = io.StringIO(), io.StringIO()
    filtered, warning_only = logging.StreamHandler(refusing), logging.StreamHandler(quiet)
    filtered.setFormatter(logger.registered_formatter)
    filtered.addFilter(lambda record: False)
    warning_only.setFormatter(logger.registered_formatter)
    warning_only.setLevel(logging.WARNING)
    for handler in (filtered, warning_only):
        std.addHandler(handler)
    try:
        log_request(std, "request", FIELDS)
    finally:
        for handler in (filtered, warning_only):
            std.removeHandler(handler)
    assert (refusing.getvalue(), quiet.getvalue()) == ("", "")
    assert [line["status"] for line in request_lines(log_lines)] == [200]


def test_a_logger_filter_still_applies(log_lines: io.StringIO) -> None:
    std = logging.getLogger(logger.name)
    seen: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record)
        return False

    std.addFilter(keep)
    try:
        log_request(std, "request", FIELDS)
    finally:
        std.removeFilter(keep)
    assert (log_lines.getvalue(), [record.getMessage() for record in seen]) == ("", ["request"])


def test_a_key_naming_another_record_attribute_is_formatted(log_lines: io.StringIO) -> None:
    """A key whose format names a record attribute the direct line does not carry (here the process id) is
    formatted from a real record, as Powertools would."""
    logger.append_keys(process="%(process)d")
    try:
        both(log_lines)
    finally:
        logger.remove_keys(["process"])
    fast, generic = request_lines(log_lines)[-2:]
    assert fast["process"] == generic["process"] == str(os.getpid())


def test_the_timestamp_is_powertools_one() -> None:
    """The default timestamp (made from the text of its second) is Powertools' own, in local time and in UTC."""
    for utc in (False, True):
        ours, theirs = JsonLines(utc=utc), LambdaPowertoolsFormatter(utc=utc)
        for created in (0.0, 1_790_000_000.0015, 1_790_000_000.999, 1_790_000_001.5, 1_700_000_000.25):
            record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", (), None)
            record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
            assert ours.formatTime(record) == theirs.formatTime(record)


def test_the_root_handlers_filters_decide_as_on_lambda(log_lines: io.StringIO) -> None:
    """The logger propagates: a root handler with Powertools' ``SuppressFilter`` for its service (the Lambda
    runtime's, on Lambda) gets nothing, one suppressing another service gets the record."""
    suppressed, other = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(suppressed), logging.StreamHandler(other)]
    handlers[0].addFilter(SuppressFilter(logger.name))
    handlers[1].addFilter(SuppressFilter("another-service"))
    for handler in handlers:
        logging.root.addHandler(handler)
    try:
        log_request(logging.getLogger(logger.name), "request", FIELDS)
    finally:
        for handler in handlers:
            logging.root.removeHandler(handler)
    assert (suppressed.getvalue(), other.getvalue()) == ("", "request\n")
    assert len(request_lines(log_lines)) == 1


def test_a_stream_that_fails_is_the_handler_s_error(log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    handler = logging.StreamHandler(Broken())
    handler.setFormatter(logger.registered_formatter)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    std = logging.getLogger(logger.name)
    std.addHandler(handler)
    try:
        log_request(std, "request", FIELDS)
    finally:
        std.removeHandler(handler)
    assert [(record.getMessage(), record.levelno) for record in errors] == [("request", logging.INFO)]
    assert len(request_lines(log_lines)) == 1


def test_log_sampling_still_decides(log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools' sampling (a rate of 1: every invocation sampled) sets the logger to DEBUG: the line is written
    even where the configured level is WARNING."""
    std = logging.getLogger(logger.name)
    monkeypatch.setattr(logger, "initial_log_level", logging.WARNING)
    monkeypatch.setattr(logger, "sampling_rate", 1)
    level = std.level
    try:
        logger.refresh_sample_rate_calculation()
        log_request(std, "request", FIELDS)
    finally:
        std.setLevel(level)
    assert std.getEffectiveLevel() == level
    assert [line["status"] for line in request_lines(log_lines)] == [200]
