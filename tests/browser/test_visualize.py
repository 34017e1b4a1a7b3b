"""The Look inside page in a real browser: draw a digit, open the page, find its feature maps.

The page is reached through the sidebar link, as a student would: a fresh ``page.goto`` would start a
new Streamlit session without the drawing. Screenshots go to ``$HDR_SCREENSHOT_DIR`` (default: the
system temp folder); render times are printed (``pytest -s``) and recorded as test properties.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from tests.browser.conftest import draw_digit, open_draw_page

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("HDR_SCREENSHOT_DIR", tempfile.gettempdir()))
FIRST_RUN_TIMEOUT_MS = 120_000  # the server's first prediction loads TensorFlow and the model
SEVEN = [[(0.22, 0.16), (0.78, 0.16), (0.62, 0.42), (0.45, 0.88)]]
PREDICTION = (
    '[data-testid="stMetric"]:has([data-testid="stMetricLabel"]:has-text("Prediction")) [data-testid="stMetricValue"]'
)

# Settled: the script is not running, nothing is stale, and every visible plotly chart has drawn.
SETTLED = """() => {
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  if (status && status.innerText.includes('Running')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(c => c.offsetParent);
  return charts.length > 0 && charts.every(c => c.querySelector('.main-svg'));
}"""


def wait_settled(page, *, timeout_ms: int = 60_000) -> None:
    page.wait_for_timeout(150)  # let a rerun that was just triggered start
    page.wait_for_function(SETTLED, timeout=timeout_ms, polling=50)


def open_tab(page, name: str) -> float:
    """Click a tab and wait until it has drawn; returns the seconds it took."""
    start = time.monotonic()
    page.get_by_role("tab", name=name).click()
    wait_settled(page)
    return time.monotonic() - start


def screenshot(page, name: str, height: int = 2600) -> None:
    """The whole page (Streamlit scrolls inside its own container, so the viewport is made tall first)."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(600)
    page.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(size)


def assert_no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.locator("body").inner_text()


def open_look_inside(page) -> float:
    """Follow the sidebar link to the page; returns the seconds until every chart of the first tab drew."""
    start = time.monotonic()
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name="Look inside").click()
    page.get_by_role("heading", name="Look inside the network").wait_for(timeout=FIRST_RUN_TIMEOUT_MS)
    wait_settled(page, timeout_ms=FIRST_RUN_TIMEOUT_MS)
    return time.monotonic() - start


def test_drawn_digit_feature_maps_and_arithmetic(page, record_property):
    # The root first: a fresh server's very first request must run app.py (see tests/browser/test_upload.py).
    page.goto(page.app_url)
    page.get_by_role("link", name="Look inside").first.wait_for(timeout=FIRST_RUN_TIMEOUT_MS)
    canvas = open_draw_page(page, page.app_url)
    draw_digit(page, canvas, SEVEN)
    page.locator(PREDICTION).first.wait_for(timeout=FIRST_RUN_TIMEOUT_MS)
    wait_settled(page)
    drawn = page.locator(PREDICTION).first.inner_text().strip()
    assert drawn, "the Draw page shows no prediction"

    first = open_look_inside(page)
    assert page.url.split("?")[0].endswith("/visualise")
    assert_no_traceback(page)
    # The drawing, not a test image, with the same answer as on the Draw page.
    assert page.get_by_role("radio", name="Current digit").is_checked()
    assert "input: Your drawing" in page.locator("body").inner_text()
    assert page.locator(PREDICTION).first.inner_text().strip() == drawn
    assert page.get_by_text("The digit's path").is_visible()

    maps = open_tab(page, "Feature maps")
    panel = page.get_by_role("tabpanel", name="Feature maps")
    heading = panel.get_by_role("heading", name="conv_1 → batch norm → ReLU")
    heading.wait_for()
    assert heading.is_visible()
    n_stages = panel.get_by_role("heading", name="→ ReLU").count()
    assert n_stages >= 3, "one grid of feature maps per conv block"
    charts = panel.locator('[data-testid="stPlotlyChart"]:has(.main-svg)')
    assert charts.count() >= n_stages + 1  # one grid per block, plus one map large (and the input)
    first_grid = charts.first.bounding_box()
    assert first_grid["width"] > 300 and first_grid["height"] > 100, "the first grid is drawn at a readable size"
    assert "respond to this digit" in panel.inner_text()
    screenshot(page, "hdr_visualize_feature_maps.png", height=3200)
    assert_no_traceback(page)

    arithmetic = open_tab(page, "Convolution arithmetic")
    panel = page.get_by_role("tabpanel", name="Convolution arithmetic")
    assert "add up the" in panel.inner_text()
    success = panel.locator('[data-testid="stAlertContentSuccess"]')
    success.wait_for()
    assert "the value at row" in success.inner_text()
    screenshot(page, "hdr_visualize_arithmetic.png", height=1800)

    looks = open_tab(page, "Where it looks")
    panel = page.get_by_role("tabpanel", name="Where it looks")
    assert panel.get_by_text(f"why “{drawn}”").count() >= 1
    screenshot(page, "hdr_visualize_where.png", height=1400)
    assert_no_traceback(page)

    # The second visit with this digit and model comes from the caches.
    page.locator('[data-testid="stSidebar"]').get_by_role("link", name="Draw").click()
    page.get_by_role("heading", name="Draw a digit").wait_for()
    again = open_look_inside(page)
    times = {"first_open_s": first, "feature_maps_s": maps, "arithmetic_s": arithmetic, "where_s": looks,
             "reopen_s": again}
    for key, value in times.items():
        record_property(key, round(value, 2))
    print("Look inside render times (s):", {k: round(v, 2) for k, v in times.items()})


def test_without_a_drawing_it_explains_and_shows_a_test_image(page, data_file):
    data_file("mnist.npz")
    page.goto(page.app_url)
    page.get_by_role("link", name="Look inside").first.wait_for(timeout=FIRST_RUN_TIMEOUT_MS)
    open_look_inside(page)
    body = page.locator("body").inner_text()
    assert "No digit drawn or uploaded yet" in body
    assert "Test image #0" in body
    page.get_by_role("button", name="Random").click()
    wait_settled(page)
    assert_no_traceback(page)
    open_tab(page, "Final layers")
    panel = page.get_by_role("tabpanel", name="Final layers")
    assert panel.get_by_text("the probabilities").count() >= 1
    screenshot(page, "hdr_visualize_test_image.png", height=1600)
