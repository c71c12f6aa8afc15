"""The OpenAPI document does not change when the app builds less at cold start: the part no bundle changes is
byte for byte the stored copy (made from the app before issue 22), and the whole document is the same whether it
is asked for first or after every route (the standard protocols' included) has served a request."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.openapi_snapshot import STORED_NAME, model_independent
from tests.utils import make_app

STORED = Path(__file__).with_name(STORED_NAME)
# A request to each router's routes, so that whatever is built on first use is built before the document.
FIRST_USES = [("GET", "/health"), ("GET", "/model"), ("GET", "/v2"), ("GET", "/v2/health/ready"),
              ("GET", "/v1/models/x/metadata"), ("GET", "/docs")]  # fmt: skip


def test_the_document_is_the_stored_one(default_bundle: Path) -> None:
    served = TestClient(make_app(default_bundle)).get("/openapi.json")
    document = model_independent(json.loads(served.content))
    assert json.dumps(document, indent=1) + "\n" == STORED.read_text()


def test_the_document_is_the_same_before_and_after_every_route_served(default_bundle: Path) -> None:
    first = TestClient(make_app(default_bundle)).get("/openapi.json").content
    client = TestClient(make_app(default_bundle))
    for method, path in FIRST_USES:
        assert client.request(method, path).status_code < 500
    assert client.get("/openapi.json").content == first
