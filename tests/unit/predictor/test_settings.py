from __future__ import annotations

from pathlib import Path

import pytest

from predictor.settings import Settings, SettingsError


def test_defaults_point_at_the_layer() -> None:
    settings = Settings.from_env({})
    assert settings.model_dir == Path("/opt/model")
    assert settings.max_batch_rows == 1000


def test_values_from_the_environment() -> None:
    settings = Settings.from_env({"MODEL_DIR": "/tmp/m", "MAX_BATCH_ROWS": "50"})
    assert (settings.model_dir, settings.max_batch_rows) == (Path("/tmp/m"), 50)


@pytest.mark.parametrize("raw", ["0", "-3", "ten", "1.5"])
def test_bad_max_batch_rows_is_refused_by_name(raw: str) -> None:
    with pytest.raises(SettingsError, match=f"MAX_BATCH_ROWS must be a positive integer, got '{raw}'"):
        Settings.from_env({"MAX_BATCH_ROWS": raw})
