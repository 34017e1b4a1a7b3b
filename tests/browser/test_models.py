"""A student's own model in a real browser: a .keras file added in the sidebar is used on the Draw page and
is still there after the tab is reloaded; another student's tab does not see it.

The model file is made here (a small Keras CNN, saved at test time). Screenshots go to
``$HDR_SCREENSHOT_DIR`` (default: the system temp folder).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests.browser.conftest import wait_until_idle

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("HDR_SCREENSHOT_DIR", tempfile.gettempdir()))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path_factory.mktemp("model") / "class-net.keras"
    model.save(path)
    return path


def picker_text(page) -> str:
    """What the sidebar's model picker shows: its text and the value of its search box."""
    picker = page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first
    boxes = picker.locator("input")
    return picker.inner_text() + " " + " ".join(boxes.nth(i).input_value() for i in range(boxes.count()))


def test_an_added_model_survives_a_reload_and_stays_in_its_tab(page, browser, model_file):
    page.goto(f"{page.app_url}/draw")
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Add a model file").click()
    sidebar.locator('input[type="file"]').set_input_files(str(model_file))
    sidebar.get_by_text("Added class-net and selected it").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert "class-net" in picker_text(page)
    assert "tab=" in page.url
    page.screenshot(path=str(SCREENSHOTS / "hdr_model_added.png"), full_page=True)

    page.reload()  # the same tab, the same address: a new Streamlit session
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    assert "class-net" in picker_text(page)

    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()  # another student
    try:
        other.goto(f"{page.app_url}/draw")
        other.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.wait_for(timeout=60_000)
        wait_until_idle(other)
        assert "class-net" not in picker_text(other)
    finally:
        other.context.close()
