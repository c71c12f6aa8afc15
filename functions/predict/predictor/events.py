"""The shape of an incoming Lambda event, checked before Mangum reads it.

Mangum trusts the event: a mistyped field (``"httpMethod": []``) would reach the app and end as a
500. These checks turn such events into a 400 that names the field.
"""

from __future__ import annotations

from typing import Any


class MalformedEvent(ValueError):
    pass


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


def check_event(event: Any) -> None:
    if not isinstance(event, dict):
        raise MalformedEvent(f"the event must be a JSON object, got {type(event).__name__}")
    context = event.get("requestContext")
    if not isinstance(context, dict):
        raise MalformedEvent("requestContext must be an object")
    if event.get("version") == "2.0":
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
    else:
        _string(event.get("httpMethod"), "httpMethod")
        _string(event.get("path"), "path")
        _string_map(event.get("queryStringParameters"), "queryStringParameters")
        _string_map(event.get("multiValueQueryStringParameters"), "multiValueQueryStringParameters", multi=True)
        _string_map(event.get("multiValueHeaders"), "multiValueHeaders", multi=True)
    _string_map(event.get("headers"), "headers")
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedEvent("body must be a string or null")
    if not isinstance(event.get("isBase64Encoded", False), bool):
        raise MalformedEvent("isBase64Encoded must be a boolean")
