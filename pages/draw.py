"""Draw: draw a digit and watch the network answer after every stroke.

The canvas and the results live in one ``st.fragment``, so a stroke reruns only them, not the page.
The drawing goes through the library's own preprocessing (``from_canvas`` + ``preprocess``: crop the
ink, halve its slant, fit it into 20 x 20, centre it in 28 x 28), then the predictor's one-image fast path.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from hdr_app import ensure_app_shell, state
from hdr_app.draw.instant import InstantPredictor
from hdr_app.draw.ui import CANVAS_SIZE, SEEN_SIZE, answer_ui, canvas_ui, drawing_to_model_input, seen_ui
from hdr_app.models import current_instant_predictor
from hdr_core.constants import DIGIT_CLASS_NAMES
from hdr_core.digit_check import default_checker
from hdr_core.errors import BlankImageError, HdrError

ensure_app_shell()  # first: makes app.py wrap this page even on a fresh server's first request

DEFAULT_PEN = 20  # px on the 280 px canvas: about an MNIST stroke once shrunk to 28 x 28
# The three boxes need a row of 284 + 228 + 128 (the answer's least width) + 2 x 64 (gaps) = 768 px.
# In a narrower row (a phone, a tablet, a laptop with the sidebar open) they wrap, and the answer then
# comes second, beside or just under the canvas, instead of below the 28 x 28 image, out of sight.
NARROW_CSS = """<style>
.st-key-draw_row { container-type: inline-size; }
@container (max-width: 767px) {
  /* the flex items are the layout wrappers Streamlit puts around each keyed container */
  .st-key-draw_answer, :has(> .st-key-draw_answer) { order: 1; }
  .st-key-draw_seen, :has(> .st-key-draw_seen) { order: 2; }
}
@media (max-width: 640px) { .st-key-draw_row { gap: 1rem; } }
</style>"""

st.title("Draw a digit")
st.caption(
    "Draw one digit, 0 to 9, with your mouse or finger. The network answers each time you lift the pen."
)

try:
    predictor, choice = current_instant_predictor()  # the selected model, single-threaded (fast under load)
except HdrError as error:
    st.error(str(error))
    st.stop()


@st.fragment
def drawing_ui(predictor: InstantPredictor, model_name: str) -> None:
    """Canvas, the image the network sees, and its answer (reruns alone after every stroke)."""
    # Fixed-width boxes side by side that wrap under each other on a phone, where the answer moves up
    # to just under the canvas (NARROW_CSS) instead of sitting below the 28 x 28 image.
    row = st.container(horizontal=True, gap="large", key="draw_row")
    draw_box = row.container(width=CANVAS_SIZE + 4)
    seen_box = row.container(width=SEEN_SIZE + 4, key="draw_seen")
    answer_box = row.container(width="stretch", key="draw_answer")

    with draw_box:
        st.markdown("**Your drawing**")
        drawing = canvas_ui(
            key=state.DRAW_CANVAS,
            stroke_width=st.session_state.get(state.DRAW_STROKE_WIDTH, DEFAULT_PEN),
        )
        st.slider(
            "Pen width", min_value=6, max_value=40, value=DEFAULT_PEN, step=2, key=state.DRAW_STROKE_WIDTH,
            help="Thin or thick, the network should still read it: try both.",
        )
        st.caption("Buttons above the canvas: :material/undo: undo, :material/redo: redo, :material/delete: clear.")

    model_input = gray = None
    if drawing.rgba is not None:
        try:
            gray, model_input = drawing_to_model_input(drawing.rgba)  # from_canvas + preprocess
        except BlankImageError:
            model_input = None
        except HdrError as error:
            answer_box.error(str(error))
            return

    check = None
    if model_input is not None and predictor.class_names == DIGIT_CLASS_NAMES:
        checker = default_checker()  # None if the shipped check is missing: the page then reads as before
        check = checker.check(model_input) if checker is not None else None
    with answer_box:
        answer_ui(predictor, model_input, model_name, check)
    if model_input is not None:
        state.set_current_input(
            model_input, source="draw", title="Your drawing", original=np.repeat(gray[:, :, None], 3, axis=2)
        )

    with seen_box:
        seen_ui(model_input)


st.html(NARROW_CSS)  # style only: Streamlit puts it out of the page flow, it takes no space
drawing_ui(predictor, choice.name)

with st.expander("Why does the network need the 28 × 28 step?"):
    st.markdown(
        f"The network was trained on MNIST: white digits on black, each fitted into a 20 × 20 box and "
        f"centred by its centre of mass in a 28 × 28 image. Your {CANVAS_SIZE} × {CANVAS_SIZE} drawing is "
        "turned into exactly that before the network sees it, using the same code as the Upload page and "
        "the command line. Its slant is halved first: a digit leaning far over is one the network saw "
        "less often. Open **Look inside** to see how each layer of the network reacts to your digit."
    )
    try:
        st.page_link("pages/visualise.py", label="Look inside the network with this digit",
                     icon=":material/visibility:")
    except StreamlitAPIException:  # the page run on its own (tests), without app.py's navigation
        pass
