"""The portal in a real browser: headless Chromium, driven by selenium through Debian's ``chromium-driver``.

The ``browser`` fixture starts the emulator (``fake.serve``) and Chromium on loopback and stops both afterwards; the
tests skip cleanly where ``chromium``/``chromedriver`` or selenium are missing (``.ci/run`` installs them).

Trust: Chromium is not told to ignore certificate errors in general. It gets
``--ignore-certificate-errors-spki-list`` with the SHA-256 of the public key the emulator's own loopback
certificate carries (read from the TLS handshake), so it accepts that one certificate and still refuses every other
untrusted one. (Importing the emulator's CA into an NSS database would need ``certutil`` from ``libnss3-tools``.)

``KVCONFIG_PORTAL_SCREENSHOT=docs/portal.png pytest tests/integration/test_portal_browser.py`` saves the screenshot
the docs show.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kvconfig.fake import FakeKeyVault, ManualClock
from kvconfig.fake.serve.emulator import EmulatorServer

from .portal_support import OLD_VALUE, STORE, STORE_VALUE, VALUE, XSS_KEY, XSS_NAME, XSS_TAG, Arranged

pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="headless Chromium needs Debian's chromium and chromium-driver "
        "(apt-get install chromium chromium-driver)",
    ),
    pytest.mark.serve_stores,  # the portal shows App Configuration stores too
]


def _spki_pin(server: EmulatorServer) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate the emulator presents for ``localhost``."""
    context = ssl.create_default_context(cafile=str(server.ca_path))
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    spki = (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


@pytest.fixture
def fake() -> FakeKeyVault:
    return FakeKeyVault(clock=ManualClock())


@pytest.fixture
def browser(server: EmulatorServer) -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="kvconfig-chromium-") as profile:
        options = Options()
        options.binary_location = str(CHROMIUM)
        for flag in (
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1360,1500",
            f"--user-data-dir={profile}",
            f"--ignore-certificate-errors-spki-list={_spki_pin(server)}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
        try:
            driver.set_page_load_timeout(30)
            yield driver
        finally:
            driver.quit()


def _open_portal(browser: Any, server: EmulatorServer) -> None:
    browser.get(f"{server.base_url}/_kvconfig/portal")
    WebDriverWait(browser, 15).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "section.vault"))


def _reveal_button(browser: Any, name: str, version: str) -> Any:
    for button in browser.find_elements(By.CSS_SELECTOR, "button.reveal"):
        if button.get_attribute("data-name") == name and button.get_attribute("data-version") == version:
            return button
    raise AssertionError(f"no Reveal button for {name}/{version}")


def test_chromium_shows_the_seeded_vault_and_its_objects(
    arranged: Arranged, server: EmulatorServer, browser: Any
) -> None:
    _open_portal(browser, server)
    assert browser.title == "kvconfig emulator · portal"
    vault = browser.find_element(By.CSS_SELECTOR, "section.vault")
    text = vault.text
    for shown in ("shop", "db-password", "signing-key", "web-tls", "doomed", arranged.version, "team=payments"):
        assert shown in text
    assert "carol" in browser.find_element(By.ID, "audit").text
    assert "status 503" in browser.find_element(By.ID, "faults").text
    store = browser.find_element(By.CSS_SELECTOR, "section.store").text
    for shown in (STORE, "app:greeting", "prod", "team=web", "locked", f"https://{arranged.vault_host}/secrets/db"):
        assert shown in store
    # The style sheet from the portal's own origin applied under the CSP (the header bar is dark, not default).
    header = browser.find_element(By.CSS_SELECTOR, "header.top")
    assert header.value_of_css_property("position") == "sticky"
    shot = os.environ.get("KVCONFIG_PORTAL_SCREENSHOT")
    if shot:
        browser.set_window_size(1360, 1500)
        assert browser.save_screenshot(str(Path(shot).resolve()))


def test_value_is_absent_from_the_page_source_until_clicked(
    arranged: Arranged, server: EmulatorServer, browser: Any
) -> None:
    _open_portal(browser, server)
    assert VALUE not in browser.page_source
    assert OLD_VALUE not in browser.page_source
    button = _reveal_button(browser, "db-password", arranged.version)
    cell = button.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, ".value")
    button.click()
    WebDriverWait(browser, 10).until(lambda _: cell.text == VALUE)
    assert button.text == "Hide"
    assert OLD_VALUE not in browser.page_source  # one click, one value
    button.click()
    assert VALUE not in cell.text
    assert VALUE not in browser.page_source
    # A key-value's value is masked and revealed the same way.
    assert STORE_VALUE not in browser.page_source
    greeting = next(
        button
        for button in browser.find_elements(By.CSS_SELECTOR, "button.reveal")
        if button.get_attribute("data-key") == "app:greeting"
    )
    cell = greeting.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, ".value")
    greeting.click()
    WebDriverWait(browser, 10).until(lambda _: cell.text == STORE_VALUE)


def test_markup_seeded_in_names_and_tags_stays_text(arranged: Arranged, server: EmulatorServer, browser: Any) -> None:
    _open_portal(browser, server)
    assert browser.execute_script("return window.kvPwned === undefined")
    assert XSS_NAME in browser.find_element(By.CSS_SELECTOR, "section.vault").text  # shown as the text it is
    assert XSS_KEY in browser.find_element(By.CSS_SELECTOR, "section.store").text
    tags = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "span.tag")]
    assert f"{XSS_TAG}={XSS_TAG}" in tags
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    # Revealing the hostile secret's value puts it in as text, too.
    version = next(
        button.get_attribute("data-version")
        for button in browser.find_elements(By.CSS_SELECTOR, "button.reveal")
        if button.get_attribute("data-name") == XSS_NAME
    )
    _reveal_button(browser, XSS_NAME, version).click()
    WebDriverWait(browser, 10).until(lambda driver: "xss-value" in driver.page_source)
    assert browser.execute_script("return window.kvPwned === undefined")


def test_a_page_on_another_origin_can_read_neither_the_token_nor_a_value(
    arranged: Arranged, server: EmulatorServer, browser: Any
) -> None:
    # https://127.0.0.1:<port> is another origin than https://localhost:<port>. A script there cannot read the portal
    # page (so never its token), and its reveal request fails the CORS preflight: the portal grants no origin.
    _open_portal(browser, server)
    token = browser.find_element(By.CSS_SELECTOR, 'meta[name="kvconfig-portal-token"]').get_attribute("content")
    browser.get(f"https://127.0.0.1:{server.port}/_kvconfig/health")
    script = """
        const [url, init, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
        fetch(url, init).then((r) => r.text()).then((text) => done("read: " + text), (e) => done("blocked: " + e));
    """
    # The control: this origin's own endpoint answers, so what fails below fails for its origin, not for TLS.
    own = browser.execute_async_script(script, f"https://127.0.0.1:{server.port}/_kvconfig/health", {})
    assert json.loads(own.removeprefix("read: "))["status"] == "ok"
    page = browser.execute_async_script(script, f"{server.base_url}/_kvconfig/portal", {"credentials": "include"})
    assert page.startswith("blocked: TypeError")
    reveal = {
        "method": "POST",
        "credentials": "include",
        "headers": {"Content-Type": "application/json", "X-Kvconfig-Portal-Token": token},
        "body": f'{{"vault": "{arranged.vault_host}", "name": "db-password", "version": "{arranged.version}"}}',
    }
    answer = browser.execute_async_script(script, f"{server.base_url}/_kvconfig/portal/reveal", reveal)
    assert answer.startswith("blocked: TypeError")
    assert VALUE not in browser.page_source
    # The same request from the portal's own page reads the value: the origin alone made the difference.
    _open_portal(browser, server)
    same_origin = browser.execute_async_script(script, "/_kvconfig/portal/reveal", reveal)
    assert json.loads(same_origin.removeprefix("read: ")) == {"value": VALUE}
