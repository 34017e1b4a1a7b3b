"""Upload: photographed, scanned or painted digits and whole numbers, with every preprocessing step on show.

The uploaded bytes go through ``hdr_core.preprocess.load_image`` and ``preprocess``/``segment``, the
same functions ``python -m hdr_core predict`` uses, so the page reads a photo exactly as the CLI does.
"""

from __future__ import annotations

import streamlit as st

from hdr_app import ensure_app_shell, upload
from hdr_app.models import current_instant_predictor
from hdr_core.errors import HdrError

ensure_app_shell()  # first: makes app.py wrap this page even on a fresh server's first request

st.title("Upload a photo", anchor=False)
st.caption(
    "Photograph digits on paper, scan a worksheet or save a drawing, and see step by step what the "
    "computer does to the picture before the network sees it."
)

options = upload.options_ui()
images = upload.inputs_ui()
if not images:
    upload.empty_state_ui()
    st.stop()

try:
    predictor, _choice = current_instant_predictor()  # LiteRT: no TensorFlow needed to read a photo
except HdrError as error:
    predictor = None
    upload.model_error_ui(error)

results = upload.process_ui(images, options, predictor)
if len(results) > 1:
    upload.results_table_ui(results)
upload.errors_ui(results)

selected = upload.pick_result_ui(results)
if selected is not None:
    upload.details_ui(results[selected], images[selected], predictor)
