"""Headless Chromium driving Airflow's React UI: log in, read the Graph view, fill the trigger form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from e2e.waiting import WaitTimeout

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,1000",
)
UI_TIMEOUT = 30.0
PAGE_LOAD_TIMEOUT = 60.0


class BrowserMissingError(RuntimeError):
    """Chromium or its driver is not installed."""


def start_chromium(user_data_dir: Path) -> WebDriver:
    """A headless Chromium with a fresh profile in ``user_data_dir``."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        raise BrowserMissingError(
            f"{', '.join(missing)} not found: the browser check needs Debian's chromium and "
            "chromium-driver packages (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (*CHROMIUM_ARGS, f"--user-data-dir={user_data_dir}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    return driver


class AirflowUi:
    """Pages of the Airflow UI at ``base_url``; every step waits, bounded, for the page to render."""

    def __init__(self, driver: WebDriver, base_url: str, timeout: float = UI_TIMEOUT) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def wait(self, condition: Callable[[WebDriver], T], what: str) -> T:
        """Poll ``condition`` until it returns a truthy value; raise ``WaitTimeout`` naming ``what``."""
        try:
            waiting = WebDriverWait(
                self.driver,
                self.timeout,
                poll_frequency=0.2,
                ignored_exceptions=(StaleElementReferenceException,),
            )
            return waiting.until(condition)
        except TimeoutException as error:
            raise WaitTimeout(
                f"timed out after {self.timeout:.0f} s waiting for {what}; page {self.driver.current_url}"
            ) from error

    def element(self, css: str, what: str | None = None) -> WebElement:
        """The first displayed element matching ``css``, once rendered."""
        return self.wait(lambda driver: _displayed(driver, css), what or f"element {css!r}")

    def log_in(self, username: str, password: str) -> None:
        """Sign in through the login form and wait for the app's navigation."""
        self.driver.get(self.base_url)
        self.element("input[name=username]", "the login form").send_keys(username)
        self.element("input[name=password]").send_keys(password)
        self.wait(
            lambda driver: _button(driver, "button[type=submit]", "Sign in"), "the Sign in button"
        ).click()
        self.element("[data-testid=nav-sidebar]", "the app after signing in")

    def open_graph(self, dag_id: str) -> None:
        """Open a DAG's page and switch it to the Graph view."""
        self.driver.get(f"{self.base_url}/dags/{dag_id}")
        self.element("button[aria-label^='Show Graph']", "the Graph view button").click()
        self.element(".react-flow__node", "graph nodes")

    def open_run_graph(self, dag_id: str, run_id: str) -> None:
        """Open a run's page in the Graph view."""
        self.driver.get(f"{self.base_url}/dags/{dag_id}/runs/{quote(run_id, safe=':+')}")
        self.element("button[aria-label^='Show Graph']", "the Graph view button").click()
        self.element(".react-flow__node", "graph nodes")

    def wait_for_node_text(self, task_id: str, text: str) -> str:
        """Wait until a Graph view node shows ``text`` (e.g. its state) and return all its text."""
        css = f"[data-testid='rf__node-{task_id}']"

        def shows_text(driver: WebDriver) -> str | None:
            shown = _text_of(driver, css)
            return shown if shown and text in shown else None

        return self.wait(shows_text, f"graph node {task_id!r} to show {text!r}")

    def node_text(self, task_id: str) -> str:
        """The text a Graph view node shows (its display name first)."""
        return self._text(f"[data-testid='rf__node-{task_id}']", f"graph node {task_id!r}")

    def edge_label(self, source: str, target: str) -> str:
        """The label a Graph view edge shows."""
        return self._text(f"[data-testid='rf__edge-{source}-{target}']", f"graph edge {source} -> {target}")

    def open_trigger_form(self) -> None:
        self.element("[data-testid=trigger-dag-button]", "the Trigger button").click()
        self.element("[role=dialog]", "the trigger form")

    def choose(self, param: str, value: str) -> None:
        """Pick ``value`` in the dropdown of the enum param ``param``."""
        box = self.element(f"#element_{param} input[role=combobox]", f"the {param!r} field")
        box.click()
        box.send_keys(value, Keys.ENTER)
        hidden = f"input[name=element_{param}]"
        self.wait(
            lambda driver: _value(driver, hidden) == value,
            f"{param!r} to read {value!r}",
        )

    def submit_trigger(self) -> None:
        """Press the trigger form's own Trigger button."""
        self.wait(
            lambda driver: _button(driver, "[role=dialog] button", "Trigger"), "the form's Trigger"
        ).click()
        self.wait(lambda driver: not _displayed(driver, "[role=dialog]"), "the trigger form to close")

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def _text(self, css: str, what: str) -> str:
        return self.wait(lambda driver: _text_of(driver, css), what)


def _text_of(driver: WebDriver, css: str) -> str | None:
    found = _displayed(driver, css)
    return " ".join(str(found.get_attribute("textContent") or "").split()) if found else None


def _displayed(driver: WebDriver, css: str) -> WebElement | None:
    return next((found for found in driver.find_elements(By.CSS_SELECTOR, css) if found.is_displayed()), None)


def _value(driver: WebDriver, css: str) -> Any:
    found = driver.find_elements(By.CSS_SELECTOR, css)
    return found[0].get_attribute("value") if found else None


def _button(driver: WebDriver, css: str, text: str) -> WebElement | None:
    return next(
        (
            found
            for found in driver.find_elements(By.CSS_SELECTOR, css)
            if found.text.strip() == text and found.is_displayed() and found.is_enabled()
        ),
        None,
    )
