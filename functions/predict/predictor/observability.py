"""Logs and metrics: Powertools on Lambda (JSON logs, CloudWatch embedded metric format), Prometheus locally.

The same numbers either way, recorded by ``Telemetry``:
- ``Requests`` (count), ``ClientErrors`` (4xx), ``ServerErrors`` (5xx) for every response;
- ``Predictions`` (requests served), ``PredictedRows`` and ``PredictLatency`` (ms, model work only).

On Lambda they go out as EMF in the function's own log stream: no PutMetricData call, no latency.
Each blob carries two dimension sets, ``[service]`` (what the rollback alarm watches, stable across
versions) and ``[model_version]`` (what the dashboard splits by). Mangum turns an unhandled exception
into a 500 response, which Lambda's ``Errors`` metric never counts: ``ServerErrors`` does.
``EmfTelemetry`` keeps an invocation's values in a dict and writes them as the one blob Powertools' ``Metrics``
would (namespace, service and dimension sets as it resolves them), in one serialisation at the end of the
invocation (predictor/invocation.py): Powertools' per-metric validation and serialisation took ~90 µs a request
in a cProfile of the handler.

Locally (uvicorn, ``make dev``) there is no log stream to parse, so the numbers are served at
``/metrics`` in Prometheus text format; prometheus_client is imported only then (never on Lambda).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Protocol

from aws_lambda_powertools import Logger, Metrics
from pydantic_core import to_json

from predictor.access_log import JsonLines

SERVICE = "predict"  # POWERTOOLS_SERVICE_NAME overrides it (template.yaml sets it)
NAMESPACE = "ServerlessInference"  # POWERTOOLS_METRICS_NAMESPACE overrides it

logger = Logger(service=SERVICE, logger_formatter=JsonLines())
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)  # its configuration, and the ColdStart metric
UNITS = {"Requests": "Count", "ClientErrors": "Count", "ServerErrors": "Count",
         "Predictions": "Count", "PredictedRows": "Count", "PredictLatency": "Milliseconds"}  # fmt: skip


class Telemetry(Protocol):
    def response(self, status: int) -> None: ...

    def prediction(self, rows: int, seconds: float) -> None: ...

    def flush(self) -> None: ...  # at the end of each Lambda invocation


class EmfTelemetry:
    """Metrics buffered per invocation and written as one EMF blob by ``flush`` (the handler's, after each event)."""

    def __init__(self, model_version: str | None) -> None:
        self.model_version = model_version
        self.namespace = str(metrics.namespace)
        self.dimensions = {"service": str(metrics.service)}
        if model_version:
            self.dimensions["model_version"] = model_version
        self.dimension_sets = [[name] for name in self.dimensions]  # [service], [model_version]: one set each
        self.dimensions_json = json.dumps(self.dimensions, separators=(",", ":"))[1:-1]  # "service":"...",...
        self.directives: dict[tuple[str, ...], str] = {}  # the CloudWatchMetrics JSON by metric names
        self.values: dict[str, list[float]] = {}

    def add(self, name: str, value: float) -> None:
        self.values.setdefault(name, []).append(float(value))

    def response(self, status: int) -> None:
        self.add("Requests", 1)
        if 400 <= status < 500:
            self.add("ClientErrors", 1)
        elif status >= 500:
            self.add("ServerErrors", 1)

    def prediction(self, rows: int, seconds: float) -> None:
        self.add("Predictions", 1)
        self.add("PredictedRows", rows)
        self.add("PredictLatency", round(seconds * 1000, 3))

    def flush(self) -> None:
        """The buffered values as one EMF line on stdout (none when there are none), then forgotten. The blob's
        directive (namespace, dimension sets, metric names and units) is serialised once per set of names; the values
        by pydantic-core (pinned with pydantic), a quarter of ``json.dumps``' time (``timeit``): the same text for
        these floats, counts and latencies in ms rounded to the µs (it writes 1e-05 as 0.00001, never met here)."""
        if not self.values:
            return
        values, self.values = self.values, {}
        names = tuple(values)
        directive = self.directives.get(names)
        if directive is None:
            definitions = [{"Name": name, "Unit": UNITS[name]} for name in names]
            spec = {"Namespace": self.namespace, "Dimensions": self.dimension_sets, "Metrics": definitions}
            directive = self.directives[names] = json.dumps([spec], separators=(",", ":"))
        timestamp = int(time.time() * 1000)
        body = to_json(values).decode()[1:]  # "Requests":[1.0],...}
        sys.stdout.write(
            f'{{"_aws":{{"Timestamp":{timestamp},"CloudWatchMetrics":{directive}}},{self.dimensions_json},{body}\n'
        )


class PrometheusTelemetry:
    """The same numbers as Prometheus counters and a histogram, in a registry of the app's own."""

    def __init__(self, model_version: str | None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        labels = {"model_version": model_version or "none"}
        self._responses = Counter(
            "predict_http_responses", "HTTP responses by status class", ["model_version", "status_class"],
            registry=self.registry,
        )  # fmt: skip
        self._predictions = Counter(
            "predict_predictions", "Requests that were served predictions", ["model_version"], registry=self.registry
        ).labels(**labels)
        self._rows = Counter(
            "predict_rows", "Rows predicted", ["model_version"], registry=self.registry
        ).labels(**labels)  # fmt: skip
        self._latency = Histogram(
            "predict_latency_seconds", "Time in the model per request", ["model_version"], registry=self.registry,
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        ).labels(**labels)  # fmt: skip
        self._labels = labels

    def response(self, status: int) -> None:
        self._responses.labels(status_class=f"{status // 100}xx", **self._labels).inc()

    def prediction(self, rows: int, seconds: float) -> None:
        self._predictions.inc()
        self._rows.inc(rows)
        self._latency.observe(seconds)

    def flush(self) -> None:
        """Nothing to write: Prometheus reads the counters at /metrics."""

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
