"""The seed's Flask monolith, as the seed writes it: load the model with joblib, serve /predict.

Run by bench/report.py (MODEL_PATH, PORT); Flask's own development server, as in the seed.
"""

import os

import joblib
from flask import Flask, jsonify, request

app = Flask(__name__)
model = joblib.load(os.environ.get("MODEL_PATH", "model.joblib"))


@app.route("/predict", methods=["POST"])
def predict():
    data = request.get_json()
    if "instances" in data:
        predictions = model.predict(data["instances"]).tolist()
        return jsonify({"predictions": predictions})
    prediction = model.predict([data["features"]]).tolist()
    return jsonify({"prediction": prediction[0]})


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
