"""The inspector page of `webhook-hub run`, in headless Chromium (Debian's chromium and chromium-driver).

`make test` installs both when they are missing (`make browser`). The screenshot is written to
test-artifacts/inspector.png.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from webhook_hub.core.redact import REDACTED
from webhook_hub_cli.send_cmd import post

from .local_hub import RunningHub, start_hub, text_message

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CANARY_APIKEY = "CANARY-INSPECTOR-APIKEY-93b1"
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    running = start_hub(tmp_path_factory.mktemp("inspector") / "data")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    assert CHROMIUM.exists(), "no Chromium: `make browser` installs it (make test does)"
    assert CHROMEDRIVER.exists(), "no chromedriver: `make browser` installs it (make test does)"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def _message(text: str) -> bytes:
    return text_message(text, CANARY_APIKEY)


def _row_with(driver: WebDriver, text: str) -> str:
    """The id of the newest row whose summary line shows ``text`` (waits for it)."""

    def found(d: WebDriver) -> str | None:
        for row in d.find_elements(By.CSS_SELECTOR, "#rows > details"):
            if text in (row.find_element(By.TAG_NAME, "summary").get_attribute("textContent") or ""):
                return row.get_attribute("id")
        return None

    row_id = _wait(driver).until(found)
    assert row_id is not None
    return row_id


def _wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    """Rows are drawn again when they change (their notification arrives): an element found may go stale."""
    return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,))


def _text(driver: WebDriver, selector: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, selector).get_attribute("textContent") or ""


def test_events_appear_live_filter_send_again_and_no_secret_in_the_dom(hub: RunningHub, browser: WebDriver) -> None:
    browser.get(f"{hub.base_url}/?token={hub.token}")
    _wait(browser).until(lambda d: d.find_element(By.ID, "status").text == "live")
    browser.execute_script("window.loadedOnce = true")
    text = f"Chegou agora {uuid.uuid4().hex[:6]}"

    accepted = json.loads(post(hub.url, _message(text))[1])
    row_id = _row_with(browser, text)
    _wait(browser).until(lambda d: accepted["event_id"] in _text(d, f"#{row_id} .notification"))
    browser.find_element(By.CSS_SELECTOR, f"#{row_id} summary").click()
    answer = _text(browser, f"#{row_id} .answer")
    payload = _text(browser, f"#{row_id} .payload")
    not_reloaded = browser.execute_script("return window.loadedOnce === true")

    text_filter = browser.find_element(By.ID, "filter-text")
    text_filter.send_keys("no event says this")
    hidden_by_text = not browser.find_element(By.ID, row_id).is_displayed()
    text_filter.clear()
    text_filter.send_keys(text[-6:])
    shown_by_text = browser.find_element(By.ID, row_id).is_displayed()
    text_filter.clear()
    post(hub.url, json.dumps({"event": "call", "instance": "filial", "data": {"id": uuid.uuid4().hex}}).encode())
    _wait(browser).until(
        lambda d: "call" in [o.get_attribute("value") for o in Select(d.find_element(By.ID, "filter-type")).options]
    )
    Select(browser.find_element(By.ID, "filter-type")).select_by_value("call")
    hidden_by_type = not browser.find_element(By.ID, row_id).is_displayed()
    Select(browser.find_element(By.ID, "filter-type")).select_by_value("")
    Select(browser.find_element(By.ID, "filter-instance")).select_by_value("filial")
    hidden_by_instance = not browser.find_element(By.ID, row_id).is_displayed()
    Select(browser.find_element(By.ID, "filter-instance")).select_by_value("")

    browser.find_element(By.CSS_SELECTOR, f"#{row_id} .send-again").click()
    _wait(browser).until(lambda d: "duplicate" in _text(d, f"#{row_id} .send-again-result"))
    again_id = _row_with(browser, f"(sent again from #{row_id.removeprefix('row-')})")
    again_answer = _text(browser, f"#{again_id} .answer")

    secret_path = f"resposta-{uuid.uuid4().hex[:12]}"
    added = hub.cli("destinations", "add", "horse", f"http://localhost:9/{secret_path}", "--instance", "nowhere")
    assert added.returncode == 0, added.stderr
    _wait(browser).until(lambda d: "horse" in _text(d, "#destinations"))
    destinations = _text(browser, "#destinations")

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "inspector.png"))
    dom = browser.execute_script("return document.documentElement.outerHTML")
    copied = browser.execute_async_script(  # what Copy URL puts on the clipboard, fetched when clicked
        "const done = arguments[arguments.length - 1];"
        "fetch('/inspector/webhook-url').then((r) => r.json()).then((j) => done(j.webhook_url));"
    )

    assert accepted["status"] == "accepted"
    assert browser.current_url == f"{hub.base_url}/", "the token stayed in the address bar"
    assert not_reloaded
    assert answer == "accepted"
    assert f'"apikey": "{REDACTED}"' in payload
    assert hidden_by_text, "the text filter did not hide the row"
    assert shown_by_text
    assert hidden_by_type, "the type filter did not hide the row"
    assert hidden_by_instance, "the instance filter did not hide the row"
    assert again_answer == "duplicate"
    assert (ARTIFACTS / "inspector.png").stat().st_size > 10_000
    assert text in dom
    assert CANARY_APIKEY not in dom
    assert hub.token not in dom, "the page must not hold the webhook token"
    assert browser.find_element(By.ID, "webhook-url").text.startswith(f"{hub.base_url}/webhook/")
    assert copied == hub.url
    assert "horse (http://localhost:9/[REDACTED]) delivering, 0 parked" in destinations
    assert secret_path not in dom, "a destination's path may be the receiver's own secret"


def _get(url: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the local hub
            return response.status, response.read(2000).decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_inspector_needs_the_token(hub: RunningHub) -> None:
    landing = _get(f"{hub.base_url}/")
    wrong = _get(f"{hub.base_url}/?token=not-the-token")
    stream = _get(f"{hub.base_url}/inspector/stream")
    url = _get(f"{hub.base_url}/inspector/webhook-url", cookie="webhook_hub_inspector=" + hub.token)
    again, _ = post(f"{hub.base_url}/inspector/send-again", b'{"id": 1}')

    assert landing[0] == 200
    assert "Webhook Hub local: active" in landing[1]
    assert "<script" not in landing[1]
    assert wrong == landing
    assert stream[0] == 401
    assert url[0] == 401, "the cookie is derived from the token, not the token itself"
    assert again == 401
