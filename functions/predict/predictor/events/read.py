"""The shape of an incoming Lambda event, checked before Mangum reads it, then read by Mangum once.

Mangum trusts the event: a mistyped field (``"httpMethod": []``) would reach the app and end as a
500. These checks turn such events, and a body that is not the base64 it claims to be, into an
exception that names the field (predictor/events/answers.py makes it the client's 400). Two AWS event
sources are refused on purpose, by name: CloudFront (Lambda@Edge) and VPC Lattice. ``read_event`` is
the checks plus Mangum's reading (scope, decoded body).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mangum import Mangum
from mangum.types import LambdaHandler, Scope


class MalformedEvent(ValueError):
    """Not an API Gateway (REST or HTTP API) or ALB request, or one with a missing or mistyped field."""


class MalformedBody(MalformedEvent):
    """An API Gateway or ALB request whose body cannot be read as the event says it is encoded."""


class UnservedEventSource(MalformedEvent):
    """An event from an AWS source this function refuses on purpose; the message names it and says why."""


LAMBDA_AT_EDGE = (
    "CloudFront (Lambda@Edge) events are not served: Lambda@Edge functions cannot use layers, and this "
    "function's model is in a layer; put API Gateway, an ALB or a function URL behind CloudFront instead"
)
VPC_LATTICE = (
    "VPC Lattice events are not served: Mangum (the ASGI adapter) has no handler for them; "
    "make an ALB that targets this function the Lattice service's target instead"
)


def _string(value: Any, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{name} must be a non-empty string")


def _string_map(value: Any, name: str, multi: bool = False) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise MalformedEvent(f"{name} must be an object")
    for key, item in value.items():
        values = item if multi and isinstance(item, list) else [item]
        if not isinstance(key, str) or not all(isinstance(v, str) for v in values):
            raise MalformedEvent(f"{name} must map strings to strings{' (or lists of strings)' if multi else ''}")


def _refuse_unserved_sources(event: dict[str, Any]) -> None:
    """CloudFront and VPC Lattice events, recognised by their own shapes so that the 400 names the source,
    not a missing field (Mangum would hand a CloudFront event to its Lambda@Edge handler)."""
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and "cf" in records[0]:
        raise UnservedEventSource(LAMBDA_AT_EDGE)
    if "raw_path" in event and "method" in event:  # VPC Lattice payload v1 (snake_case keys)
        raise UnservedEventSource(VPC_LATTICE)
    context = event.get("requestContext")
    if isinstance(context, dict) and ("serviceNetworkArn" in context or "targetGroupArn" in context):
        raise UnservedEventSource(VPC_LATTICE)  # VPC Lattice payload v2 (an ALB's ARN is under elb)


def _check_http_api(event: dict[str, Any], context: dict[str, Any]) -> None:
    http = context.get("http")
    if not isinstance(http, dict):
        raise MalformedEvent("requestContext.http must be an object")
    _string(http.get("method"), "requestContext.http.method")
    _string(http.get("path"), "requestContext.http.path")
    if not isinstance(event.get("rawQueryString", ""), str):
        raise MalformedEvent("rawQueryString must be a string")
    cookies = event.get("cookies", [])
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedEvent("cookies must be a list of strings")


def _check_rest_or_alb(event: dict[str, Any]) -> None:
    _string(event.get("httpMethod"), "httpMethod")
    _string(event.get("path"), "path")
    _string_map(event.get("queryStringParameters"), "queryStringParameters")
    _string_map(event.get("multiValueQueryStringParameters"), "multiValueQueryStringParameters", multi=True)
    _string_map(event.get("multiValueHeaders"), "multiValueHeaders", multi=True)


def _check_body(event: dict[str, Any]) -> None:
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedEvent("body must be a string or null")
    if not isinstance(event.get("isBase64Encoded", False), bool):
        raise MalformedEvent("isBase64Encoded must be a boolean")


def check_event(event: Any) -> None:
    if not isinstance(event, dict):
        raise MalformedEvent(f"the event must be a JSON object, got {type(event).__name__}")
    _refuse_unserved_sources(event)
    context = event.get("requestContext")
    if not isinstance(context, dict):
        raise MalformedEvent("requestContext must be an object")
    if event.get("version") == "2.0":
        _check_http_api(event, context)
    else:
        _check_rest_or_alb(event)
    _string_map(event.get("headers"), "headers")
    _check_body(event)


@dataclass(frozen=True)
class ReadEvent:
    """An event as Mangum reads it: its handler for the event's source (which also shapes the answer),
    the ASGI scope and the body, decoded once."""

    source: LambdaHandler
    scope: Scope
    body: bytes


def read_event(adapter: Mangum, event: Any, context: Any) -> ReadEvent:
    """``check_event``, then Mangum's own reading of the event; any failure here is the event's (a 400).
    The body is decoded here, by Mangum (a bad base64 body is named), and nowhere else."""
    check_event(event)
    source = adapter.infer(event, context)
    scope = source.scope
    try:
        body = source.body
    except ValueError as exc:  # binascii.Error, or characters outside ASCII
        raise MalformedBody(f"body: isBase64Encoded is true but the body is not valid base64 ({exc})") from None
    return ReadEvent(source, scope, body)
