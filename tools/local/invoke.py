"""One events/ file through `sam local invoke`, with a body that fits the bundle, and the function's answer as
the exit status (what `make invoke` runs).

    sam-invoke --image IMAGE --template .aws-sam/invoke/build/template.yaml events/rest-predict-single.json

- The sample events are written for the default model's 10 diabetes features. When the bundle's manifest
  names other features (a user's model), the event is sent with its body fitted to the manifest: each row
  becomes one of the bundle's reference rows (``reference.rows``; zeros without them), of the bundle's
  length, with named rows keyed by the bundle's names. What makes a bad event bad is kept: a value that
  is not a plain number (NaN, a string, a boolean) stays where it was, a row with too many or too few
  values keeps that many more or fewer, unknown feature names and a malformed body are sent as they are.
- SAM runs through tools/local/sam_local.py (Ctrl-C or SIGTERM leaves no container), its output passed through.
- Exit status: SAM's own when it failed; else 1 when the function answered 4xx/5xx (or no answer could be
  read), 0 on 2xx/3xx. So `make invoke EVENT=rest-bad-nan` prints the 422 and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tools.local import sam_local
from tools.paths import ROOT

# The features every events/ file is written for: the default model's (tools/local/make_events.py, load_diabetes).
EVENT_FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
FUNCTION = "PredictFunction"


def say(message: str) -> None:
    print(f"sam-invoke: {message}", file=sys.stderr, flush=True)


def plain_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fit_values(values: list[Any], width: int, reference: list[float]) -> list[Any]:
    """``values`` (a row of the events' width) as a row of ``width``: the reference row's values, except
    where ``values`` holds something that is not a plain number, plus or minus as many as it had too many."""
    length = max(0, width + len(values) - len(EVENT_FEATURES))
    return [
        values[i] if i < len(values) and not plain_number(values[i]) else (reference[i] if i < len(reference) else 0.0)
        for i in range(length)
    ]


def fit_row(row: Any, names: list[str], reference: list[float]) -> Any:
    if isinstance(row, list):
        return fit_values(row, len(names), reference)
    if not isinstance(row, dict):
        return row
    known = [key for key in row if key in EVENT_FEATURES]
    values = fit_values([row[key] for key in known], len(names), reference)
    fitted: dict[str, Any] = dict(zip(names, values, strict=False))
    fitted.update({key: value for key, value in row.items() if key not in EVENT_FEATURES})  # unknown names stay
    return fitted


def fit_body(body: Any, names: list[str], references: list[list[float]]) -> Any:
    """A request body of the events (``features``, ``instances``, or a bare array) fitted to ``names``."""
    refs = references or [[0.0] * len(names)]
    if isinstance(body, dict):
        fitted = dict(body)
        if "features" in body:
            fitted["features"] = fit_row(body["features"], names, refs[0])
        if isinstance(body.get("instances"), list):
            fitted["instances"] = [fit_row(r, names, refs[i % len(refs)]) for i, r in enumerate(body["instances"])]
        return fitted
    if isinstance(body, list):
        return [fit_row(r, names, refs[i % len(refs)]) for i, r in enumerate(body)]
    return body


def fit_event(event: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any] | None:
    """``event`` with its body fitted to the manifest's features; None when it needs no change (the bundle has
    the events' features, or the event has no JSON body)."""
    names = list(manifest.get("feature_names") or [])
    raw = event.get("body")
    if names == EVENT_FEATURES or not raw:
        return None
    encoded = bool(event.get("isBase64Encoded"))
    try:
        body = json.loads(base64.b64decode(raw) if encoded else raw)
    except ValueError:  # malformed on purpose: sent as it is
        return None
    references = [list(r) for r in (manifest.get("reference") or {}).get("rows") or []]
    fitted = fit_body(body, names, references)
    if fitted == body:
        return None
    text = json.dumps(fitted, separators=(",", ":"))
    return {**event, "body": base64.b64encode(text.encode()).decode() if encoded else text}


def answer_status(stdout: bytes) -> int | None:
    """The statusCode of the function's answer: the last JSON object SAM printed on stdout that has one."""
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and isinstance(answer.get("statusCode"), int):
            return int(answer["statusCode"])
    return None


def invoke(sam: str, event_path: Path, template: Path, image: str | None, grace: float) -> int:
    command = [sam, "local", "invoke", FUNCTION, "-t", str(template)]
    if image:
        command += ["--invoke-image", image, "--skip-pull-image"]
    stdout = bytearray()
    returncode = sam_local.run([*command, "-e", str(event_path)], grace, stdout)
    if returncode != 0:
        return returncode
    status = answer_status(bytes(stdout))
    if status is None:
        say(f"no answer with a statusCode from {FUNCTION} on stdout: failing")
        return 1
    if status >= 400:
        say(f"{FUNCTION} answered {status}: exit status 1")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", type=Path, help="an events/ file")
    parser.add_argument("--template", type=Path, required=True, help="the built template (sam build --build-dir)")
    parser.add_argument("--manifest", type=Path, default=ROOT / "layers" / "model" / "model" / "manifest.json")
    parser.add_argument("--image", help="the python3.13 Lambda image (--invoke-image; pulled by SAM when absent)")
    parser.add_argument("--sam", default=str(sam_local.DEFAULT_SAM) if sam_local.DEFAULT_SAM.exists() else "sam")
    parser.add_argument("--grace", type=float, default=60.0, help="seconds SAM gets to stop after SIGINT")
    args = parser.parse_args(argv)
    try:
        event = json.loads(args.event.read_text())
        manifest = json.loads(args.manifest.read_text())
    except (OSError, ValueError) as exc:
        say(f"error: {exc}")
        return 2
    fitted = fit_event(event, manifest)
    if fitted is None:
        return invoke(args.sam, args.event, args.template, args.image, args.grace)
    names = manifest["feature_names"]
    say(f"{args.event}: body fitted to the bundle's {len(names)} features ({', '.join(names)}), shape kept")
    fd, tmp = tempfile.mkstemp(prefix="event-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(fitted, out)
        return invoke(args.sam, Path(tmp), args.template, args.image, args.grace)
    finally:
        os.unlink(tmp)


if __name__ == "__main__":
    sys.exit(main())
