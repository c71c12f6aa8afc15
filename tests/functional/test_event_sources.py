"""Event sources through the production handler: what is served, in which response shape, and what is
refused by name (CloudFront, VPC Lattice), with X-Model-Version on every answer."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import Handler, load_event
from tests.utils import assert_offline_docs, fail_inside_mangum, http_event, rest_event

NOT_BASE64 = "body: isBase64Encoded is true but the body is not valid base64"


@pytest.fixture(scope="module")
def version(app_module: Any) -> str:
    return app_module.app.state.bundle.manifest.version  # type: ignore[no-any-return]


def detail(response: dict[str, Any]) -> str:
    return json.loads(response["body"])["detail"]  # type: ignore[no-any-return]


def alb_multi_value(name: str) -> dict[str, Any]:
    """An ALB event as a target group with multi-value headers on sends it: only the multi-value maps."""
    event = load_event(name)
    event["multiValueHeaders"] = {key: [value] for key, value in event.pop("headers").items()}
    queries = event.pop("queryStringParameters") or {}
    event["multiValueQueryStringParameters"] = {key: [value] for key, value in queries.items()}
    return event


def with_body(name: str, body: str) -> dict[str, Any]:
    event = load_event(name)
    event.update(body=body, isBase64Encoded=True)
    return event


# --- base64 bodies: checked the way Mangum decodes them (base64.b64decode, not strict) -----------------


@pytest.mark.parametrize("name", ["rest-predict-single", "http-predict-single", "alb-predict-single"])
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("eyJmZWF0dXJlcyI6WzF", "(Incorrect padding)"),
        ("not base64!", "(Invalid base64-encoded string: number of data characters (9) cannot be 1 more"),
        ("é30=", "(string argument should contain only ASCII characters)"),
    ],
)
def test_a_body_that_is_not_the_base64_it_claims_is_named(
    handler: Handler, version: str, name: str, body: str, reason: str
) -> None:
    response = handler(with_body(name, body))
    assert response["statusCode"] == 400
    assert detail(response).startswith(f"malformed event: {NOT_BASE64} {reason}")
    assert "not an API Gateway" not in detail(response)  # it is one: its body is the problem
    assert response["headers"]["x-model-version"] == version


def test_base64_that_mangum_accepts_stays_accepted(handler: Handler) -> None:
    event = load_event("rest-predict-base64")
    body = event["body"]
    event["body"] = "\n".join(body[i : i + 76] for i in range(0, len(body), 76))  # MIME line breaks
    response = handler(event)
    assert response["statusCode"] == 200, response["body"]
    assert '"prediction":' in response["body"]


# --- ALB: the response has the request's header shape, for every status --------------------------------

ALB_CASES = [
    ("alb-health", None, 200),
    ("alb-bad-boolean", None, 422),
    ("alb-health", {"path": "/nope"}, 404),
    ("alb-health", {"httpMethod": ["GET"]}, 400),  # refused before Mangum: malformed_event answers
    ("alb-predict-single", {"body": "e30", "isBase64Encoded": True}, 400),
]


def alb_event(name: str, changes: dict[str, Any] | None, multi_value: bool) -> dict[str, Any]:
    event = alb_multi_value(name) if multi_value else load_event(name)
    event.update(changes or {})
    return event


@pytest.mark.parametrize(("name", "changes", "status"), ALB_CASES)
def test_alb_with_multi_value_headers_gets_multi_value_headers_back(
    handler: Handler, version: str, name: str, changes: dict[str, Any] | None, status: int
) -> None:
    response = handler(alb_event(name, changes, multi_value=True))
    assert response["statusCode"] == status, response["body"]
    assert "headers" not in response
    assert response["multiValueHeaders"]["x-model-version"] == [version]
    assert response["multiValueHeaders"]["content-type"][0].startswith("application/json")


@pytest.mark.parametrize(("name", "changes", "status"), ALB_CASES)
def test_alb_without_multi_value_headers_gets_headers_back(
    handler: Handler, version: str, name: str, changes: dict[str, Any] | None, status: int
) -> None:
    response = handler(alb_event(name, changes, multi_value=False))
    assert response["statusCode"] == status, response["body"]
    assert "multiValueHeaders" not in response
    assert response["headers"]["x-model-version"] == version
    assert response["headers"]["content-type"].startswith("application/json")


def test_an_alb_event_mangum_cannot_read_is_answered_in_its_shape(handler: Handler, version: str) -> None:
    event = alb_multi_value("alb-health")
    event["multiValueHeaders"] = None  # passes the field checks; Mangum raises reading it
    response = handler(event)
    assert response["statusCode"] == 400
    assert detail(response).startswith("malformed event: not an API Gateway (REST or HTTP API) or ALB request")
    assert response["multiValueHeaders"]["x-model-version"] == [version]


# --- X-Model-Version on the handler's own 400s -----------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {**load_event("rest-health"), "httpMethod": []},
        {**load_event("http-health"), "requestContext": {"http": "GET"}, "version": "2.0"},
        {"hello": "world"},
        [1, 2, 3],
    ],
)
def test_malformed_event_answers_carry_the_model_version(handler: Handler, version: str, event: Any) -> None:
    response = handler(event)
    assert response["statusCode"] == 400
    assert detail(response).startswith("malformed event: not an API Gateway (REST or HTTP API) or ALB request (")
    assert response["headers"]["x-model-version"] == version


# --- sources refused on purpose, in the shapes AWS sends ---------------------------------------------------

CLOUDFRONT_VIEWER_REQUEST = {
    "Records": [
        {
            "cf": {
                "config": {
                    "distributionDomainName": "d111111abcdef8.cloudfront.net",
                    "distributionId": "EDFDVBD6EXAMPLE",
                    "eventType": "viewer-request",
                    "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                },
                "request": {
                    "clientIp": "203.0.113.178",
                    "headers": {
                        "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
                        "user-agent": [{"key": "User-Agent", "value": "curl/7.66.0"}],
                        "accept": [{"key": "accept", "value": "*/*"}],
                    },
                    "method": "GET",
                    "querystring": "",
                    "uri": "/health",
                },
            }
        }
    ]
}

VPC_LATTICE_V1 = {
    "raw_path": "/health",
    "method": "GET",
    "body": "",
    "is_base64_encoded": False,
    "headers": {
        "user-agent": "curl/7.64.1",
        "x-forwarded-for": "10.213.229.10",
        "host": "test-lambda-service-3908sdf9u3u.dkfjd93.vpc-lattice-svcs.us-east-2.on.aws",
        "accept": "*/*",
    },
    "query_string_parameters": {},
}

VPC_LATTICE_V2 = {
    "version": "2.0",
    "path": "/health",
    "method": "GET",
    "headers": {
        "user-agent": ["curl/7.64.1"],
        "x-forwarded-for": ["10.213.229.10"],
        "host": ["test-lambda-service-3908sdf9u3u.dkfjd93.vpc-lattice-svcs.us-east-2.on.aws"],
        "accept": ["*/*"],
    },
    "queryStringParameters": {},
    "body": "",
    "isBase64Encoded": False,
    "requestContext": {
        "serviceNetworkArn": "arn:aws:vpc-lattice:us-east-2:123456789012:servicenetwork/sn-0bf3f2882e9cc805a",
        "serviceArn": "arn:aws:vpc-lattice:us-east-2:123456789012:service/svc-0a40eebed65f8d69c",
        "targetGroupArn": "arn:aws:vpc-lattice:us-east-2:123456789012:targetgroup/tg-6d0ecf831eec9f09",
        "identity": {
            "sourceVpcArn": "arn:aws:ec2:us-east-2:123456789012:vpc/vpc-0b8276c84697e7339",
            "type": "AWS_IAM",
            "principal": "arn:aws:sts::123456789012:assumed-role/example-role/057d00f8b51257ba3c853a0f248943cf",
            "sessionName": "057d00f8b51257ba3c853a0f248943cf",
        },
        "region": "us-east-2",
        "timeEpoch": "1696331543569073",
    },
}


@pytest.mark.parametrize(
    ("event", "refusal"),
    [
        (
            CLOUDFRONT_VIEWER_REQUEST,
            "CloudFront (Lambda@Edge) events are not served: Lambda@Edge functions cannot use layers",
        ),
        (VPC_LATTICE_V1, "VPC Lattice events are not served: Mangum (the ASGI adapter) has no handler for them"),
        (VPC_LATTICE_V2, "VPC Lattice events are not served: Mangum (the ASGI adapter) has no handler for them"),
    ],
    ids=["cloudfront", "vpc-lattice-v1", "vpc-lattice-v2"],
)
def test_refused_event_sources_are_named(handler: Handler, version: str, event: dict[str, Any], refusal: str) -> None:
    response = handler(copy.deepcopy(event))
    assert response["statusCode"] == 400
    assert detail(response).startswith(refusal)
    assert response["headers"]["x-model-version"] == version


# --- Lambda function URL: payload v2, stage $default -------------------------------------------------------

URL_ID = "abcdefghijklmnopqrstuvwxyz012345"


def function_url(method: str, path: str, body: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": f"{URL_ID}.lambda-url.us-east-1.on.aws",
            "user-agent": "curl/8.5.0",
            "accept": "*/*",
            "content-type": "application/json",
            "x-amzn-trace-id": "Root=1-6738e7a1-6b1a1e0a3f4e2c1d0b9a8f7e",
            "x-forwarded-for": "203.0.113.17",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": URL_ID,
            "domainName": f"{URL_ID}.lambda-url.us-east-1.on.aws",
            "domainPrefix": URL_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.17",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "8d3ab1d2-0f5a-4e3c-9b0e-6f1d2c3b4a59",
            "routeKey": "$default",
            "stage": "$default",
            "time": "21/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795255200000,
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def test_function_url_events_are_served(handler: Handler, version: str) -> None:
    health = handler(function_url("GET", "/health"))
    assert (health["statusCode"], json.loads(health["body"])["status"]) == (200, "ok")
    assert health["headers"]["x-model-version"] == version
    predict = handler(function_url("POST", "/predict", json.dumps({"features": [0.0] * 10})))
    assert predict["statusCode"] == 200, predict["body"]
    assert "prediction" in json.loads(predict["body"])
    docs = handler(function_url("GET", "/docs"))
    assert_offline_docs(docs["body"])  # $default: no stage in the URL


# --- REST events without requestContext.path ---------------------------------------------------------------


def rest_docs_without_requested_path(stage: str, host: str) -> dict[str, Any]:
    event = load_event("rest-docs")
    del event["requestContext"]["path"]
    event["requestContext"]["stage"] = stage
    event["headers"]["Host"] = host
    event["multiValueHeaders"]["Host"] = [host]
    return event


@pytest.mark.parametrize(
    ("host", "root"),
    [
        ("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "/Prod"),
        ("api.example.com", ""),  # custom domain: the stage is not in the URL
        ("127.0.0.1:3000", ""),
    ],
)
def test_docs_without_a_requested_path_follow_the_host(handler: Handler, host: str, root: str) -> None:
    response = handler(rest_docs_without_requested_path("Prod", host))
    assert response["statusCode"] == 200
    assert_offline_docs(response["body"], root)


@pytest.mark.parametrize("name", ["rest-docs", "http-stage-docs"])
def test_docs_behind_a_stage_load_their_assets_from_the_function(handler: Handler, name: str) -> None:
    """Behind /prod the page and its assets are the function's own, and the assets come back as text
    (API Gateway would pass a base64 body through unless the API lists binary media types)."""
    docs = load_event(name)
    page = handler(docs)
    assert page["statusCode"] == 200
    assert_offline_docs(page["body"], "/prod")
    for asset, media_type in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")]:
        event = copy.deepcopy(docs)
        if name.startswith("rest"):  # v1: the route in path, what the client asked for in requestContext.path
            event["path"] = f"/docs/assets/{asset}"
            event["requestContext"]["path"] = f"/prod/docs/assets/{asset}"
        else:  # v2: the stage is the first path segment
            event["rawPath"] = f"/prod/docs/assets/{asset}"
            event["requestContext"]["http"]["path"] = event["rawPath"]
        response = handler(event)
        assert response["statusCode"] == 200, response["body"][:300]
        assert response["isBase64Encoded"] is False
        assert {k.lower(): v for k, v in response["headers"].items()}["content-type"].startswith(media_type)
        assert len(response["body"]) > 100_000


# --- whose fault: an event Mangum cannot read is the client's 400; Mangum failing on one it read is ours -----


@pytest.mark.parametrize("name", ["rest-predict-single", "http-predict-single", "alb-predict-single"])
def test_mangum_failing_on_a_readable_event_is_a_500_not_the_clients_fault(
    handler: Handler, version: str, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    fail_inside_mangum(monkeypatch)
    response = handler(load_event(name))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"detail": "internal error"}  # the trace is logged, never sent
    assert response["headers"]["x-model-version"] == version


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (http_event("GET", "/v2/health/ready"), 500),
        ({**rest_event("POST", "/v1/models/m:predict"), "httpMethod": []}, 400),
    ],
)
def test_the_handlers_own_answers_on_protocol_routes_use_the_protocols_error_shape(
    handler: Handler, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any], status: int
) -> None:
    fail_inside_mangum(monkeypatch)
    response = handler(event)
    assert response["statusCode"] == status
    assert set(json.loads(response["body"])) == {"error"}  # what tritonclient and TF Serving clients read
