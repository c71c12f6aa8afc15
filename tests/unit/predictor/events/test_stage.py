"""The URL prefix a client sees, derived from each kind of event."""

from __future__ import annotations

from typing import Any

import pytest

from predictor.events.stage import stage_prefix


def rest(path: str, requested: str) -> dict[str, Any]:
    return {"httpMethod": "GET", "path": path, "resource": "/{proxy+}", "requestContext": {"path": requested}}


EXECUTE_API = "a1b2c3.execute-api.us-east-1.amazonaws.com"


def no_path(stage: str, host: str, multi_value: bool = False) -> dict[str, Any]:
    """A REST event as some tools generate it: no requestContext.path, only the stage and the Host."""
    headers = {"multiValueHeaders": {"Host": [host]}} if multi_value else {"headers": {"Host": host}}
    return {"httpMethod": "GET", "path": "/docs", "requestContext": {"stage": stage}, **headers}


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
        (no_path("Prod", EXECUTE_API), "/docs", "/Prod"),  # on execute-api the URL begins with the stage
        (no_path("Prod", EXECUTE_API.upper() + ":443"), "/docs", "/Prod"),
        (no_path("Prod", EXECUTE_API, multi_value=True), "/docs", "/Prod"),
        (no_path("prod", "a1b2c3.execute-api.cn-north-1.amazonaws.com.cn"), "/docs", "/prod"),
        (no_path("v1", "a1b2c3-vpce-0a1b2c3d.execute-api.us-east-1.vpce.amazonaws.com"), "/docs", "/v1"),
        (no_path("Prod", "api.example.com"), "/docs", ""),  # custom domain
        (no_path("Prod", "127.0.0.1:3000"), "/docs", ""),  # sam local start-api
        (no_path("Prod", EXECUTE_API + ".evil.example"), "/docs", ""),
        (no_path("$default", EXECUTE_API), "/docs", ""),  # HTTP API, payload v1: no stage in the URL
        (no_path("", EXECUTE_API), "/docs", ""),
        ({**rest("/docs", "/docs"), "headers": {"Host": EXECUTE_API}}, "/docs", ""),  # requestContext.path wins
        (http("/prod/docs", "prod"), "/prod/docs", "/prod"),
        (http("/docs", "$default"), "/docs", ""),
        (http("/production/docs", "prod"), "/production/docs", ""),
        ({"httpMethod": "GET", "path": "/docs", "requestContext": {"elb": {}}}, "/docs", ""),  # ALB
        ({"path": "/docs"}, "/docs", ""),
    ],
)
def test_stage_prefix(event: dict[str, Any], path: str, prefix: str) -> None:
    assert stage_prefix(event, path) == prefix
