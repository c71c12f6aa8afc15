"""The EMF blob's values: written as ``json.dumps`` writes them."""

from __future__ import annotations

import json

import pytest

from predictor.observability import EmfTelemetry


@pytest.mark.parametrize("seconds", [0.0, 0.000_000_4, 0.000_012_345, 0.004_567_8, 1.234_567_89, 61.0])
def test_the_values_are_json_dumps_text(seconds: float, capsys: pytest.CaptureFixture[str]) -> None:
    telemetry = EmfTelemetry("abc123")
    telemetry.response(200)
    telemetry.response(422)
    telemetry.response(503)
    telemetry.prediction(1000, seconds)
    values = {name: list(numbers) for name, numbers in telemetry.values.items()}
    capsys.readouterr()
    telemetry.flush()
    out = capsys.readouterr().out
    assert out.endswith("," + json.dumps(values, separators=(",", ":"))[1:] + "\n")
    blob = json.loads(out)
    assert (blob["model_version"], blob["Requests"], blob["PredictedRows"]) == ("abc123", [1.0, 1.0, 1.0], [1000.0])
