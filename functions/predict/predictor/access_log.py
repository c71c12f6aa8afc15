"""The one log line per request (method, path, status, duration), serialised in one pass and written straight to
the handler's stream.

Through ``logger.info(..., extra=...)`` the line cost 86-135 µs (``timeit``; ~145 µs in a cProfile of the handler),
most of it Powertools' formatter's generic work: the caller's frame looked up, every attribute of the record copied
and filtered for extras, exceptions and stack traces looked for, ``None`` values stripped. ``JsonLines`` writes the
request line as Powertools would, with the same keys in the same order (the formatter's keys: level, location,
message, timestamp, service, the Lambda context's, the model version; then the request's; then ``xray_trace_id``
when tracing is on), in one call of the formatter's JSON encoder. Every other record goes through Powertools'
formatter unchanged.

``log_request`` makes no ``LogRecord`` for the handlers on the usual way: it walks the handlers an INFO record of
the logger reaches (``Logger.callHandlers``' walk: the logger's, then its parents' while it propagates) and writes
the line itself to each plain ``StreamHandler`` (no subclass, no filters, a ``JsonLines`` formatter), as
``StreamHandler.emit`` would: on its stream, under its lock, then flushed. A handler whose filters are Powertools'
``SuppressFilter`` refusing the logger's name (on Lambda, the runtime's root handler) is skipped, as that filter
would decide; any other handler handles a record made for it, as before. ``Logger.handle`` takes the whole line when
the logger is disabled or has filters, when no handler is found (logging's last resort), or when a key's format
names a record attribute the direct line does not carry. The level is the logger's own (``isEnabledFor``):
Powertools' log sampling, which sets it to DEBUG, still applies.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, cast

from aws_lambda_powertools.logging.filters import SuppressFilter
from aws_lambda_powertools.logging.formatter import RESERVED_LOG_ATTRS, LambdaPowertoolsFormatter

REQUEST_FIELDS = "request_fields"  # the record attribute that marks a request line and holds its fields
RECORD_ATTRIBUTES = frozenset(RESERVED_LOG_ATTRS)  # a tuple in Powertools: a linear scan per key and record


class JsonLines(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with a direct path for the request line (a record carrying ``REQUEST_FIELDS``,
    or ``request_line`` called with the record's attributes)."""

    def __init__(self, json_serializer: Callable[[Any], str] | None = None, **kwargs: Any) -> None:
        super().__init__(json_serializer=json_serializer, **kwargs)
        if json_serializer is None:
            # Powertools' default, json.dumps(log, default=..., separators=..., indent=..., ensure_ascii=False), makes
            # this encoder on every call: made once here, the same text.
            self.json_serializer = json.JSONEncoder(
                default=self.json_default, separators=(",", ":"), indent=self.json_indent, ensure_ascii=False
            ).encode
        self.second: tuple[int, str, str] = (-1, "", "")  # a second, and its default timestamp around the ms

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Powertools' timestamp; its default format ("2021-05-03 10:20:19,650+0200") from the text of the record's
        second (``time.strftime`` once a second) and its milliseconds."""
        if datefmt or self.datefmt or self.use_rfc3339_iso8601:
            return super().formatTime(record, datefmt)
        second, before, after = self.second
        if second != int(record.created):
            second = int(record.created)
            moment = self.converter(record.created)
            head, tail = self.default_time_format.split(self.custom_ms_time_directive)
            before, after = time.strftime(head, moment), time.strftime(tail, moment)
            self.second = second, before, after
        return f"{before}{int(record.msecs):03d}{after}"

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] | None = record.__dict__.get(REQUEST_FIELDS)
        if fields is None:
            return super().format(record)
        record.asctime = self.formatTime(record)
        return self.request_line(record.__dict__, fields)

    def request_line(self, attributes: Mapping[str, Any], fields: dict[str, Any]) -> str:
        """The line of a record with ``attributes`` (``msg``, ``asctime`` and whichever the keys' formats name: a
        ``KeyError`` for one it lacks) and the request's ``fields``."""
        line: dict[str, Any] = {}
        add_keys(line, self.log_format, attributes)
        add_keys(line, self.thread_safe_get_current_keys(), attributes)  # keys appended with thread_safe_append_keys
        line.update(fields)
        trace_id = self._get_latest_trace_id()
        if trace_id:
            line["xray_trace_id"] = trace_id
        return self.serialize(log=line)


def add_keys(line: dict[str, Any], keys: dict[str, Any], attributes: Mapping[str, Any]) -> None:
    """``keys`` into ``line`` as Powertools adds them: record attributes formatted ("%(levelname)s",
    "%(funcName)s:%(lineno)d", ...), the message, other values as they are; ``None`` left out."""
    for key, value in keys.items():
        if key == "message":
            line[key] = attributes["msg"]
        elif value and key in RECORD_ATTRIBUTES:
            line[key] = value % attributes
        elif value is not None:
            line[key] = value


class Instant:
    """What ``Formatter.formatTime`` reads of a record: when it was made (seconds, and their milliseconds as
    ``LogRecord`` computes them)."""

    __slots__ = ("created", "msecs")

    def __init__(self, created: float) -> None:
        self.created = created
        self.msecs = int((created - int(created)) * 1000) + 0.0


def plain(handler: logging.Handler) -> bool:
    """Whether ``handler`` is a ``StreamHandler`` as logging makes it (no subclass), with no filters and a
    ``JsonLines`` formatter: one whose ``handle`` is a lock, the formatted line written to its stream, a flush."""
    return type(handler) is logging.StreamHandler and not handler.filters and isinstance(handler.formatter, JsonLines)


def suppresses(handler: logging.Handler, name: str) -> bool:
    """Whether ``handler``'s filters refuse every record of the logger ``name`` by its name alone: Powertools'
    ``SuppressFilter``, which it puts on the root logger's handlers (on Lambda, the runtime's) so that its logger's
    records, which propagate, are not written twice."""
    suppressing = [f for f in handler.filters if isinstance(f, SuppressFilter)]
    return len(suppressing) == len(handler.filters) > 0 and any(f.logger in name for f in suppressing)


def reached(logger: logging.Logger) -> list[logging.Handler] | None:
    """The handlers that an INFO record of ``logger`` reaches and that do not refuse it by its name, in
    ``Logger.callHandlers``' order; ``None`` when ``Logger.handle`` must decide (the logger disabled or filtered,
    or no handler at all: logging's last resort)."""
    if logger.disabled or logger.filters:
        return None
    handlers = []
    found = False
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            found = True
            if handler.level <= logging.INFO and not suppresses(handler, logger.name):
                handlers.append(handler)
        current = current.parent if current.propagate else None
    return handlers if found else None


class RequestLine:
    """A request line on its way to the handlers: its record's attributes (as ``makeRecord`` would set the ones the
    formatter's keys use), the ``LogRecord`` itself made only for a handler that needs one."""

    def __init__(self, logger: logging.Logger, caller: FrameType, message: str, fields: dict[str, Any]) -> None:
        code = caller.f_code
        self.logger = logger
        self.fields = fields
        self.attributes: dict[str, Any] = {
            "name": logger.name, "msg": message, "args": (), "levelname": "INFO", "levelno": logging.INFO,
            "pathname": code.co_filename, "funcName": code.co_name, "lineno": caller.f_lineno, "created": time.time(),
        }  # fmt: skip
        self.made: logging.LogRecord | None = None

    def record(self) -> logging.LogRecord:
        if self.made is None:
            a = self.attributes
            self.made = self.logger.makeRecord(
                a["name"], logging.INFO, a["pathname"], a["lineno"], a["msg"], (), None, a["funcName"],
                {REQUEST_FIELDS: self.fields},
            )  # fmt: skip
        return self.made

    def texts(self, handlers: list[logging.Handler]) -> dict[logging.Handler, str] | None:
        """The line as each ``plain`` handler's formatter writes it (its timestamp, its keys); ``None`` when a key's
        format names a record attribute that ``attributes`` lacks."""
        instant = Instant(self.attributes["created"])
        texts = {}
        try:
            for handler in handlers:
                if plain(handler):
                    formatter = cast(JsonLines, handler.formatter)
                    self.attributes["asctime"] = formatter.formatTime(cast(logging.LogRecord, instant))
                    texts[handler] = formatter.request_line(self.attributes, self.fields)
        except KeyError:
            return None
        return texts


def write(handler: logging.Handler, text: str, line: RequestLine) -> None:
    """``StreamHandler.emit`` of a formatted line, under the handler's lock as ``Handler.handle`` takes it."""
    stream_handler = cast("logging.StreamHandler[Any]", handler)
    handler.acquire()
    try:
        stream = stream_handler.stream  # read under the lock, which setStream takes to change it
        stream.write(text + stream_handler.terminator)
        if hasattr(stream, "flush"):  # StreamHandler.flush, under the lock already held
            stream.flush()
    except RecursionError:
        raise
    except Exception:  # noqa: BLE001 - as logging: the handler reports it (logging.raiseExceptions), the app goes on
        handler.handleError(line.record())
    finally:
        handler.release()


def log_request(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """``message`` and the request's ``fields`` at INFO, as one line, when INFO is enabled: written straight to each
    ``plain`` handler's stream; any other handler handles the record, as ``Logger.handle`` would have it do."""
    if not logger.isEnabledFor(logging.INFO):
        return
    line = RequestLine(logger, sys._getframe(1), message, fields)
    handlers = reached(logger)
    texts = None if handlers is None else line.texts(handlers)
    if handlers is None or texts is None:
        logger.handle(line.record())
        return
    for handler in handlers:
        text = texts.get(handler)
        if text is None:
            handler.handle(line.record())
        else:
            write(handler, text, line)
