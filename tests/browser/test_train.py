"""The Train page in a real browser: train a tiny model to the end, then draw a digit for it on Draw.

Screenshots go to ``$HDR_SCREENSHOT_DIR`` (default: the system temp folder) for people to look at.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from tests.browser.conftest import CANVAS, draw_polyline, wait_for_prediction, wait_until_idle

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("HDR_SCREENSHOT_DIR", tempfile.gettempdir()))
TRAIN_TIMEOUT_MS = 300_000  # TensorFlow's first import on the server, a tiny training and the test set
SEVEN = [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]


def sidebar_link(page, title: str):
    """The sidebar link of app.py's page ``title`` (its name is the icon's ligature, then the title)."""
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=re.compile(rf"\b{title}$"))


def slider(page, label: str):
    return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")


def set_slider(page, label: str, steps_from_start: int) -> None:
    """Move a slider to its first value, then ``steps_from_start`` steps right (keyboard, like a user)."""
    thumb = slider(page, label)
    thumb.focus()
    thumb.press("Home")
    for _ in range(steps_from_start):
        thumb.press("ArrowRight")
    wait_until_idle(page)


def pick(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option).click()
    wait_until_idle(page)


def screenshot_tall(page, name: str, height: int = 2400) -> None:
    """A screenshot of the whole page (Streamlit scrolls inside the page, so grow the window instead)."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": height})
    page.wait_for_timeout(1000)  # charts redraw at the new size
    page.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(size)


def test_train_a_tiny_model_then_draw_for_it(page, data_file):
    data_file("mnist.npz")  # the server trains on MNIST from HDR_DATA_DIR (offline, it cannot download it)
    # Open the app at its root and wait for app.py's own navigation: until a fresh server has run
    # app.py's st.navigation once, Streamlit lists (and runs) the pages/ files on their own, without
    # app.py's sidebar. Then go to Train as a user would: through the sidebar, in the same session.
    page.goto(page.app_url)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").wait_for(timeout=60_000)  # the picker
    sidebar_link(page, "Train").click()
    page.get_by_role("heading", name="Train a network").wait_for(timeout=60_000)
    train_button = page.get_by_test_id("stBaseButton-primary").filter(has_text="Train")
    train_button.wait_for()
    wait_until_idle(page)

    pick(page, "Architecture", "Custom: build your own")
    set_slider(page, "Conv blocks", 1)  # one conv block
    set_slider(page, "Filters", 1)  # 8 filters
    set_slider(page, "Training images", 2)  # 1,000 images
    epochs = page.get_by_test_id("stNumberInput").filter(has_text="Epochs").locator("input")
    epochs.fill("1")
    epochs.press("Enter")
    wait_until_idle(page)
    assert "1,000" in page.get_by_test_id("stSlider").filter(has_text="Training images").inner_text()

    train_button.click()
    page.get_by_role("button", name=re.compile("Stop and keep the model|Cancel")).wait_for(timeout=60_000)
    page.get_by_text("Results ·").wait_for(timeout=TRAIN_TIMEOUT_MS)
    page.get_by_test_id("stDownloadButton").filter(has_text="Download .keras").wait_for()
    wait_until_idle(page)
    screenshot_tall(page, "hdr-train-results.png")
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and page.locator('[data-testid="stException"]').count() == 0
    assert "Finished." in body and "Test accuracy" in body

    # The model is in the sidebar picker (and selected); pick it there explicitly, as a student would.
    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")
    picker.wait_for()
    wait_until_idle(page)
    picker.click()
    page.get_by_role("option", name=re.compile("my custom CNN")).click()
    wait_until_idle(page)
    assert "my custom CNN" in picker.get_by_role("combobox").input_value()

    sidebar_link(page, "Draw").click()
    page.get_by_role("heading", name="Draw a digit").wait_for(timeout=60_000)
    canvas = page.locator(CANVAS).first
    canvas.wait_for(state="visible", timeout=120_000)  # the canvas component loads on first use
    wait_until_idle(page)
    draw_polyline(page, canvas, SEVEN)
    prediction = wait_for_prediction(page, timeout_ms=60_000)
    assert re.fullmatch(r"\d", prediction), prediction  # a tiny model's answer: any digit will do
    assert "my custom CNN" in page.get_by_test_id("stSidebar").get_by_role("combobox").input_value()
    wait_until_idle(page)  # the rest of the page (image, bars) follows the Prediction metric
    page.screenshot(path=str(SCREENSHOTS / "hdr-train-then-draw.png"), full_page=True)
