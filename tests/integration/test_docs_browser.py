"""/docs in a real browser, with no outside network: headless Chromium (Debian's `chromium` and
`chromium-driver`, put there by tools/build/browser) opens Swagger UI through `sam local start-api`, sees the
operations, runs POST /predict with "Try it out" / "Execute" on the body the page offers (the served
model's own example), and reads the answer off the page.

Chromium resolves no host but 127.0.0.1 (``--host-resolver-rules``), and every request the page made is
checked to have gone to the function. The screenshot is kept under the test's tmp dir and copied to
``.artifacts/docs.png`` (ignored by git).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT
from tests.integration.conftest import BUNDLE, unavailable
from tests.utils import assert_predictions_close, manifest_of

pytestmark = [pytest.mark.build, pytest.mark.sam, pytest.mark.docker]

ARTIFACT = ROOT / ".artifacts" / "docs.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,2200",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        unavailable("no chromium and chromedriver on PATH (tools/build/browser installs them on Debian as root)")
    assert chromium is not None
    assert driver is not None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # every request the page makes
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    try:
        yield chrome
    finally:
        chrome.quit()


def requested_urls(chrome: webdriver.Chrome) -> list[str]:
    urls = []
    for entry in chrome.get_log("performance"):
        message: dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def outside_requests(chrome: webdriver.Chrome, base: str) -> list[str]:
    """Network requests (http, https, ws, wss) made so far to anywhere but ``base``; the browser's own
    chrome:// pages and data: URLs are not network requests."""
    network = ("http:", "https:", "ws:", "wss:")
    return [u for u in requested_urls(chrome) if u.startswith(network) and not u.startswith(base + "/")]


def number_after(key: str, text: str) -> float:
    found = re.search(rf'"{key}":\s*(-?[0-9][0-9.e+-]*)', text)
    assert found, f"no {key} in {text}"
    return float(found[1])


def test_swagger_ui_renders_and_runs_predict_offline(start_api: str, browser: webdriver.Chrome, tmp_path: Path) -> None:
    manifest = manifest_of(BUNDLE)
    version, reference = manifest["version"], manifest["reference"]
    wait = WebDriverWait(browser, 60)
    browser.get(f"{start_api}/docs")

    for path in ["/predict", "/health", "/model"]:
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, f".opblock-summary-path[data-path='{path}']")))
    predict = browser.find_element(By.CSS_SELECTOR, ".opblock-post:has(.opblock-summary-path[data-path='/predict'])")
    predict.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda _: predict.find_element(By.CSS_SELECTOR, "button.try-out__btn")).click()
    body = wait.until(lambda _: predict.find_element(By.CSS_SELECTOR, "textarea.body-param__text"))
    assert json.loads(body.get_attribute("value") or "") == {"features": reference["rows"][0]}  # the model's own
    predict.find_element(By.CSS_SELECTOR, "button.execute").click()

    status = wait.until(
        lambda _: predict.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status")
    )
    answer = predict.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", answer)
    shot = tmp_path / "docs.png"
    assert browser.save_screenshot(str(shot))
    ARTIFACT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)
    print(f"screenshot: {shot} (copied to {ARTIFACT})")

    assert status.text.strip() == "200", answer.text
    text = answer.text
    assert_predictions_close([number_after("prediction", text)], reference["predictions"][:1], BUNDLE)
    assert f'"model_version":"{version}"' in text.replace(" ", "")
    assert f"x-model-version: {version}" in text
    # The documented answer is the model's recorded one for that row (a number, not the placeholder "string").
    documented = predict.find_element(
        By.CSS_SELECTOR, ".responses-table:not(.live-responses-table) tr.response[data-code='200']"
    )
    assert number_after("prediction", documented.text) == reference["predictions"][0], documented.text
    assert f'"model_version": "{version}"' in documented.text
    outside = outside_requests(browser, start_api)
    assert outside == [], f"the page asked for outside URLs: {outside}"
