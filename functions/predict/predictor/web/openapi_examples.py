"""The examples in the OpenAPI document (what Swagger UI's "Try it out" starts from), taken from the served
bundle, not from the default model: its own reference rows (so a body fits its features), the answers the
packager recorded for them, its classes, name and version. ``/predict`` gets request and answer
examples; the protocols' ``infer`` and ``:predict`` get request examples, and their ``{name}`` and
``{version}`` path parameters the model's. With a refused bundle there are none. A model with categorical features
also gets request schemas that say what it takes (each feature's type in a row, one infer input per feature).
FastAPI builds the document when ``/openapi.json`` is first asked for, so this costs the cold start nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from predictor.model.manifest import Categorical, Manifest

ONE, TWO = slice(0, 1), slice(0, 2)
PROTOCOL_BODIES = ("/infer", ":predict")  # the ends of the protocols' POST paths, which take request bodies
# Features: a wider model has one example, one row for /predict (20,000 features: /openapi.json 0.2 MB, not 1.9).
WIDE = 1_000


def _named(**values: tuple[str, Any]) -> dict[str, Any]:
    """OpenAPI's named examples: {name: {"summary": ..., "value": ...}}."""
    return {name: {"summary": summary, "value": value} for name, (summary, value) in values.items()}


def _answer(manifest: Manifest, rows: slice) -> dict[str, Any]:
    reference, single = manifest.reference, rows == ONE
    predictions, probabilities = reference.predictions[rows], reference.probabilities
    answer: dict[str, Any] = {"prediction": predictions[0]} if single else {"predictions": predictions}
    if probabilities is not None:
        answer["probabilities"] = probabilities[rows][0] if single else probabilities[rows]
    if manifest.classes is not None:
        answer["classes"] = manifest.classes
    answer["model_version"] = manifest.version
    return answer


def predict_examples(manifest: Manifest) -> tuple[dict[str, Any], dict[str, Any]]:
    """``/predict``'s named examples (request, 200 answer): one row; unless the model is wide, the same row by
    feature name and a batch of two."""
    rows = manifest.reference.rows
    requests = _named(one_row=("one row", {"features": rows[0]}))
    answers = _named(one_row=("one row", _answer(manifest, ONE)))
    if manifest.n_features <= WIDE:
        by_name = dict(zip(manifest.feature_names, rows[0], strict=True))
        requests |= _named(
            by_name=("one row, by feature name", {"features": by_name}),
            batch=("a batch of rows", {"instances": rows[TWO]}),
        )
        answers |= _named(batch=("a batch of rows", _answer(manifest, TWO)))
    return requests, answers


def protocol_examples(manifest: Manifest) -> dict[str, dict[str, Any]]:
    """Request examples by the end of the operation's path: Open Inference ``/infer``, TF Serving ``:predict``
    (the first two reference rows; none for a wide model). A model with categorical features gets one tensor per
    feature (BYTES for a categorical one) and, for TF Serving, one column per feature: strings for those."""
    from predictor.protocols.served_model import INPUT_NAME, feature_specs  # with the protocols, on first use

    if manifest.n_features > WIDE:
        return {}
    rows = manifest.reference.rows[TWO]
    if manifest.has_categories:
        columns = {name: [row[i] for row in rows] for i, name in enumerate(manifest.feature_names)}
        tensors = [
            {"name": spec.name, "shape": [len(rows), 1], "datatype": spec.datatype, "data": columns[spec.name]}
            for spec in feature_specs(manifest)
        ]
        columnar: dict[str, Any] = columns
    else:
        flat = [value for row in rows for value in row]  # row-major, as tritonclient sends a numpy array
        tensors = [{"name": INPUT_NAME, "shape": [len(rows), manifest.n_features], "datatype": "FP64", "data": flat}]
        columnar = {INPUT_NAME: rows}
    return {
        "/infer": _named(infer=("a batch of rows", {"id": "1", "inputs": tensors})),
        ":predict": _named(
            instances=("row format", {"instances": rows}),
            inputs=("columnar format", {"inputs": columnar}),
        ),
    }


def feature_schema(categorical: Categorical | None) -> dict[str, Any]:
    """One feature's value: a number, or a category (an enum when the encoder refuses others)."""
    if categorical is None:
        return {"type": "number"}
    if categorical.unknown == "error":
        return {"type": "string", "enum": categorical.categories}
    listed = ", ".join(categorical.categories[:20]) + (", ..." if len(categorical.categories) > 20 else "")
    return {"type": "string", "description": f"a category: {listed}; others are served as the encoder ignores them"}


def typed_row_schema(manifest: Manifest) -> dict[str, Any]:
    """A row of a model with categorical features: each feature's type, by position or by name."""
    values = [feature_schema((manifest.categorical or {}).get(name)) for name in manifest.feature_names]
    n = manifest.n_features
    by_position = {"type": "array", "prefixItems": values, "minItems": n, "maxItems": n}
    by_name = {
        "type": "object", "properties": dict(zip(manifest.feature_names, values, strict=True)),
        "required": manifest.feature_names, "additionalProperties": False,
    }  # fmt: skip
    return {"anyOf": [by_position, by_name]}


def typed_request_schema(manifest: Manifest) -> dict[str, Any]:
    """/predict's body for a model with categorical features: each feature's type, by position and by name."""
    row = typed_row_schema(manifest)
    return {
        "type": "object", "additionalProperties": False,
        "properties": {
            "features": {**row, "description": "One row: a value per feature, or {feature_name: value}."},
            "instances": {"type": "array", "items": row, "description": "Rows to predict, at most MAX_BATCH_ROWS."},
        },
    }  # fmt: skip


# The fields of an infer request's input, as a model with categorical features takes them (one input per feature)
TYPED_INFER_INPUT = {
    "name": "A feature's name: one input per feature, in any order.",
    "shape": "[n_rows, 1] (or [n_rows]).",
    "datatype": "BYTES (strings) for a categorical feature; FP64, FP32 (FP16, INT*, UINT* too) for the others.",
}


def _describe_typed_body(operation: dict[str, Any], ending: str, manifest: Manifest) -> None:
    """A protocol's request schema for a model with categorical features: an infer request's inputs are the
    features', a TF Serving row holds each feature's type (strings for the categorical ones)."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    if ending == "/infer":
        fields = schema["properties"]["inputs"]["items"]["properties"]
        for key, description in TYPED_INFER_INPUT.items():
            fields[key]["description"] = description
    else:
        schema["properties"]["instances"]["anyOf"][0]["items"] = typed_row_schema(manifest)


def _add_to_operation(operation: dict[str, Any], manifest: Manifest, bodies: dict[str, Any] | None) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] in ("name", "version"):
            parameter["example"] = manifest.name if parameter["name"] == "name" else manifest.version
    if bodies is not None:
        operation["requestBody"]["content"]["application/json"]["examples"] = bodies


def add_examples(document: dict[str, Any], manifest: Manifest) -> None:
    protocols = protocol_examples(manifest)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ending = next((end for end in PROTOCOL_BODIES if path.endswith(end)), None) if method == "post" else None
            _add_to_operation(operation, manifest, protocols.get(ending) if ending else None)
            if ending and manifest.has_categories:
                _describe_typed_body(operation, ending, manifest)
    requests, answers = predict_examples(manifest)
    predict = document["paths"]["/predict"]["post"]
    if manifest.has_categories:
        predict["requestBody"]["content"]["application/json"]["schema"] = typed_request_schema(manifest)
    predict["requestBody"]["content"]["application/json"]["examples"] = requests
    predict["responses"]["200"]["content"]["application/json"]["examples"] = answers


def add_model_examples(app: FastAPI, manifest: Manifest) -> None:
    """Wrap ``app.openapi`` so that the document it builds (once) carries the model's examples."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_examples(build(), manifest)  # build() stores the document in app.openapi_schema
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
