"""Every environment variable the function reads, parsed once at init and validated (listed in template.yaml,
but for the ones the Lambda runtime sets)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MODEL_DIR = "MODEL_DIR"
MAX_BATCH_ROWS = "MAX_BATCH_ROWS"
MAX_BODY_BYTES = "MAX_BODY_BYTES"
CORS_ALLOW_ORIGINS = "CORS_ALLOW_ORIGINS"  # comma-separated; empty: no CORS headers at all
MIN_TIME_LEFT_MS = "MIN_TIME_LEFT_MS"
LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"  # set by the Lambda runtime (and by sam local)
# Set by the Lambda runtime: "on-demand", "provisioned-concurrency" or "snap-start".
LAMBDA_INITIALIZATION_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"

DEFAULT_MODEL_DIR = "/opt/model"  # where Lambda extracts the model layer's model/ folder
DEFAULT_MAX_BATCH_ROWS = 1000
# Lambda refuses synchronous payloads over 6 MB (6,291,456 bytes) with an opaque 413 from API Gateway;
# refusing a little earlier, ourselves, gives the client a JSON detail instead.
DEFAULT_MAX_BODY_BYTES = 5_000_000
# A request that arrives with less time than this left in the invocation is refused (503) instead of
# being cut off by the Lambda timeout mid-prediction.
DEFAULT_MIN_TIME_LEFT_MS = 1000


class SettingsError(ValueError):
    """An environment variable holds a value the function cannot run with."""


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    model_dir: Path = Path(DEFAULT_MODEL_DIR)
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_allow_origins: tuple[str, ...] = ()
    min_time_left_ms: int = DEFAULT_MIN_TIME_LEFT_MS
    # On Lambda: metrics as EMF in the logs. Elsewhere (uvicorn): Prometheus text at /metrics.
    on_lambda: bool = False
    # How Lambda initialised this environment: provisioned concurrency's first invocation is no cold start.
    initialization_type: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            model_dir=Path(env.get(MODEL_DIR) or DEFAULT_MODEL_DIR),
            max_batch_rows=_positive_int(env, MAX_BATCH_ROWS, DEFAULT_MAX_BATCH_ROWS),
            max_body_bytes=_positive_int(env, MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
            cors_allow_origins=tuple(o.strip() for o in env.get(CORS_ALLOW_ORIGINS, "").split(",") if o.strip()),
            min_time_left_ms=_positive_int(env, MIN_TIME_LEFT_MS, DEFAULT_MIN_TIME_LEFT_MS),
            on_lambda=bool(env.get(LAMBDA_FUNCTION_NAME)),
            initialization_type=env.get(LAMBDA_INITIALIZATION_TYPE, ""),
        )
