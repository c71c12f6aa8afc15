"""Logs and metrics: Powertools on Lambda (JSON logs, CloudWatch embedded metric format), Prometheus locally.

The same numbers either way, recorded by ``Telemetry``:
- ``Requests`` (count), ``ClientErrors`` (4xx), ``ServerErrors`` (5xx) for every response;
- ``Predictions`` (requests served), ``PredictedRows`` and ``PredictLatency`` (ms, model work only).

On Lambda they go out as EMF in the function's own log stream: no PutMetricData call, no latency.
Each blob carries two dimension sets, ``[service]`` (what the rollback alarm watches, stable across
versions) and ``[model_version]`` (what the dashboard splits by). Mangum turns an unhandled exception
into a 500 response, which Lambda's ``Errors`` metric never counts: ``ServerErrors`` does.

Locally (uvicorn, ``make dev``) there is no log stream to parse, so the numbers are served at
``/metrics`` in Prometheus text format; prometheus_client is imported only then (never on Lambda).
"""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "predict"  # POWERTOOLS_SERVICE_NAME overrides it (template.yaml sets it)
NAMESPACE = "ServerlessInference"  # POWERTOOLS_METRICS_NAMESPACE overrides it

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class Telemetry(Protocol):
    def response(self, status: int) -> None: ...

    def prediction(self, rows: int, seconds: float) -> None: ...


class EmfTelemetry:
    """Metrics buffered per invocation and flushed by ``metrics.log_metrics`` around the handler."""

    def __init__(self, model_version: str | None) -> None:
        self.model_version = model_version

    def response(self, status: int) -> None:
        if self.model_version:
            metrics.add_dimensions(model_version=self.model_version)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        if 400 <= status < 500:
            metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
        elif status >= 500:
            metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)

    def prediction(self, rows: int, seconds: float) -> None:
        metrics.add_metric(name="Predictions", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="PredictedRows", unit=MetricUnit.Count, value=rows)
        metrics.add_metric(name="PredictLatency", unit=MetricUnit.Milliseconds, value=round(seconds * 1000, 3))


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

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
