"""The example profile (a test fixture shaped like bench/profile.json, not a measurement) and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.plan.profile import Profile, load_profile

EXAMPLE = Path(__file__).with_name("profile.example.json")


@pytest.fixture(scope="session")
def profile() -> Profile:
    return load_profile(EXAMPLE)
