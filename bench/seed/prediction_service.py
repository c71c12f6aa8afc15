"""The seed's prediction microservice: the model behind its own Flask app (Flask development server)."""

import os

import joblib
from flask import Flask, jsonify, request

app = Flask(__name__)
model = joblib.load(os.environ.get("MODEL_PATH", "model.joblib"))


@app.route("/predict", methods=["POST"])
def predict():
    data = request.get_json()
    rows = data["instances"] if "instances" in data else [data["features"]]
    return jsonify({"predictions": model.predict(rows).tolist()})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5001")))
