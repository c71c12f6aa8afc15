"""The predict function's code: settings, the model bundle, request schemas, the API and its routes.

Request path: API Gateway/ALB event -> ``app.handler`` (Mangum) -> ``api.create_app`` (FastAPI,
stage-aware root path) -> ``routes.predict`` -> ``features.to_matrix`` -> ``bundle.ModelBundle.predict``.
"""
