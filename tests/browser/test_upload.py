"""The Upload page in a real browser: upload good and bad files through the real file input.

Screenshots go to ``$HDR_SCREENSHOT_DIR`` (default: the system temp folder) for people to look at.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import PHONE, wait_for_prediction, wait_until_idle

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(os.environ.get("HDR_SCREENSHOT_DIR", tempfile.gettempdir()))
# The page's uploader, not the sidebar's "add a model file".
FILE_INPUT = '[data-testid="stMainBlockContainer"] [data-testid="stFileUploader"] input[type="file"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
FIRST_RUN_TIMEOUT_MS = 120_000  # the first prediction of the server loads TensorFlow and the model


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def digit_png(text: str = "3") -> bytes:
    """A Hershey-font digit, dark on light paper."""
    image = np.full((240, 200, 3), 245, np.uint8)
    cv2.putText(image, text, (45, 185), cv2.FONT_HERSHEY_SIMPLEX, 5, (20, 20, 20), 14, cv2.LINE_AA)
    return png(image)


def number_png(text: str = "2026") -> bytes:
    """A whole number: digits with gaps on light paper, plus a speck."""
    image = np.full((200, 40 + 110 * len(text), 3), 240, np.uint8)
    for i, digit in enumerate(text):
        cv2.putText(image, digit, (30 + i * 110, 150), cv2.FONT_HERSHEY_SIMPLEX, 4, (25, 25, 25), 12, cv2.LINE_AA)
    image[8:10, 8:10] = 30
    return png(image)


def upload_file(name: str, data: bytes, mime: str = "image/png") -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def open_upload_page(page) -> None:
    # The root first: when the very first request a fresh server gets is a page URL, Streamlit 1.65
    # (seeing a pages/ folder and no st.navigation call yet) runs pages/upload.py on its own, without
    # app.py (no page config, no sidebar, no shared state). Loading "/" runs app.py's st.navigation.
    page.goto(page.app_url)
    page.get_by_role("link", name="Upload a photo").first.wait_for(timeout=60_000)
    page.goto(f"{page.app_url}/upload")
    page.get_by_role("heading", name="Upload a photo").wait_for(timeout=60_000)
    page.locator(FILE_INPUT).wait_for(state="attached")
    wait_until_idle(page)


def screenshot(page, name: str) -> None:
    """The whole page (Streamlit scrolls inside its own container, so the viewport is made tall first)."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2600})
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / name))
    page.set_viewport_size(size)


def assert_no_traceback(page) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    assert page.locator('[data-testid="stException"]').count() == 0


def test_upload_good_and_bad_files(page):
    open_upload_page(page)
    page.locator(FILE_INPUT).set_input_files([
        upload_file("three.png", digit_png("3")),
        upload_file("empty.png", b""),
        upload_file("notes.png", b"This is a shopping list, not a picture.\n"),
        upload_file("white.png", png(np.full((300, 400, 3), 255, np.uint8))),
    ])
    prediction = wait_for_prediction(page, timeout_ms=FIRST_RUN_TIMEOUT_MS)
    page.locator(ERROR_ALERT).nth(2).wait_for()
    page.wait_for_timeout(1000)  # images and the chart finish drawing
    assert re.fullmatch(r"[0-9]", prediction), prediction
    errors = page.locator(ERROR_ALERT).all_inner_texts()
    assert len(errors) == 3, errors
    assert "empty.png is empty (0 bytes)" in errors[0]
    assert "notes.png is not an image: this looks like a text file" in errors[1]
    assert "No ink found" in errors[2] and "white.png" in errors[2]
    assert page.get_by_role("button", name="Download CSV").is_visible()
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    for step in ("1 · Original", "2 · Grayscale", "3 · Binarised", "4 · Auto-inverted"):
        assert page.get_by_text(step, exact=True).is_visible(), step
    # then the stages this picture needed, each numbered, down to the ink located and the model input
    assert page.get_by_text(re.compile(r"^\d · Ink located$")).first.is_visible()
    assert page.get_by_text(re.compile(r"^\d · Model input$")).first.is_visible()
    assert page.get_by_text("Why these steps:").first.is_visible()
    assert_no_traceback(page)
    screenshot(page, "hdr-upload-files.png")


def upload_number(page, text: str):
    """Open the Upload page, switch to whole numbers, upload ``text`` drawn as a number and wait for
    the reading; returns the "Number read" metric's value locator."""
    open_upload_page(page)
    page.get_by_role("radio", name="A whole number (several digits)").click()
    wait_until_idle(page)
    page.locator(FILE_INPUT).set_input_files([upload_file(f"{text}.png", number_png(text))])
    number = page.locator('[data-testid="stMetric"]:has-text("Number read") [data-testid="stMetricValue"]')
    number.wait_for(timeout=FIRST_RUN_TIMEOUT_MS)
    wait_until_idle(page, timeout_ms=FIRST_RUN_TIMEOUT_MS)
    return number


def test_upload_whole_number(page):
    number = upload_number(page, "2026")
    page.wait_for_timeout(1000)
    assert re.fullmatch(r"[0-9]{4}", number.inner_text().strip()), number.inner_text()
    assert page.get_by_text("4 digits found in 1 row").first.is_visible()  # the digits stage, from the trace
    assert page.locator(ERROR_ALERT).count() == 0
    assert_no_traceback(page)
    screenshot(page, "hdr-upload-number.png")

    page.get_by_text("Compare the three thresholds on this picture").click()
    page.get_by_text(re.compile(r"Reads \d")).nth(2).wait_for(timeout=60_000)  # all three thresholds read
    wait_until_idle(page)
    page.wait_for_timeout(800)
    assert page.get_by_text("Mean (chosen)").is_visible()
    assert_no_traceback(page)
    screenshot(page, "hdr-upload-compare.png")


def test_on_a_phone_a_whole_number_and_its_path_stay_readable(phone_page):
    """Each digit of the number is a small tile, several to a row, not one screen-wide picture after
    another; on Look inside, the digit's path keeps the width its panel titles need and scrolls sideways."""
    page = phone_page
    upload_number(page, "4096")
    tiles = page.locator(".st-key-upload_digit_tiles img")
    assert tiles.count() == 4
    boxes = [tiles.nth(i).bounding_box() for i in range(4)]
    assert all(box["width"] <= PHONE["width"] / 3 for box in boxes), boxes
    assert boxes[1]["y"] == boxes[0]["y"], "the first two digits should sit side by side"
    assert_no_traceback(page)
    screenshot(page, "hdr-upload-number-phone.png")

    page.get_by_role("button", name="Look inside with this digit").click()
    page.get_by_role("heading", name="Look inside the network").wait_for(timeout=60_000)
    assert_scrolls_sideways(page, "vis_flow_chart", at_least=700)  # ten panel titles need about 70 px each
    page.get_by_role("tab", name="Filters").click()
    assert_scrolls_sideways(page, "vis_filters_chart", at_least=600)  # a filter's 3x3 weights stay visible
    assert_no_traceback(page)


def test_on_a_phone_a_long_number_wraps_instead_of_being_cut_off(phone_page):
    page = phone_page
    text = "31415926535897932384626433"  # wider than a phone at the metric's size: st.metric alone ends it in "…"
    number = upload_number(page, text)
    assert re.fullmatch(r"[0-9]{26}", number.inner_text().strip()), number.inner_text()
    cut_off = number.evaluate(
        "value => [value, ...value.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1)")
    assert not cut_off, "the number read is cut off instead of wrapping"
    box = number.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"], box
    assert_no_traceback(page)


def assert_scrolls_sideways(page, key: str, *, at_least: int) -> None:
    """The chart keyed ``key`` is drawn at least ``at_least`` px wide, in a box that scrolls sideways."""
    chart = page.locator(f'.st-key-{key}_box [data-testid="stPlotlyChart"]')
    chart.locator(".main-svg").first.wait_for(timeout=60_000)
    assert chart.bounding_box()["width"] >= at_least
    box = page.locator(f".st-key-{key}_box")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'auto'")

