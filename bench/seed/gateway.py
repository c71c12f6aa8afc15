"""The seed's API gateway microservice: a Flask app forwarding each request to the prediction service."""

import os

import requests
from flask import Flask, jsonify, request

app = Flask(__name__)
PREDICTION_URL = os.environ.get("PREDICTION_URL", "http://127.0.0.1:5001/predict")


@app.route("/predict", methods=["POST"])
def predict():
    data = request.get_json()
    response = requests.post(PREDICTION_URL, json=data, timeout=10)
    predictions = response.json()["predictions"]
    if "instances" in data:
        return jsonify({"predictions": predictions})
    return jsonify({"prediction": predictions[0]})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5002")))
