"""The standard protocols serving models with categorical features (tests/housing.py) through the production Lambda
handler: the Open Inference Protocol with one tensor per feature (BYTES for a categorical one), as JSON and as
tritonclient's binary data, and TensorFlow Serving rows and columns with strings. Every answer is compared with the
pipeline's own ``predict`` on a DataFrame of the same rows, within the bundle's tolerance."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import joblib
import pytest
import tritonclient.http as triton

from tests.conftest import Handler
from tests.housing import CATEGORICAL, FEATURES, NUMERIC, HousingFiles, held_out
from tests.utils import (
    assert_labels_equal,
    assert_predictions_close,
    manifest_of,
    rest_event,
    triton_feature_inputs,
)

CITIES = ["Lille", "Lyon", "Marseille", "Nantes", "Paris"]
TYPES = ["flat", "house", "studio"]


def call(handler: Handler, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, Any]:
    response = handler(rest_event(method, path, body, headers))
    return response["statusCode"], json.loads(response["body"])


def name_of(bundle: Path) -> str:
    return manifest_of(bundle)["name"]  # type: ignore[no-any-return]


def json_tensors(frame: Any, order: list[str] | None = None) -> list[dict[str, Any]]:
    """One JSON tensor per feature, [n, 1], in ``order`` (the features' by default)."""
    return [
        {"name": name, "shape": [len(frame), 1], "datatype": "BYTES" if name in CATEGORICAL else "FP64",
         "data": frame[name].tolist()}
        for name in order or FEATURES
    ]  # fmt: skip


def triton_inputs(frame: Any, binary: bool = True) -> list[Any]:
    return triton_feature_inputs(frame[FEATURES], CATEGORICAL, binary)


def triton_infer(handler: Handler, name: str, inputs: list[Any], **headers: str) -> Any:
    """The handler's answer to the body tritonclient.http sends for ``inputs``, as tritonclient reads it."""
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs)
    sent = {"Inference-Header-Content-Length": str(json_size)} if json_size is not None else {}
    response = handler(rest_event("POST", f"/v2/models/{name}/infer", body, {**sent, **headers}))
    assert response["statusCode"] == 200, response["body"]
    raw = base64.b64decode(response["body"]) if response["isBase64Encoded"] else response["body"].encode()
    length = response["headers"].get("inference-header-content-length")
    return triton.InferenceServerClient.parse_response_body(raw, header_length=int(length) if length else None)


def infer(handler: Handler, name: str, tensors: list[dict[str, Any]]) -> tuple[int, Any]:
    return call(handler, "POST", f"/v2/models/{name}/infer", json.dumps({"inputs": tensors}).encode())


def test_the_metadata_lists_one_input_per_feature(price_handler: Handler, price_bundle: Path,
                                                  band_handler: Handler, band_bundle: Path) -> None:  # fmt: skip
    status, metadata = call(price_handler, "GET", f"/v2/models/{name_of(price_bundle)}")
    assert status == 200
    assert metadata["inputs"] == [
        *({"name": name, "datatype": "FP64", "shape": [-1, 1]} for name in NUMERIC),
        {"name": "city", "datatype": "BYTES", "shape": [-1, 1],
         "parameters": {"categories": CITIES, "unknown_categories": "ignore"}},
        {"name": "property_type", "datatype": "BYTES", "shape": [-1, 1],
         "parameters": {"categories": TYPES, "unknown_categories": "ignore"}},
    ]  # fmt: skip
    assert metadata["outputs"] == [{"name": "prediction", "datatype": "FP64", "shape": [-1]}]
    _, band = call(band_handler, "GET", f"/v2/models/{name_of(band_bundle)}")
    assert band["inputs"][4]["parameters"] == {"categories": TYPES, "unknown_categories": "error"}
    assert [o["name"] for o in band["outputs"]] == ["label", "probabilities"]


def test_json_tensors_in_any_order_are_the_pipelines_answers(
    price_handler: Handler, price_bundle: Path, housing: HousingFiles
) -> None:
    frame = held_out(housing.price_csv)
    expected = joblib.load(housing.regressor).predict(frame)
    tensors = json_tensors(frame, order=[*reversed(FEATURES)])
    tensors[0] = {**tensors[0], "shape": [len(frame)]}  # [n] as well as [n, 1]
    tensors[1] = {**tensors[1], "data": [[value] for value in tensors[1]["data"]]}  # nested, one value a row
    status, answer = infer(price_handler, name_of(price_bundle), tensors)
    assert status == 200, answer
    (output,) = answer["outputs"]
    assert output["shape"] == [len(frame)]
    assert_predictions_close(output["data"], expected, price_bundle)


@pytest.mark.parametrize("which", ["price", "price_native"])  # served by ONNX Runtime, by scikit-learn
def test_tritonclient_binary_bytes_inputs_are_the_pipelines_answers(
    which: str, request: pytest.FixtureRequest, housing: HousingFiles
) -> None:
    handler: Handler = request.getfixturevalue(f"{which}_handler")
    bundle: Path = request.getfixturevalue(f"{which}_bundle")
    frame = held_out(housing.price_csv)
    expected = joblib.load(housing.regressor).predict(frame)
    for binary in (True, False):  # tritonclient's binary data (its default) and its JSON data
        result = triton_infer(handler, name_of(bundle), triton_inputs(frame, binary))
        assert_predictions_close(result.as_numpy("prediction").tolist(), expected, bundle)


def test_the_classifier_answers_the_pipelines_labels_and_probabilities(
    band_handler: Handler, band_bundle: Path, housing: HousingFiles
) -> None:
    frame = held_out(housing.band_csv)
    pipeline = joblib.load(housing.classifier)
    # Accept */*: binary outputs through the REST API, the labels a BYTES tensor
    result = triton_infer(band_handler, name_of(band_bundle), triton_inputs(frame), Accept="*/*")
    assert "binary_data_size" in result.get_output("label")["parameters"]
    assert_labels_equal([label.decode() for label in result.as_numpy("label")], pipeline.predict(frame))
    assert_predictions_close(result.as_numpy("probabilities").tolist(), pipeline.predict_proba(frame), band_bundle)


def test_an_unknown_city_is_served_as_the_one_hot_encoder_ignores_it(
    price_handler: Handler, price_bundle: Path, housing: HousingFiles
) -> None:
    frame = held_out(housing.price_csv).iloc[:4].assign(city="Grenoble")
    expected = joblib.load(housing.regressor).predict(frame)
    result = triton_infer(price_handler, name_of(price_bundle), triton_inputs(frame))
    assert_predictions_close(result.as_numpy("prediction").tolist(), expected, price_bundle)


def test_an_unknown_category_the_encoder_refuses_is_a_400_naming_it_and_the_known_ones(
    band_handler: Handler, band_bundle: Path, housing: HousingFiles
) -> None:
    frame = held_out(housing.band_csv).iloc[:3].assign(property_type=["flat", "castle", "flat"])
    expected = "inputs[4] (property_type), row 1: unknown category 'castle' (known: flat, house, studio)"
    for binary in (True, False):
        body, json_size = triton.InferenceServerClient.generate_request_body(triton_inputs(frame, binary))
        headers = {"Inference-Header-Content-Length": str(json_size)} if json_size is not None else {}
        status, answer = call(band_handler, "POST", f"/v2/models/{name_of(band_bundle)}/infer", body, **headers)
        assert (status, answer) == (400, {"error": expected})


def test_a_number_in_a_bytes_input_and_a_string_in_a_number_one_are_400s_naming_input_and_value(
    price_handler: Handler, price_bundle: Path, housing: HousingFiles
) -> None:
    tensors = json_tensors(held_out(housing.price_csv).iloc[:2])
    tensors[3]["data"] = ["Paris", 75]
    tensors[1]["data"] = ["old", 30.0]
    status, answer = infer(price_handler, name_of(price_bundle), tensors)
    assert status == 400
    assert answer["error"] == (
        "inputs[1] (age), row 0: expected a number, got string 'old'; inputs[3] (city), row 1: expected a category "
        "(a string: Lille, Lyon, Marseille, Nantes, Paris), got number 75"
    )


TAKES = (
    "this model takes one input per feature, each [n_rows, 1]: income (FP64), age (FP64), rooms (FP64), "
    "city (BYTES), property_type (BYTES)"
)


def mistakes(tensors: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], str]]:
    """Requests that do not fit the price model (its five tensors of two rows, altered), and the error of each."""
    features = {"name": "features", "shape": [2, 5], "datatype": "FP64", "data": [1.0] * 10}
    city_fp64 = {**tensors[3], "datatype": "FP64", "data": [1.0, 2.0]}
    age_bytes = {**tensors[1], "datatype": "BYTES", "data": ["30", "40"]}
    return [
        ([features], f"{TAKES}; missing income, age, rooms, city, property_type; unknown 'features'"),
        (tensors[:4], f"{TAKES}; missing property_type"),
        ([*tensors, tensors[0]], f"{TAKES}; given twice income"),
        ([*tensors[:4], {**tensors[4], "name": "type"}], f"{TAKES}; missing property_type; unknown 'type'"),
        ([*tensors[:3], city_fp64, tensors[4]], "inputs[3] (city): datatype 'FP64' is not accepted: a categorical"),
        ([tensors[0], age_bytes, *tensors[2:]], "inputs[1] (age): datatype 'BYTES' is not accepted (numbers only"),
        ([{**tensors[0], "shape": [2, 2]}, *tensors[1:]], "inputs[0] (income): shape [2, 2] does not fit [-1, 1]"),
        ([{**tensors[0], "shape": [1, 1]}, *tensors[1:]], "the inputs have different numbers of rows ([1, 2])"),
        ([*tensors[:3], {**tensors[3], "data": ["Paris"]}, tensors[4]], "inputs[3] (city).data: 1 values do not"),
        ([*tensors[:3], {**tensors[3], "data": [["Paris", "Lyon"], []]}, tensors[4]], "inputs[3] (city).data: nested"),
    ]


def test_inputs_that_do_not_fit_are_400s_that_list_the_inputs_the_model_takes(
    price_handler: Handler, price_bundle: Path, housing: HousingFiles
) -> None:
    tensors = json_tensors(held_out(housing.price_csv).iloc[:2])
    for sent, error in mistakes(tensors):
        status, answer = infer(price_handler, name_of(price_bundle), sent)
        assert status == 400, answer
        assert answer["error"].startswith(error), answer


def test_binary_bytes_that_do_not_fit_are_400s(
    price_handler: Handler, price_bundle: Path, housing: HousingFiles
) -> None:
    frame = held_out(housing.price_csv).iloc[:2]
    body, json_size = triton.InferenceServerClient.generate_request_body(triton_inputs(frame))
    headers = {"Inference-Header-Content-Length": str(json_size)}
    path = f"/v2/models/{name_of(price_bundle)}/infer"
    cases = [
        (body[:-2], "bytes of binary data left"),  # the last tensor cut short
        (body + b"\x01\x00\x00\x00x", "bytes after the last binary tensor"),
    ]
    for payload, error in cases:
        status, answer = call(price_handler, "POST", path, payload, **headers)
        assert status == 400, answer
        assert error in answer["error"]
    # a city that is not UTF-8: the length prefix still right, the bytes invalid
    city = frame["city"].iloc[0].encode()
    broken = body.replace(len(city).to_bytes(4, "little") + city, len(city).to_bytes(4, "little") + b"\xff" * len(city))
    status, answer = call(price_handler, "POST", path, broken, **headers)
    assert (status, answer) == (400, {"error": "inputs[3] (city): element 0 is not UTF-8 text"})
    # the BYTES tensor's size one short: its elements no longer fill it exactly
    header = json.loads(body[:json_size])
    header["inputs"][3]["parameters"]["binary_data_size"] -= 1
    header["inputs"][4]["parameters"]["binary_data_size"] += 1
    head = json.dumps(header).encode()
    status, answer = call(
        price_handler, "POST", path, head + body[json_size:], **{"Inference-Header-Content-Length": str(len(head))}
    )
    assert status == 400
    assert "inputs[3] (city): " in answer["error"]
    assert "do not hold 2 length-prefixed elements exactly" in answer["error"]


def tf_rows(frame: Any) -> list[list[Any]]:
    return [[*map(float, row[:3]), *row[3:]] for row in frame[FEATURES].itertuples(index=False)]


def test_tf_serving_rows_and_columns_with_strings(price_handler: Handler, price_bundle: Path,
                                                  housing: HousingFiles) -> None:  # fmt: skip
    frame = held_out(housing.price_csv).iloc[:30]
    expected = joblib.load(housing.regressor).predict(frame)
    named = frame.to_dict(orient="records")
    bodies = {
        "instances": {"instances": tf_rows(frame)},
        "named instances": {"instances": named},
        "inputs": {"inputs": tf_rows(frame)},
        "named input": {"inputs": {"features": named}},
        "columns": {"inputs": {name: frame[name].tolist() for name in reversed(FEATURES)}},
    }
    path = f"/v1/models/{name_of(price_bundle)}:predict"
    for form, body in bodies.items():
        status, answer = call(price_handler, "POST", path, json.dumps(body).encode())
        assert status == 200, (form, answer)
        assert_predictions_close(answer["predictions" if "instances" in form else "outputs"], expected, price_bundle)


def test_tf_serving_classifier_and_its_refusals(band_handler: Handler, band_bundle: Path,
                                                housing: HousingFiles) -> None:  # fmt: skip
    frame = held_out(housing.band_csv).iloc[:10]
    pipeline = joblib.load(housing.classifier)
    path = f"/v1/models/{name_of(band_bundle)}:predict"
    status, answer = call(band_handler, "POST", path, json.dumps({"instances": tf_rows(frame)}).encode())
    assert status == 200, answer
    assert_labels_equal([row["label"] for row in answer["predictions"]], pipeline.predict(frame))
    columns = {name: frame[name].tolist() for name in FEATURES} | {"property_type": ["castle"] * 10}
    status, answer = call(band_handler, "POST", path, json.dumps({"inputs": columns}).encode())
    assert status == 400
    assert answer["error"].startswith("inputs[0].property_type: unknown category 'castle' (known: flat, house, studio)")
    row = {**frame.iloc[0].to_dict(), "city": 75}
    status, answer = call(band_handler, "POST", path, json.dumps({"instances": [row]}).encode())
    assert (status, answer) == (400, {"error": (
        "instances[0].city: expected a category (a string: Lille, Lyon, Marseille, Nantes, Paris), got number 75"
    )})  # fmt: skip
    status, answer = call(band_handler, "POST", path, json.dumps({"inputs": {"city": "Paris"}}).encode())
    assert status == 400
    assert answer["error"] == "inputs.city: Input should be a valid array"


def test_tf_serving_metadata_lists_one_input_per_feature(price_handler: Handler, price_bundle: Path) -> None:
    status, metadata = call(price_handler, "GET", f"/v1/models/{name_of(price_bundle)}/metadata")
    assert status == 200
    inputs = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
    assert list(inputs) == FEATURES
    assert {name: tensor["dtype"] for name, tensor in inputs.items()} == {
        "income": "DT_DOUBLE", "age": "DT_DOUBLE", "rooms": "DT_DOUBLE", "city": "DT_STRING",
        "property_type": "DT_STRING",
    }  # fmt: skip
    assert [d["size"] for d in inputs["city"]["tensor_shape"]["dim"]] == ["-1"]
    assert metadata["metadata"]["feature_names"] == FEATURES


@pytest.mark.parametrize("bundle", ["price_bundle", "band_bundle"])
def test_the_protocol_examples_in_the_document_hold_strings_and_answer(request: pytest.FixtureRequest,
                                                                       bundle: str) -> None:  # fmt: skip
    bundle_dir: Path = request.getfixturevalue(bundle)
    handler = request.getfixturevalue(bundle.replace("_bundle", "_handler"))
    name = name_of(bundle_dir)
    _, document = call(handler, "GET", "/openapi.json")
    infer_body = document["paths"]["/v2/models/{name}/infer"]["post"]["requestBody"]["content"]["application/json"]
    (example,) = infer_body["examples"].values()
    assert [(t["name"], t["datatype"], t["shape"]) for t in example["value"]["inputs"]] == [
        (name, "BYTES" if name in CATEGORICAL else "FP64", [2, 1]) for name in FEATURES
    ]
    assert all(isinstance(value, str) for value in example["value"]["inputs"][3]["data"])
    status, answer = infer(handler, name, example["value"]["inputs"])
    assert status == 200, answer
    tf_body = document["paths"]["/v1/models/{name}:predict"]["post"]["requestBody"]["content"]["application/json"]
    for tf_example in tf_body["examples"].values():
        status, answer = call(handler, "POST", f"/v1/models/{name}:predict", json.dumps(tf_example["value"]).encode())
        assert status == 200, (tf_example, answer)
    assert isinstance(tf_body["examples"]["inputs"]["value"]["inputs"]["city"][0], str)
    # the schemas say so too: a row's types, the inputs' datatypes
    row = tf_body["schema"]["properties"]["instances"]["anyOf"][0]["items"]["anyOf"][1]
    assert (row["properties"]["city"]["type"], row["properties"]["income"]["type"]) == ("string", "number")
    fields = infer_body["schema"]["properties"]["inputs"]["items"]["properties"]
    assert fields["datatype"]["description"].startswith("BYTES (strings) for a categorical feature")
