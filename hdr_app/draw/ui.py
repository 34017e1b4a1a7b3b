"""The Draw page's parts: the canvas (with a helper that makes it instant), the answer, the 28 x 28 view.

``streamlit-drawable-canvas`` 0.13 sends a drawing to Python 200 ms after mouse-up (a trailing debounce
in its frontend), which alone is more than the page's whole stroke-to-prediction budget. Its toolbar's
"Update the app with this drawing" button sends at once. :func:`canvas_ui` mounts, beside the canvas,
a tiny components-v2 helper (JavaScript only, no markup) that presses that button right after a stroke
ends on the canvas, so the drawing leaves the browser within a few milliseconds of mouse-up. The
helper also keeps the toolbar visible (the canvas shows it only on hover, which touch screens lack)
and hides the buttons students do not need (send, edit). If a future canvas version renames those
buttons, the helper does nothing and the canvas falls back to its own 200 ms send.
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass

import cv2
import numpy as np
import streamlit as st

from hdr_app.charts import CONFIDENCE_MEANING, NARROW_LABEL_GAP, PLOTLY_CONFIG, pixel_image_html, probability_chart
from hdr_core import preprocess
from hdr_core.digit_check import DigitCheck

__all__ = ["CANVAS_SIZE", "NOT_SURE_BELOW", "SEEN_SIZE", "CanvasDrawing", "answer_ui", "canvas_ui",
           "drawing_to_model_input", "seen_ui"]

CANVAS_SIZE = 280  # px: 10 x 28, fits a phone screen and leaves room for a hand-sized digit
# Blue pen on a transparent canvas (shown on the page's white): from_canvas then reads the ink straight
# from the alpha channel, its fastest path, and the 28 x 28 view shows the MNIST inversion (white on black).
INK = "#1e40af"
PAPER = ""  # transparent
# preprocess() works on the drawing shrunk to this side (area-averaged, 2x for a 280 px canvas): about
# 4x faster than at full size, and the 28 x 28 result differs by under 1% of a grey level on average.
WORK_SIDE = 140
NOT_SURE_BELOW = 0.5  # top probability under this: say plainly that the network is not sure
SEEN_SIZE = 224  # the 28 x 28 input shown 8x enlarged

_SEND_LABEL = "Update the app with this drawing"

_HELPER_CSS = """
.dc-toolbar { opacity: 1 !important; top: -2.65rem !important; }
.dc-container { background: #f8fafc; border-radius: 4px; cursor: crosshair; touch-action: none; }
.dc-icon-button[aria-label="Update the app with this drawing"],
.dc-icon-button[aria-label="Edit"],
.dc-toolbar-separator { display: none !important; }
"""

_HELPER_JS = """
export default function () {
  const w = window;
  if (w.__hdrCanvasHelper) { w.__hdrCanvasHelper.pinSoon(); return; }
  const SEND = %(send)s;
  const CSS = %(css)s;
  const hasClass = (el, name) => el && el.classList && el.classList.contains(name);
  const rootOf = (path) => path.find((el) => hasClass(el, "dc-root")) || null;

  // Keep the toolbar visible and trim it: inject a style into each canvas's shadow root.
  const pin = () => {
    let found = 0;
    for (const host of document.querySelectorAll("*")) {
      const shadow = host.shadowRoot;
      if (!shadow || !shadow.querySelector(".dc-root")) continue;
      found += 1;
      if (!shadow.querySelector("style[data-hdr-canvas]")) {
        const style = document.createElement("style");
        style.dataset.hdrCanvas = "1";
        style.textContent = CSS;
        shadow.appendChild(style);
      }
    }
    return found;
  };
  let tries = 0;
  const pinSoon = () => {
    tries = 0;
    const attempt = () => { if (!pin() && ++tries < 40) setTimeout(attempt, 100); };
    attempt();
  };

  // Send the drawing as soon as a stroke that started on the canvas ends.
  let active = null, timer = null, target = null;
  const onDown = (event) => {
    const path = event.composedPath();
    const root = rootOf(path);
    active = root && !path.some((el) => hasClass(el, "dc-toolbar")) ? root : null;
  };
  const onUp = () => {
    if (active) { target = active; active = null; }
    if (!target) return;
    if (timer !== null) clearTimeout(timer);
    // setTimeout 0: after the canvas's own mouse-up handler has added the stroke to its history.
    timer = setTimeout(() => {
      const root = target;
      timer = null; target = null;
      const button = root.querySelector('.dc-toolbar button[aria-label="' + SEND + '"]');
      if (button && !button.disabled) button.click();
    }, 0);
  };
  const opts = { capture: true, passive: true };
  for (const type of ["pointerdown", "mousedown", "touchstart"]) window.addEventListener(type, onDown, opts);
  for (const type of ["pointerup", "mouseup", "touchend"]) window.addEventListener(type, onUp, opts);
  window.addEventListener("pointercancel", () => { active = null; }, opts);
  w.__hdrCanvasHelper = { pinSoon };
  pinSoon();
}
"""

# The helper's mounting command, per component registry (one per server; AppTest makes one per test).
_helpers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _mount_helper(key: str) -> None:
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager

    manager = get_bidi_component_manager()
    helper = _helpers.get(manager)
    if helper is None:
        helper = st.components.v2.component(
            "hdr_canvas_helper",
            js=_HELPER_JS % {"send": json.dumps(_SEND_LABEL), "css": json.dumps(_HELPER_CSS)},
            isolate_styles=False,
        )
        _helpers[manager] = helper
    helper(key=key, width="content", height="content")


@dataclass(frozen=True)
class CanvasDrawing:
    """What the canvas holds after the last stroke.

    Attributes
    ----------
    rgba : (H, W, 4) uint8 ndarray or None
        The canvas image, or None before anything was drawn.
    n_strokes : int
        Number of strokes (objects) on the canvas.
    """

    rgba: np.ndarray | None
    n_strokes: int


def canvas_ui(*, key: str, stroke_width: int, size: int = CANVAS_SIZE) -> CanvasDrawing:
    """Draw the canvas (white ink on black, undo/redo/clear toolbar above it) and return its image.

    Parameters
    ----------
    key : str, keyword-only
        Widget key (keeps the drawing across reruns).
    stroke_width : int, keyword-only
        Pen width in canvas pixels.
    size : int, keyword-only
        Canvas width and height in pixels.

    Returns
    -------
    CanvasDrawing
    """
    from streamlit_drawable_canvas import st_canvas  # imported here: it registers a component on import

    result = st_canvas(
        stroke_width=int(stroke_width),
        stroke_color=INK,
        background_color=PAPER,
        update_streamlit=True,
        height=size,
        width=size,
        drawing_mode="freedraw",
        return_image_data=True,
        key=key,
    )
    _mount_helper(f"{key}_helper")
    objects = (result.json_data or {}).get("objects") or []
    rgba = result.image_data if objects else None
    return CanvasDrawing(rgba=rgba, n_strokes=len(objects))


def drawing_to_model_input(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The library's preprocessing of a canvas image: ``from_canvas``, then ``preprocess``.

    Parameters
    ----------
    rgba : (H, W, 4) uint8 ndarray
        The canvas's ``image_data``. Not modified.

    Returns
    -------
    gray : (H, W) uint8 ndarray
        The drawing, ink bright on black (full size).
    model_input : (28, 28) float32 ndarray
        What the network sees: values in [0, 1], ink bright on black.

    Raises
    ------
    BlankImageError
        Nothing drawn (or only specks).
    """
    gray = preprocess.from_canvas(rgba)
    work = gray
    side = max(gray.shape)
    if side > WORK_SIDE:
        scale = WORK_SIDE / side
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        work = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray, preprocess.preprocess(work).model_input


def answer_ui(predictor, model_input: np.ndarray | None, model_name: str, check: DigitCheck | None = None) -> None:
    """The Prediction metric (or the invitation to draw), the not-a-digit or not-sure note and the bars.

    Parameters
    ----------
    predictor : InstantPredictor or Predictor
        Anything with ``predict(image28) -> Prediction`` and ``class_names``.
    model_input : (28, 28) float32 ndarray or None
        What the network sees; None for an empty canvas.
    model_name : str
        Shown under the chart.
    check : DigitCheck, optional
        The digit check's verdict on ``model_input`` (None: not asked, e.g. a model of letters).

    Notes
    -----
    The chart keeps its place in the page whatever is above it, so a stroke updates it in place.
    """
    head, note = st.container(), st.container()
    if model_input is None:
        probabilities = np.zeros(len(predictor.class_names), np.float32)
        head.info(
            "**Draw a digit in the square.** The network's answer appears here as soon as you lift the pen.",
            icon=":material/draw:",
        )
    else:
        prediction = predictor.predict(model_input)
        probabilities = prediction.probabilities
        head.metric(
            "Prediction",
            prediction.label,
            f"{prediction.confidence:.0%} sure",
            delta_color="off",
            delta_arrow="off",
            help=f"The digit with the highest probability, and that probability. {CONFIDENCE_MEANING}",
        )
        if check is not None and check.flagged:
            note.warning(check.warning(prediction.label), icon=":material/block:")
        elif prediction.confidence < NOT_SURE_BELOW:
            (first, p1), (second, p2) = prediction.top_k(2)
            note.warning(
                f"The network is not sure. Its best guesses are **{first}** ({p1:.0%}) and "
                f"**{second}** ({p2:.0%}). Try drawing the digit more clearly.",
                icon=":material/help:",
            )
    st.plotly_chart(
        probability_chart(probabilities, predictor.class_names, height=230, label_gap=NARROW_LABEL_GAP),
        config=PLOTLY_CONFIG,
        key="draw_probabilities",
    )
    if model_input is None:
        st.caption(
            "The bars will show how likely the network thinks each digit is. Tip: try a 7 with and "
            "without a bar, a 1 with a hook, or a 4 that looks like a 9, and watch the bars move."
        )
    else:
        st.caption(
            f"How likely the network thinks each digit is (the bars add up to 100%). Model: {model_name}, "
            "change it in the sidebar."
        )


def seen_ui(model_input: np.ndarray | None) -> None:
    """The 28 x 28 image the network sees, enlarged with square pixels, and what the crop step did.

    Parameters
    ----------
    model_input : (28, 28) float32 ndarray or None
        None shows an all-black image (empty canvas).
    """
    st.markdown("**What the network sees**")
    shown = np.zeros((28, 28), np.float32) if model_input is None else model_input
    st.markdown(
        pixel_image_html(shown, size=SEEN_SIZE, alt="The 28 x 28 image the network sees"),
        unsafe_allow_html=True,
    )
    st.caption(
        "Only 28 × 28 pixels, white ink on black. The app crops your ink, halves its slant, shrinks it "
        "into a 20 × 20 box and centres it, the way the MNIST training digits were made, so size and "
        "position do not matter."
    )
