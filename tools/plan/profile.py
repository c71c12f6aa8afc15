"""The model's measured figures per memory size (``bench/profile.json``): one contract, read by every tool.

``make bench`` writes the file; a user's own run replaces it. Per memory size (MB, as a string key): the warm
handler duration for 1 and for 100 rows per request (p50, p99, mean, ms), the init duration of a cold start
(p50, p99, ms), the peak memory (MB) and the largest batch tried (rows, whether it fit). ``restore_ms`` (SnapStart
restore, p50/p99) is optional: when it is absent the planner states the restore duration it assumes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.build.lambda_platform import MEMORY_MB_MAX, MEMORY_MB_MIN

ROWS = ("1", "100")  # the batch sizes whose warm duration the profile holds


class ProfileError(ValueError):
    pass


class WarmMs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p50: float = Field(gt=0)
    p99: float = Field(gt=0)
    mean: float = Field(gt=0)

    @model_validator(mode="after")
    def ordered(self) -> WarmMs:
        if not self.p50 <= self.p99 or not self.mean <= self.p99:
            raise ValueError(f"p50 ({self.p50}) and mean ({self.mean}) must not exceed p99 ({self.p99})")
        return self


class StartMs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p50: float = Field(gt=0)
    p99: float = Field(gt=0)

    @model_validator(mode="after")
    def ordered(self) -> StartMs:
        if self.p50 > self.p99:
            raise ValueError(f"p50 ({self.p50}) is above p99 ({self.p99})")
        return self


class LargestBatch(BaseModel):
    model_config = ConfigDict(extra="allow")  # the bench may add what it saw (bytes, status...)
    rows: int = Field(ge=1)
    fits: bool


class SizeFigures(BaseModel):
    model_config = ConfigDict(extra="ignore")
    warm_ms: dict[str, WarmMs]
    init_ms: StartMs
    peak_memory_mb: float | None = Field(default=None, gt=0)  # None: the largest batch did not fit (killed)
    largest_batch: LargestBatch
    restore_ms: StartMs | None = None

    @field_validator("warm_ms")
    @classmethod
    def both_batches(cls, value: dict[str, WarmMs]) -> dict[str, WarmMs]:
        missing = [rows for rows in ROWS if rows not in value]
        if missing:
            raise ValueError(f"needs warm figures for {', '.join(missing)} row(s) per request")
        return value


class Profile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    measured_at: date | datetime
    command: str
    architecture: Literal["x86_64", "arm64"]
    sizes: dict[str, SizeFigures]

    @field_validator("sizes")
    @classmethod
    def lambda_sizes(cls, value: dict[str, SizeFigures]) -> dict[str, SizeFigures]:
        if not value:
            raise ValueError("holds no memory size")
        for key in value:
            if not key.isdigit() or not MEMORY_MB_MIN <= int(key) <= MEMORY_MB_MAX:
                raise ValueError(f"{key!r} is not a memory size Lambda offers ({MEMORY_MB_MIN}-{MEMORY_MB_MAX} MB)")
        return value

    def memory_sizes(self) -> list[int]:
        return sorted(int(key) for key in self.sizes)

    def at(self, memory_mb: int) -> SizeFigures:
        return self.sizes[str(memory_mb)]


def load_profile(path: Path) -> Profile:
    """The profile at ``path``, validated; a ProfileError names the file and the first field that is wrong."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ProfileError(f"no profile at {path}: run `make bench` or pass --profile FILE.json") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfileError(f"profile {path} is not readable JSON: {exc}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ProfileError(f"profile {path}: {where}: {first['msg']}") from None
