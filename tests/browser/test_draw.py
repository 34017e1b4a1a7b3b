"""The Draw page in a real browser: mouse strokes on the real canvas, the prediction after each one.

Digits are drawn as polylines with many intermediate mouse moves, like a student with a mouse: large
and centred, small in a corner, thin. Every test opens /draw directly (the first one on a freshly
started server, which is how a teacher's link arrives).
"""

from __future__ import annotations

import math

import pytest

from tests.browser.conftest import (
    after_rerun,
    METRIC_VALUE,
    PHONE,
    SEEN_IMAGE,
    draw_digit,
    open_draw_page,
    prediction_text,
    scaled,
    seen_image_src,
    stroke_and_wait,
    wait_for_new_input,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = "/tmp"


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 28) -> list[tuple[float, float]]:
    return [(cx + rx * math.sin(2 * math.pi * i / n), cy - ry * math.cos(2 * math.pi * i / n)) for i in range(n + 2)]


# Each digit: strokes of (x, y) points as fractions of a unit square (0, 0 top-left).
DIGITS: dict[str, list[list[tuple[float, float]]]] = {
    "1": [[(0.45, 0.18), (0.55, 0.1), (0.55, 0.9)]],
    "7": [[(0.22, 0.16), (0.78, 0.16), (0.62, 0.42), (0.45, 0.88)]],
    "0": [_ellipse(0.5, 0.5, 0.24, 0.37)],
    "4": [[(0.58, 0.1), (0.22, 0.6), (0.8, 0.6)], [(0.6, 0.3), (0.6, 0.92)]],
    "3": [[(0.27, 0.2), (0.42, 0.11), (0.62, 0.13), (0.7, 0.26), (0.62, 0.4), (0.45, 0.48),
           (0.64, 0.55), (0.74, 0.7), (0.66, 0.84), (0.48, 0.9), (0.27, 0.83)]],
}


def set_pen_width(page, width: int) -> None:
    """Move the Pen width slider with the keyboard (step 2) and wait until the page has taken it."""
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Pen width").locator('input[type="range"]')
    current = int(slider.input_value())
    slider.focus()
    key = "ArrowLeft" if width < current else "ArrowRight"

    def press() -> None:
        for _ in range(abs(current - width) // 2):
            page.keyboard.press(key)

    after_rerun(page, press)
    assert int(slider.input_value()) == width
    # Each key press may queue a rerun of its own: a stroke drawn while one is still under way can be
    # lost when the canvas takes its new arguments, so wait until none is running.
    wait_until_idle(page)
    page.wait_for_timeout(300)  # the canvas applies the new width once its data arrives


def test_empty_canvas_invites_to_draw_inside_the_app_shell(page):
    canvas = open_draw_page(page, page.app_url)
    assert page.url.split("?")[0].endswith("/draw") and "tab=" in page.url  # the tab remembers its models
    assert canvas.bounding_box()["width"] >= 250
    assert prediction_text(page) is None, "an empty canvas must not show a prediction"
    # app.py wraps the page even on a fresh server's first request: sidebar navigation and model picker.
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("Model", exact=True).count() >= 1
    assert sidebar.get_by_text("Upload a photo").count() >= 1
    # The toolbar (undo, redo, clear) is visible without hovering (touch screens cannot hover).
    assert page.get_by_role("button", name="Undo").is_visible()
    assert page.get_by_role("button", name="Reset canvas & history").is_visible()
    page.screenshot(path=f"{SCREENSHOTS}/hdr_draw_empty.png", full_page=True)


NOT_A_DIGIT = "This may not be a digit"


@pytest.mark.parametrize("digit", list(DIGITS))
def test_large_centred_digit_is_recognised(page, digit):
    canvas = open_draw_page(page, page.app_url)
    predicted = draw_digit(page, canvas, DIGITS[digit])
    page.screenshot(path=f"{SCREENSHOTS}/hdr_draw_{digit}.png", full_page=True)
    assert predicted == digit
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 1
    assert page.get_by_text(NOT_A_DIGIT).count() == 0, "a clear digit must not be doubted"


def test_a_drawn_cross_is_flagged_as_maybe_not_a_digit(page):
    canvas = open_draw_page(page, page.app_url)
    draw_digit(page, canvas, [[(0.2, 0.2), (0.8, 0.8)], [(0.8, 0.2), (0.2, 0.8)]])
    warning = page.get_by_text(NOT_A_DIGIT)
    warning.wait_for(timeout=10_000)
    page.screenshot(path=f"{SCREENSHOTS}/hdr_draw_cross.png", full_page=True)
    assert "that it is one" in page.locator('[data-testid="stAlert"]').first.inner_text()


def test_small_digit_in_a_corner_is_recognised(page):
    canvas = open_draw_page(page, page.app_url)
    set_pen_width(page, 10)
    strokes = [scaled(stroke, scale=0.32, left=0.04, top=0.05) for stroke in DIGITS["7"]]
    predicted = draw_digit(page, canvas, strokes)
    page.screenshot(path=f"{SCREENSHOTS}/hdr_draw_small_7.png", full_page=True)
    assert predicted == "7"


def test_thin_digit_is_recognised(page):
    canvas = open_draw_page(page, page.app_url)
    set_pen_width(page, 6)
    predicted = draw_digit(page, canvas, DIGITS["4"])
    page.screenshot(path=f"{SCREENSHOTS}/hdr_draw_thin_4.png", full_page=True)
    assert predicted == "4"


def test_undo_restores_the_previous_answer_and_clear_empties_the_page(page):
    canvas = open_draw_page(page, page.app_url)
    draw_digit(page, canvas, DIGITS["1"])
    first_src, first_answer = seen_image_src(page), page.locator(METRIC_VALUE).first.inner_text()
    first_metric = page.locator('[data-testid="stMetric"]').first.inner_text()
    # A second stroke (a bar across the top) changes what the network sees...
    second_src = stroke_and_wait(page, canvas, [(0.2, 0.12), (0.8, 0.12)])
    assert second_src != first_src
    # ...and undo brings back exactly the first drawing and answer.
    page.get_by_role("button", name="Undo").click()
    assert wait_for_new_input(page, second_src) == first_src
    page.wait_for_function(
        "(text) => document.querySelector('[data-testid=stMetric]')?.innerText === text", arg=first_metric
    )
    assert prediction_text(page) == first_answer
    # Clear: back to the invitation, no prediction.
    page.get_by_role("button", name="Reset canvas & history").click()
    page.get_by_text("Draw a digit in the square").first.wait_for()
    page.locator(METRIC_VALUE).wait_for(state="detached")
    assert prediction_text(page) is None
    assert page.locator(SEEN_IMAGE).count() == 1  # the empty 28 x 28 view stays, all black


def test_on_a_phone_the_answer_comes_right_under_the_canvas(phone_page, app_url):
    page = phone_page
    canvas = open_draw_page(page, app_url)
    assert draw_digit(page, canvas, DIGITS["7"]) == "7"
    page.screenshot(path=f"{SCREENSHOTS}/hdr_draw_phone_7.png")
    answer = page.locator(METRIC_VALUE).first.bounding_box()
    seen = page.locator(SEEN_IMAGE).bounding_box()
    assert answer["y"] > canvas.bounding_box()["y"], "the answer belongs under the canvas"
    assert answer["y"] < seen["y"], "the answer must come before the 28 x 28 image, not two screens down"
    assert answer["y"] + answer["height"] <= PHONE["height"], "the answer must be on screen without scrolling"
