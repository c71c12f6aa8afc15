"""What the Lambda handler does around each event: the Lambda context's keys on every log line (the request id,
the cold start), the ``ColdStart`` metric on an execution environment's first invocation, the invocation's
metrics written at its end. Powertools' ``inject_lambda_context`` and ``log_metrics`` decorators did the same
work at a higher cost per request (a context model built and an environment variable read on every call, each
metric validated one by one, the blob assembled by a generic serialiser).

An execution environment's first invocation is its cold start, unless provisioned concurrency initialised it
(``AWS_LAMBDA_INITIALIZATION_TYPE``, read once into the settings). An environment restored from a SnapStart
snapshot starts cold again: ``Invocations.restored`` (predictor/snapstart.py calls it after a restore).
"""

from __future__ import annotations

from typing import Any

from predictor.observability import Telemetry, logger, metrics

PROVISIONED = "provisioned-concurrency"


class Invocations:
    """The execution environment's invocations: which one is the cold start, and each one's log keys and metrics."""

    def __init__(self, telemetry: Telemetry, initialization_type: str = "") -> None:
        self.telemetry = telemetry
        self.initialization_type = initialization_type
        self.cold = initialization_type != PROVISIONED

    def begin(self, context: Any) -> bool:
        """The invocation's keys on the log lines; whether it is the cold start (said once per environment)."""
        cold, self.cold = self.cold, False
        logger.append_keys(
            cold_start=cold,
            function_name=context.function_name,
            function_memory_size=context.memory_limit_in_mb,
            function_arn=context.invoked_function_arn,
            function_request_id=context.aws_request_id,
        )
        if logger.sampling_rate and not cold:  # as Powertools: a sampling decision per invocation
            logger.refresh_sample_rate_calculation()
        return cold

    def end(self, context: Any, cold: bool) -> None:
        """The ``ColdStart`` metric (its own blob, as Powertools writes it) on a cold start, then the invocation's."""
        if cold:
            metrics.provider.add_cold_start_metric(context)
        self.telemetry.flush()

    def restored(self) -> None:
        """After a SnapStart restore: the next invocation is this environment's cold start."""
        self.cold = self.initialization_type != PROVISIONED
