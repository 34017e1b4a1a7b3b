"""Fixtures for the real-browser tests: the app served by ``streamlit run``, and Chromium pages.

``app_url`` starts ``streamlit run app.py`` once per test session on a free port (headless, no usage
stats, ``HDR_DATA_DIR`` passed through), waits until ``/_stcore/health`` answers, yields the base URL
and stops the server at the end. ``browser`` launches Debian's Chromium (``/usr/bin/chromium``) through
Playwright once per session; ``page`` gives each test a fresh page (its own browser context, so its own
Streamlit session). Everything skips with a reason when Chromium or Playwright is missing, and fails
instead when ``CI`` is set.

Helpers for drawing on the canvas (``draw_polyline``, ``wait_for_prediction``...) live here too, so
every page's browser tests draw the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, skip_or_fail

CHROMIUM = os.environ.get("HDR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT_S = 90
VIEWPORT = {"width": 1400, "height": 1000}

# Selectors (Streamlit 1.65 test ids; the canvas lives in an open shadow root, which Playwright's CSS
# selectors pierce).
METRIC_VALUE = (
    '[data-testid="stMetric"]:has([data-testid="stMetricLabel"]:has-text("Prediction")) [data-testid="stMetricValue"]'
)
CANVAS = "canvas.upper-canvas"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test."""
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"streamlit exited with status {process.returncode} before serving:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {SERVER_START_TIMEOUT_S} s")


def start_app(log_path: Path, *, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` from the repository root; returns (process, base URL)."""
    port = port or _free_port()
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, log_path)
    except Exception:
        stop_app(process)
        raise
    return process, url


def stop_app(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`start_app` (terminate, then kill after 10 s)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of the app, served once for the whole test session."""
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    process, url = start_app(log_path)
    try:
        yield url
    finally:
        stop_app(process)


def launch_chromium(playwright):
    """Debian's Chromium, headless, with the flags the tests need (no network chatter, no sandbox)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (skips, or fails in CI, when it or Playwright is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install -r requirements-dev.txt)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        skip_or_fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


PHONE = {"width": 390, "height": 844}


# Counts the messages the server sends (after_rerun's second signal: a rerun over in a few milliseconds may
# never show the "running" state on the page).
COUNT_MESSAGES = """
window.__hdrMessages = 0;
(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (!this.__hdrCounted) {
      this.__hdrCounted = true;
      this.addEventListener('message', () => { window.__hdrMessages += 1; });
    }
    return send.call(this, data);
  };
})();
"""


@contextlib.contextmanager
def _app_page(browser, app_url: str, viewport: dict[str, int]) -> Iterator:
    """A fresh page (own context, so a new Streamlit session) of the app; closed afterwards."""
    context = browser.new_context(viewport=viewport)
    context.add_init_script(COUNT_MESSAGES)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.app_url = app_url  # type: ignore[attr-defined]
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def page(browser, app_url: str):
    """A fresh page of the app in a laptop-sized window."""
    with _app_page(browser, app_url, VIEWPORT) as tab:
        yield tab


@pytest.fixture
def phone_page(browser, app_url: str):
    """A fresh page the size of a phone screen, where Streamlit stacks columns under each other."""
    with _app_page(browser, app_url, PHONE) as tab:
        yield tab


# --------------------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------------------


def open_draw_page(page, app_url: str, *, timeout_ms: int = 90_000):
    """Open /draw and wait until the canvas is ready to draw on; returns the canvas locator."""
    page.goto(f"{app_url}/draw")
    canvas = page.locator(CANVAS).first
    canvas.wait_for(state="visible", timeout=timeout_ms)
    page.get_by_text("Draw a digit in the square").first.wait_for(timeout=timeout_ms)
    page.locator(SEEN_IMAGE).wait_for(timeout=timeout_ms)
    page.wait_for_timeout(300)  # let the canvas finish mounting its handlers
    return canvas


def draw_polyline(page, canvas, points: Sequence[tuple[float, float]], *, steps: int = 8) -> None:
    """Draw one stroke through ``points`` (fractions 0..1 of the canvas's width and height)."""
    box = canvas.bounding_box()
    assert box is not None, "the canvas is not on screen"

    def at(point: tuple[float, float]) -> tuple[float, float]:
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*at(point), steps=steps)
    page.mouse.up()


SEEN_IMAGE = 'img[alt="The 28 x 28 image the network sees"]'


def seen_image_src(page) -> str | None:
    """The data URI of the 28 x 28 image the page shows (changes whenever the drawing does)."""
    return page.evaluate(f"() => document.querySelector({SEEN_IMAGE!r})?.getAttribute('src') ?? null")


def wait_for_new_input(page, before: str | None, *, timeout_ms: int = 30_000) -> str:
    """Wait until the page shows a 28 x 28 image other than ``before``; returns its data URI."""
    page.wait_for_function(
        f"(before) => {{ const img = document.querySelector({SEEN_IMAGE!r}); "
        "return img !== null && img.getAttribute('src') !== before; }",
        arg=before,
        timeout=timeout_ms,
    )
    src = seen_image_src(page)
    assert src is not None
    return src


def stroke_and_wait(page, canvas, points: Sequence[tuple[float, float]], **kwargs) -> str:
    """Draw one stroke like a student (then lift the pen) and wait for the page to update."""
    before = seen_image_src(page)
    draw_polyline(page, canvas, points, **kwargs)
    return wait_for_new_input(page, before)


def draw_digit(page, canvas, strokes: Sequence[Sequence[tuple[float, float]]], **kwargs) -> str:
    """Draw every stroke, waiting for the page after each; returns the Prediction metric's value."""
    for stroke in strokes:
        stroke_and_wait(page, canvas, stroke, **kwargs)
    return wait_for_prediction(page)


def wait_for_prediction(page, *, timeout_ms: int = 30_000) -> str:
    """Wait until the Prediction metric shows a value (its code loads on first use); returns it."""
    page.wait_for_function(
        "(selector) => { const v = document.querySelector(selector); return v && v.innerText.trim() !== ''; }",
        arg=METRIC_VALUE.replace(':has-text("Prediction")', ""),
        timeout=timeout_ms,
    )
    page.locator(METRIC_VALUE).first.wait_for(timeout=timeout_ms)
    text = prediction_text(page)
    assert text is not None
    return text


def after_rerun(page, action, *, timeout_ms: int = 60_000) -> None:
    """Do ``action()`` (which makes Streamlit rerun) and wait until that rerun has finished.

    Watches the ``data-test-script-state`` attribute Streamlit keeps on its root element: the wait
    ends once a run that started after the action has ended; or, for a run so quick that the page never
    showed it running, once the server has answered since the action and nothing is running.
    """
    page.evaluate(
        """() => {
          const app = document.querySelector('[data-testid="stApp"]');
          window.__hdrRunsDone = 0;
          window.__hdrMessagesBefore = window.__hdrMessages || 0;
          let was = app.getAttribute('data-test-script-state');
          window.__hdrRunObserver?.disconnect();
          window.__hdrRunObserver = new MutationObserver(() => {
            const now = app.getAttribute('data-test-script-state');
            if (was === 'running' && now !== 'running') window.__hdrRunsDone += 1;
            was = now;
          });
          window.__hdrRunObserver.observe(app, { attributes: true, attributeFilter: ['data-test-script-state'] });
        }"""
    )
    action()
    page.wait_for_function(
        """() => {
          if (window.__hdrRunsDone > 0) return true;
          const state = document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state');
          return (window.__hdrMessages || 0) > window.__hdrMessagesBefore && state !== 'running'
            && state !== 'rerunRequested';
        }""",
        timeout=timeout_ms,
    )


def wait_until_idle(page, *, timeout_ms: int = 30_000) -> None:
    """Wait (at least 0.5 s) until Streamlit is not running the script (its root's script state).

    For waiting on a rerun that an action causes, :func:`after_rerun` is exact; this one only checks
    that nothing is running after a short pause.
    """
    page.wait_for_timeout(500)
    page.wait_for_function(
        """() => {
          const app = document.querySelector('[data-testid="stApp"]');
          const state = app && app.getAttribute('data-test-script-state');
          const status = document.querySelector('[data-testid="stStatusWidget"]');
          return state !== 'running' && state !== 'rerunRequested'
            && (!status || !status.innerText.includes('Running'));
        }""",
        timeout=timeout_ms,
    )


def prediction_text(page) -> str | None:
    """The Prediction metric's value, or None when it is not on the page."""
    metric = page.locator(METRIC_VALUE)
    if metric.count() == 0:
        return None
    return metric.first.inner_text().strip()


def scaled(
    stroke: Sequence[tuple[float, float]], *, scale: float, left: float, top: float
) -> list[tuple[float, float]]:
    """A stroke drawn in a ``scale``-sized square whose top-left corner is at (left, top) (fractions)."""
    return [(left + x * scale, top + y * scale) for x, y in stroke]
