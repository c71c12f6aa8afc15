"""The OpenAPI document as stored for comparison (tests/functional/test_openapi_document.py): the values that come
from the served bundle (its examples, name and version) left out, so the stored copy holds on any machine."""

from __future__ import annotations

from typing import Any

STORED_NAME = "openapi-document.json"


def model_independent(document: Any) -> Any:
    """``document`` without ``example``/``examples`` (the bundle's rows and answers) and without ``info``'s
    ``summary`` and ``version`` (its name and sha256 prefix): what no bundle changes."""
    if isinstance(document, dict):
        kept = {k: model_independent(v) for k, v in document.items() if k not in ("example", "examples")}
        if "openapi" in kept and isinstance(kept.get("info"), dict):
            kept["info"] = {k: v for k, v in kept["info"].items() if k not in ("summary", "version")}
        return kept
    if isinstance(document, list):
        return [model_independent(item) for item in document]
    return document
