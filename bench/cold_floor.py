"""The floor of the mandated stack, cold: what any FastAPI + Mangum function on this runtime and layer pays before
its first answer. A hello-world function that imports the bundle's runtime and loads its model (the import and
load of bench/cold_start.py's bare baseline), then answers the /predict event through FastAPI and Mangum with
``{"ok": true}``: no bundle verification, no reference check, no validation, no logs or metrics.

bench/cold_start.py starts it in the same image, with the same layer mounted, the same way as the function (the
Lambda runtime interface emulator, ``docker run`` to the first response), alternating with the function.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.cold_start import BARE_LOAD, Deployment

HANDLER = "floor_handler.handler"
TARGET_RATIO = 1.1  # issue 22: the function's cold start at most 1.1x the floor's (medians)

HELLO_WORLD = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.post("/predict")
async def predict():
    return {"ok": True}


handler = Mangum(app, lifespan="off")
"""


def floor_deployment(deployment: Deployment, work_dir: Path) -> Deployment:
    """``deployment`` whose /var/task also holds ``floor_handler.py`` (the function's packages beside it: FastAPI,
    Mangum), written for the bundle's runtime into ``work_dir``; the layer and the model are the function's."""
    function = work_dir / "floor-function"
    shutil.rmtree(function, ignore_errors=True)
    shutil.copytree(deployment.function, function)
    load = BARE_LOAD[deployment.runtime()].replace("; ", "\n")
    (function / "floor_handler.py").write_text(load + "\n" + HELLO_WORLD)
    return Deployment(function, deployment.python, deployment.model)


def verdict(cold: float, floor: float) -> tuple[float, str]:
    ratio = cold / floor
    return ratio, "PASS" if ratio <= TARGET_RATIO else "MISS"
