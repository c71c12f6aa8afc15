"""The URL prefix a client sees, derived from each kind of event."""

from __future__ import annotations

from typing import Any

import pytest

from predictor.stage import stage_prefix


def rest(path: str, requested: str) -> dict[str, Any]:
    return {"httpMethod": "GET", "path": path, "resource": "/{proxy+}", "requestContext": {"path": requested}}


def http(raw: str, stage: str) -> dict[str, Any]:
    return {"version": "2.0", "rawPath": raw, "requestContext": {"stage": stage, "http": {"path": raw}}}


@pytest.mark.parametrize(
    ("event", "path", "prefix"),
    [
        (rest("/docs", "/prod/docs"), "/docs", "/prod"),  # execute-api domain
        (rest("/docs", "/docs"), "/docs", ""),  # custom domain, no base path
        (rest("/docs", "/v1/docs"), "/docs", "/v1"),  # custom domain with base path mapping
        (rest("/docs", "/{proxy+}"), "/docs", ""),  # sam local start-api: route template, no stage in URL
        (rest("/docs", "/cdocs"), "/docs", ""),  # not a path-segment prefix
        (http("/prod/docs", "prod"), "/prod/docs", "/prod"),
        (http("/docs", "$default"), "/docs", ""),
        (http("/production/docs", "prod"), "/production/docs", ""),
        ({"httpMethod": "GET", "path": "/docs", "requestContext": {"elb": {}}}, "/docs", ""),  # ALB
        ({"path": "/docs"}, "/docs", ""),
    ],
)
def test_stage_prefix(event: dict[str, Any], path: str, prefix: str) -> None:
    assert stage_prefix(event, path) == prefix
