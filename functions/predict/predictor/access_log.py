"""The one log line per request (method, path, status, duration), serialised in one pass.

Through ``logger.info(..., extra=...)`` the line cost 86-135 µs (``timeit``; ~145 µs in a cProfile of the handler),
most of it Powertools' formatter's generic work: the
caller's frame looked up, every attribute of the record copied and filtered for extras, exceptions and stack
traces looked for, ``None`` values stripped. ``log_request`` makes the record itself (its location is the
caller's frame, read once) and ``JsonLines`` writes it as Powertools would, with the same keys in the same order
(the formatter's keys: level, location, message, timestamp, service, the Lambda context's, the model version;
then the request's; then ``xray_trace_id`` when tracing is on), in one ``json.dumps``. Every other record goes
through Powertools' formatter unchanged.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

REQUEST_FIELDS = "request_fields"  # the record attribute that marks a request line and holds its fields
RECORD_ATTRIBUTES = frozenset(RESERVED_LOG_ATTRS)  # a tuple in Powertools: a linear scan per key and record


class JsonLines(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with a direct path for the request line (a record carrying ``REQUEST_FIELDS``)."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] | None = record.__dict__.get(REQUEST_FIELDS)
        if fields is None:
            return super().format(record)
        record.asctime = self.formatTime(record)
        line: dict[str, Any] = {}
        add_keys(line, self.log_format, record)
        add_keys(line, self.thread_safe_get_current_keys(), record)  # keys appended with thread_safe_append_keys
        line.update(fields)
        trace_id = self._get_latest_trace_id()
        if trace_id:
            line["xray_trace_id"] = trace_id
        return self.serialize(log=line)


def add_keys(line: dict[str, Any], keys: dict[str, Any], record: logging.LogRecord) -> None:
    """``keys`` into ``line`` as Powertools adds them: record attributes formatted ("%(levelname)s",
    "%(funcName)s:%(lineno)d", ...), the message, other values as they are; ``None`` left out."""
    for key, value in keys.items():
        if key == "message":
            line[key] = record.msg
        elif value and key in RECORD_ATTRIBUTES:
            line[key] = value % record.__dict__
        elif value is not None:
            line[key] = value


def log_request(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """``message`` and the request's ``fields`` at INFO, as one line, when INFO is enabled."""
    if not logger.isEnabledFor(logging.INFO):
        return
    caller = sys._getframe(1)
    code = caller.f_code
    record = logger.makeRecord(
        logger.name, logging.INFO, code.co_filename, caller.f_lineno, message, (), None, code.co_name,
        {REQUEST_FIELDS: fields},
    )  # fmt: skip
    logger.handle(record)
