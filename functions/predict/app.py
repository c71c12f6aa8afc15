"""Lambda entry point (template.yaml: ``Handler: app.handler``).

The model bundle is loaded once per execution environment, here at import (cold start). A bundle that
fails verification is not served: every call answers 503 with the reason, and /health says it too.
"""

from mangum import Mangum

from predictor.api import create_app
from predictor.bundle import load_or_error
from predictor.settings import Settings

settings = Settings.from_env()
app = create_app(settings, load_or_error(settings.model_dir))
handler = Mangum(app, lifespan="off")
