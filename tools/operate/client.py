"""Call the prediction endpoint, once or under load.

    .venv/bin/predict-client predict --url http://127.0.0.1:3000 --features 0.03,0.05,...
    .venv/bin/predict-client predict --stack sklearn-inference-prod --api-key-id <id> --body req.json
    .venv/bin/predict-client load --url http://127.0.0.1:3000 -n 2000 -c 8 --rows 100 \\
        [--out result.json] [--plot latency.png]

The URL is the API's base (the stack's ``ApiUrl`` output, or http://127.0.0.1:3000 locally);
``--stack`` reads it from the stack's Outputs. Authentication: ``--api-key`` (or ``--api-key-id``,
whose value is fetched), or ``--iam`` (SigV4 with the default AWS credentials). Throttling (429) and
5xx are retried with exponential backoff and jitter (``Retry-After`` honoured), up to ``--retries``.
Without ``--body`` or ``--features`` the rows are the served model's own first reference row, read from its
model card (``GET /model``), so they fit whatever model is served.

Load mode sends N requests with C in flight (asyncio + httpx), shows progress, and reports p50/p90/
p99 latency, throughput, errors by status (with the first answer of each error status, as the server
worded it; the exit status is 1 when any request failed) and the cold starts it met (responses carrying
``X-Cold-Start: true``); ``--out`` writes the JSON result, ``--plot`` a latency histogram and
percentile curve with p50/p90/p99, errors and cold starts marked. Against ``sam local start-api``
(``Server: Werkzeug``), requests of a second or more that met no cold start get a note: they are the
emulator's (docs/performance.md), not the function's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx

RETRY_STATUSES = {429, 500, 502, 503, 504}


class ClientError(RuntimeError):
    pass


@dataclass
class Auth:
    api_key: str | None = None
    iam_region: str | None = None

    def headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        if self.iam_region:
            import boto3
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            credentials = boto3.session.Session().get_credentials()
            if credentials is None:
                raise ClientError("--iam: no AWS credentials found (AWS_PROFILE, environment or instance role)")
            request = AWSRequest(method=method, url=url, data=body, headers=headers)
            SigV4Auth(credentials.get_frozen_credentials(), "execute-api", self.iam_region).add_auth(request)
            headers = dict(request.headers.items())
        return headers


def backoff(attempt: int, retry_after: str | None) -> float:
    if retry_after:
        try:
            return min(float(retry_after), 10.0)
        except ValueError:
            pass
    delay: float = min(2.0, 0.1 * 2**attempt) * (0.5 + random.random() / 2)  # jitter, not cryptography
    return delay


def retry_delay(attempt: int, retries: int, response: httpx.Response | None) -> float | None:
    """Seconds to wait before trying again, or None: no answer or a retryable status, while tries remain."""
    if attempt >= retries or (response is not None and response.status_code not in RETRY_STATUSES):
        return None
    return backoff(attempt, response.headers.get("retry-after") if response is not None else None)


def resolve_url(args: argparse.Namespace) -> str:
    base: str
    if args.url:
        base = args.url
    else:
        import boto3

        from tools.operate.ops import OpsError, stack_outputs

        try:
            base = stack_outputs(boto3.client("cloudformation"), args.stack)["ApiUrl"]
        except (OpsError, KeyError) as exc:
            raise ClientError(f"cannot find the endpoint of stack {args.stack!r}: {exc}") from None
    if not base.startswith(("http://", "https://")):
        raise ClientError(f"--url must start with http:// or https://, got {base!r}")
    return base.rstrip("/") + "/predict"


def resolve_auth(args: argparse.Namespace, url: str) -> Auth:
    key = args.api_key
    if args.api_key_id:
        import boto3

        key = boto3.client("apigateway").get_api_key(apiKey=args.api_key_id, includeValue=True)["value"]
    region = None
    if args.iam:
        host = urlsplit(url).hostname or ""
        parts = host.split(".")
        if "execute-api" not in parts:
            raise ClientError(f"--iam signs execute-api URLs; {host} is not one")
        region = parts[parts.index("execute-api") + 1]
    return Auth(api_key=key, iam_region=region)


def request_body(args: argparse.Namespace, url: str, auth: Auth) -> bytes:
    """--body, --features, else rows fitted to the served model: its own first reference row (GET /model)."""
    if args.body:
        return Path(args.body).read_bytes()
    if args.features:
        return json.dumps({"features": [feature_value(x) for x in args.features.split(",")]}).encode()
    row = example_row(url.removesuffix("/predict") + "/model", auth, args.timeout)
    rows = getattr(args, "rows", 1)
    if rows == 1:
        return json.dumps({"features": row}).encode()
    return json.dumps({"instances": [row] * rows}).encode()


def feature_value(text: str) -> float | str:
    """One value of --features: a number, else a categorical feature's string as written (the server checks it)."""
    try:
        return float(text)
    except ValueError:
        return text.strip()


def example_row(model_url: str, auth: Auth, timeout: float) -> list[Any]:
    """The served model's first reference row (its model card): a body that fits whatever model is served."""
    try:
        response = httpx.get(model_url, headers=auth.headers("GET", model_url, b""), timeout=timeout)
    except httpx.HTTPError as exc:
        raise ClientError(
            f"cannot reach {model_url} (to fit the rows to the served model): {type(exc).__name__}"
        ) from None
    if response.status_code != 200:
        raise ClientError(f"cannot read the served model's features from {model_url}: {explain(response)}")
    try:
        return list(response.json()["reference"]["rows"][0])
    except (ValueError, KeyError, IndexError, TypeError):
        raise ClientError(f"{model_url} holds no model card with reference rows: is this the predict API?") from None


def explain(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail") or response.json().get("message")
    except (ValueError, AttributeError):
        detail = response.text[:200]
    hints = {
        401: "the API needs credentials (--api-key / --iam)",
        403: "forbidden: wrong or missing API key, or IAM credentials without execute-api:Invoke",
        429: "throttled by the stage or the usage plan, retries exhausted",
    }
    hint = f" ({hints[response.status_code]})" if response.status_code in hints else ""
    return f"HTTP {response.status_code}{hint}: {detail}"


def predict_once(url: str, auth: Auth, body: bytes, timeout: float, retries: int) -> tuple[int, Any]:
    with httpx.Client(timeout=timeout) as client:
        for attempt in range(retries + 1):
            try:
                response: httpx.Response | None = client.post(
                    url, content=body, headers=auth.headers("POST", url, body)
                )
            except httpx.TimeoutException:
                response = None
            except httpx.HTTPError as exc:
                raise ClientError(f"cannot reach {url}: {exc}") from None
            delay = retry_delay(attempt, retries, response)
            if delay is not None:
                time.sleep(delay)
                continue
            if response is None:
                raise ClientError(f"no answer from {url} within {timeout}s ({retries + 1} attempts)")
            if response.status_code >= 400:
                raise ClientError(explain(response))
            return response.status_code, response.json()
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class LoadPlan:
    """What `load` sends: ``requests`` POSTs of ``body`` to ``url``, ``concurrency`` at a time."""

    url: str
    auth: Auth
    body: bytes
    requests: int
    concurrency: int
    timeout: float
    retries: int
    progress: bool


@dataclass
class LoadResult:
    url: str
    requests: int
    concurrency: int
    rows_per_request: int
    wall_s: float
    throughput_rps: float
    latency_ms: dict[str, float]
    status_counts: dict[str, int]
    errors: int
    cold_starts: int
    retries: int
    latencies_ms: list[float] = field(repr=False)
    server: str = ""  # the Server header most responses carried
    first_errors: dict[str, str] = field(default_factory=dict)  # status -> the first error answer's words


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class LoadTally:
    """What the workers saw, as they saw it."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    cold_starts: int = 0
    retries: int = 0
    done: int = 0
    servers: Counter[str] = field(default_factory=Counter)  # the Server header: uvicorn, Werkzeug (sam local)...
    first_errors: dict[str, str] = field(default_factory=dict)  # status -> the first error answer's words


async def send_one(client: httpx.AsyncClient, plan: LoadPlan, headers: dict[str, str] | None, tally: LoadTally) -> None:
    """One request, retried as `predict_once` does; its final outcome is tallied."""
    for attempt in range(plan.retries + 1):
        start = time.perf_counter()
        response: httpx.Response | None = None
        try:
            response = await client.post(
                plan.url, content=plan.body, headers=headers or plan.auth.headers("POST", plan.url, plan.body)
            )
            status = str(response.status_code)
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        elapsed = (time.perf_counter() - start) * 1000
        delay = retry_delay(attempt, plan.retries, response)
        if delay is not None:
            tally.retries += 1
            await asyncio.sleep(delay)
            continue
        tally.statuses[status] += 1
        tally.latencies.append(elapsed)
        tally.cold_starts += response is not None and response.headers.get("x-cold-start") == "true"
        if response is not None:
            tally.servers[response.headers.get("server", "")] += 1
            if not status.startswith("2"):
                tally.first_errors.setdefault(status, explain(response))
        return


async def load(plan: LoadPlan) -> LoadResult:
    tally, claimed = LoadTally(), 0
    # SigV4 signs each request (its date changes); other credentials are the same headers every time.
    headers = plan.auth.headers("POST", plan.url, plan.body) if not plan.auth.iam_region else None
    limits = httpx.Limits(max_connections=plan.concurrency, max_keepalive_connections=plan.concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal claimed
        while claimed < plan.requests:
            claimed += 1
            await send_one(client, plan, headers, tally)
            tally.done += 1
            if plan.progress and (tally.done % max(1, plan.requests // 20) == 0 or tally.done == plan.requests):
                print(f"\r  {tally.done}/{plan.requests} requests", end="", file=sys.stderr, flush=True)

    async with httpx.AsyncClient(timeout=plan.timeout, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(plan.concurrency)))
        wall = time.perf_counter() - started
    if plan.progress:
        print(file=sys.stderr)
    return load_result(plan, tally, wall)


def load_result(plan: LoadPlan, tally: LoadTally, wall: float) -> LoadResult:
    latencies = tally.latencies
    return LoadResult(
        url=plan.url,
        requests=plan.requests,
        concurrency=plan.concurrency,
        rows_per_request=len(json.loads(plan.body).get("instances", [0])),
        wall_s=round(wall, 4),
        throughput_rps=round(plan.requests / wall, 1),
        latency_ms={
            "p50": round(percentile(latencies, 50), 3),
            "p90": round(percentile(latencies, 90), 3),
            "p99": round(percentile(latencies, 99), 3),
            "mean": round(statistics.fmean(latencies), 3) if latencies else float("nan"),
            "max": round(max(latencies), 3) if latencies else float("nan"),
        },
        status_counts=dict(tally.statuses),
        errors=sum(count for status, count in tally.statuses.items() if not status.startswith("2")),
        cold_starts=tally.cold_starts,
        retries=tally.retries,
        latencies_ms=[round(x, 4) for x in latencies],
        server=tally.servers.most_common(1)[0][0] if tally.servers else "",
        first_errors=dict(tally.first_errors),
    )


PERCENTILE_MARKS = {"p50": "#2a9d55", "p90": "#e0a100", "p99": "#c0392b"}  # line colour on both panels


def plot(result: LoadResult, path: Path, title: str = "") -> None:
    """Histogram and percentile curve, with p50/p90/p99 marked on both and errors, cold starts and retries
    in the curve's legend and the title: what the summary line says, drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latencies = sorted(result.latencies_ms)
    fig, (hist, curve) = plt.subplots(1, 2, figsize=(12, 4.6))
    spread = bool(latencies) and latencies[0] > 0 and latencies[-1] / latencies[0] > 30  # warm ms and ~1 s outliers
    draw_histogram(hist, latencies, spread)
    draw_percentile_curve(curve, latencies, spread)
    mark_percentiles(result, hist, curve)
    if latencies:
        hist.legend(loc="upper right", fontsize=9)
    add_facts(result, curve)
    fig.suptitle(
        title
        or f"{result.requests} requests, concurrency {result.concurrency}, {result.url}: "
        f"errors {result.errors}, cold starts {result.cold_starts}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def draw_histogram(hist: Any, latencies: list[float], spread: bool) -> None:
    if spread:  # log-spaced bins on a log axis: both groups stay visible
        low, high = math.log10(latencies[0]), math.log10(latencies[-1]) + 1e-6  # the slowest in the last bin
        hist.hist(latencies, bins=[10 ** (low + (high - low) * i / 60) for i in range(61)], color="#3b7dd8")
        hist.set_xscale("log")
    else:
        hist.hist(latencies, bins=60, color="#3b7dd8")
    hist.set_xlabel("latency (ms)" + (", log scale" if spread else ""))
    hist.set_ylabel("requests")
    hist.set_title("latency histogram")


def draw_percentile_curve(curve: Any, latencies: list[float], spread: bool) -> None:
    qs = [i / 10 for i in range(0, 1001)]
    curve.plot(qs, [percentile(latencies, q) for q in qs], color="#3b7dd8")
    curve.set_xlabel("percentile")
    curve.set_ylabel("latency (ms)")
    curve.set_title("percentile curve")
    if spread:
        curve.set_yscale("log")


def mark_percentiles(result: LoadResult, hist: Any, curve: Any) -> None:
    for name, colour in PERCENTILE_MARKS.items():
        value = result.latency_ms[name]
        if math.isnan(value):  # no latencies at all
            continue
        label = f"{name} {value:,.0f} ms" if value >= 100 else f"{name} {value:.3g} ms"
        hist.axvline(value, color=colour, linestyle="--", linewidth=1.3, label=label)
        curve.axhline(value, color=colour, linestyle="--", linewidth=1, label=label)
        curve.plot([float(name[1:])], [value], marker="o", color=colour)


def add_facts(result: LoadResult, curve: Any) -> None:
    """Errors, cold starts and retries in the curve's legend: its upper left (low percentiles, high latency)
    stays empty, so the facts go there too, on an amber frame when there were errors."""
    from matplotlib.lines import Line2D

    errors = ", ".join(f"{status}: {n}" for status, n in sorted(result.status_counts.items()) if status[0] != "2")
    facts = [
        f"errors {result.errors} of {result.requests}" + (f" ({errors})" if errors else ""),
        f"cold starts {result.cold_starts} (X-Cold-Start)",
        f"retries {result.retries}, {result.throughput_rps:.0f} req/s",
    ]
    handles, labels = curve.get_legend_handles_labels()
    blank = [Line2D([], [], linestyle="none") for _ in facts]
    legend = curve.legend([*handles, *blank], [*labels, *facts], loc="upper left", fontsize=9, handlelength=1.5)
    if result.errors:
        legend.get_frame().set_facecolor("#fff1d6")


def summary(result: LoadResult) -> str:
    lat = result.latency_ms
    return (
        f"{result.requests} requests, concurrency {result.concurrency}, {result.rows_per_request} row(s) each: "
        f"p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, p99 {lat['p99']:.2f} ms, "
        f"{result.throughput_rps:.0f} req/s, errors {result.errors} {result.status_counts}, "
        f"cold starts {result.cold_starts}, retries {result.retries}"
    ) + "".join(f"\n{note}" for note in [*first_errors(result), *notes(result)])


def first_errors(result: LoadResult) -> list[str]:
    """The first answer of each error status, as the server worded it."""
    return [f"first {status}: {words}" for status, words in sorted(result.first_errors.items())]


SLOW_MS = 900.0  # a request this slow is a cold start, or something in front of the function


def notes(result: LoadResult) -> list[str]:
    """What the figures do not say by themselves."""
    slow = sum(latency >= SLOW_MS for latency in result.latencies_ms)
    if slow <= result.cold_starts or not result.server.startswith("Werkzeug"):
        return []
    return [
        f"note: {slow} request(s) took {SLOW_MS:.0f} ms or more but only {result.cold_starts} met a cold start "
        "(X-Cold-Start: true, the first answer of a function process). The server answers as Werkzeug, as "
        "`sam local start-api` does: it runs one invocation at a time in its warm container, so concurrent requests "
        "queue, and after an answer it waits up to 1 s for the function's REPORT log line. Those seconds are "
        "the emulator's, not the function's: its own time is the Duration in the REPORT lines SAM prints."
    ]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="predict-client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = top.add_subparsers(dest="command", required=True)
    for name in ("predict", "load"):
        sub = commands.add_parser(name)
        where = sub.add_mutually_exclusive_group(required=True)
        where.add_argument("--url", help="API base URL (ApiUrl), e.g. http://127.0.0.1:3000")
        where.add_argument("--stack", help="read ApiUrl from this CloudFormation stack's Outputs")
        auth = sub.add_mutually_exclusive_group()
        auth.add_argument("--api-key")
        auth.add_argument("--api-key-id", help="fetch the key's value from API Gateway")
        auth.add_argument("--iam", action="store_true", help="sign requests with SigV4 (AuthMode=IAM)")
        sub.add_argument("--body", help="a JSON request body file")
        sub.add_argument(
            "--features", help="comma-separated values, one row: numbers, strings for categorical features"
        )
        sub.add_argument("--timeout", type=float, default=10.0)
        sub.add_argument("--retries", type=int, default=3 if name == "predict" else 0)
    load_cmd = commands.choices["load"]
    load_cmd.add_argument("-n", "--requests", type=int, default=1000)
    load_cmd.add_argument("-c", "--concurrency", type=int, default=8)
    load_cmd.add_argument("--rows", type=int, default=1, help="rows per request when no --body/--features")
    load_cmd.add_argument("--out", type=Path, help="write the JSON result here")
    load_cmd.add_argument("--plot", type=Path, help="write a PNG latency plot here")
    load_cmd.add_argument("--quiet", action="store_true")
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        url = resolve_url(args)
        auth = resolve_auth(args, url)
        body = request_body(args, url, auth)
        if args.command == "predict":
            _, answer = predict_once(url, auth, body, args.timeout, args.retries)
            print(json.dumps(answer, indent=2))
            return 0
        if args.requests < 1 or args.concurrency < 1:
            raise ClientError("-n and -c must be at least 1")
        plan = LoadPlan(url, auth, body, args.requests, args.concurrency, args.timeout, args.retries, not args.quiet)
        result = asyncio.run(load(plan))
    except ClientError as exc:
        print(f"predict-client: error: {exc}", file=sys.stderr)
        return 2
    print(summary(result))
    if args.out:
        args.out.write_text(json.dumps(asdict(result), indent=1) + "\n")
    if args.plot:
        plot(result, args.plot)
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
