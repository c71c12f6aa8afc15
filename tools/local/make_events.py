"""Regenerate events/*.json from `sam local generate-event` output (real-shaped API Gateway/ALB events).

    .venv/bin/python tools/local/make_events.py      # or: make events

Each event starts as what SAM CLI prints for its source (REST API v1 `aws-proxy` with stage prod,
HTTP API v2 `http-api-proxy`, ALB `request`) and gets this project's method, path and body. The
expected outcome of every file is listed in tests/functional/test_events.py.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

from sklearn.datasets import load_diabetes

from tools.paths import ROOT

EVENTS = ROOT / "events"
SAM = os.environ.get("SAM", str(ROOT / ".venv-sam" / "bin" / "sam"))

X = load_diabetes().data
NAMES = list(load_diabetes().feature_names)


def row(i: int) -> list[float]:
    return [round(float(v), 6) for v in X[i]]


def generate(kind: list[str], method: str, path: str) -> dict[str, Any]:
    out = subprocess.run(
        [SAM, "local", "generate-event", *kind, "--method", method, "--path", path.lstrip("/"), "--body", ""],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def with_body(event: dict[str, Any], body: str | None, base64_encoded: bool = False) -> dict[str, Any]:
    headers = event.setdefault("headers", {}) or {}
    if body is None:
        event["body"] = None
        event["isBase64Encoded"] = False
        return event
    headers["content-type"] = "application/json"
    if "multiValueHeaders" in event and event["multiValueHeaders"] is not None:
        event["multiValueHeaders"]["content-type"] = ["application/json"]
    event["body"] = base64.b64encode(body.encode()).decode() if base64_encoded else body
    event["isBase64Encoded"] = base64_encoded
    return event


def rest(method: str, path: str, body: str | None = None, b64: bool = False) -> dict[str, Any]:
    event = generate(["apigateway", "aws-proxy"], method, path)
    event["queryStringParameters"] = None
    event["multiValueQueryStringParameters"] = None
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    return with_body(event, body, b64)


def http(method: str, path: str, body: str | None = None, stage: str = "$default") -> dict[str, Any]:
    event = generate(["apigateway", "http-api-proxy"], method, path)
    raw = path if stage == "$default" else f"/{stage}{path}"
    event["rawPath"] = raw
    event["rawQueryString"] = ""
    event.pop("queryStringParameters", None)
    event["routeKey"] = "ANY /{proxy+}"
    event["requestContext"]["http"]["path"] = raw
    event["requestContext"]["stage"] = stage
    event["requestContext"]["routeKey"] = "ANY /{proxy+}"
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["headers"] = {k: v for k, v in event["headers"].items() if not k.lower().startswith("header")}
    event.pop("cookies", None)
    return with_body(event, body)


def alb(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    event = generate(["alb", "request"], method, path)
    event["queryStringParameters"] = {}
    return with_body(event, body)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def events() -> dict[str, dict[str, Any]]:
    single = dumps({"features": row(0)})
    batch = dumps({"instances": [row(i) for i in range(1, 6)]})
    named = dumps({"instances": [dict(zip(NAMES, row(i), strict=True)) for i in range(6, 9)]})
    return {
        # REST API (v1), stage "prod": the API this template deploys.
        "rest-predict-single": rest("POST", "/predict", single),
        "rest-predict-batch": rest("POST", "/predict", batch),
        "rest-predict-named": rest("POST", "/predict", named),
        "rest-predict-base64": rest("POST", "/predict", single, b64=True),
        "rest-health": rest("GET", "/health"),
        "rest-model": rest("GET", "/model"),
        "rest-docs": rest("GET", "/docs"),
        "rest-openapi": rest("GET", "/openapi.json"),
        "rest-bad-feature-count": rest("POST", "/predict", dumps({"features": [*row(0), 0.5]})),
        "rest-bad-nan": rest("POST", "/predict", single.replace(str(row(0)[3]), "NaN", 1)),
        "rest-bad-string": rest("POST", "/predict", dumps({"features": ["0.03", *row(0)[1:]]})),
        "rest-bad-unknown-feature": rest(
            "POST", "/predict", dumps({"instances": [{**dict(zip(NAMES, row(0), strict=True)), "weight": 80.0}]})
        ),
        "rest-bad-malformed-json": rest("POST", "/predict", single[:-9]),
        "rest-bad-empty-body": rest("POST", "/predict", ""),
        "rest-bad-too-many-rows": rest("POST", "/predict", dumps({"instances": [[0] * 10] * 1001})),
        "rest-not-found": rest("GET", "/predictions"),
        "rest-wrong-method": rest("GET", "/predict"),
        # HTTP API (v2): $default stage, and a named stage whose name leads the path.
        "http-predict-single": http("POST", "/predict", single),
        "http-health": http("GET", "/health"),
        "http-stage-predict-batch": http("POST", "/predict", batch, stage="prod"),
        "http-stage-docs": http("GET", "/docs", stage="prod"),
        "http-bad-json-array": http("POST", "/predict", dumps([row(0)])),
        # Application Load Balancer.
        "alb-predict-single": alb("POST", "/predict", single),
        "alb-health": alb("GET", "/health"),
        "alb-bad-boolean": alb("POST", "/predict", dumps({"features": [True, *row(0)[1:]]})),
    }


def main() -> int:
    EVENTS.mkdir(exist_ok=True)
    made = events()
    for old in EVENTS.glob("*.json"):
        if old.stem not in made:
            old.unlink()
    for name, event in made.items():
        (EVENTS / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
    print(f"wrote {len(made)} events to {EVENTS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
