"""Look inside: how the selected network turns the current digit into a decision.

The digit is the one drawn or uploaded last (or a test image picked here); the model is the one picked
in the sidebar, shipped or trained in this session. Six tabs: the layers and the digit's path through
them, the learned filters, the feature maps, one convolution worked out by hand, where the network
looks (Grad-CAM / saliency) and the final layers. Only the open tab is computed, and the heavy arrays
are cached once per model and input (``hdr_app.visualize.cache``; the tabs are ``hdr_app.visualize.tabs``).
"""

from __future__ import annotations

import streamlit as st

from hdr_app import ensure_app_shell
from hdr_app import visualize as ui
from hdr_app.charts import enlarge
from hdr_app.models import current_predictor
from hdr_core.errors import HdrError

ensure_app_shell()  # first: makes app.py wrap this page even on a fresh server's first request

st.title("Look inside the network", anchor=False)
st.caption(
    "Follow one digit through the network: what each layer computes, what its filters look for, "
    "and which pixels decide the answer."
)

try:
    predictor, choice = current_predictor()
except HdrError as error:
    st.error(str(error))
    st.stop()

picture_col, input_col, answer_col = st.columns([1, 2.2, 1.6], gap="medium", vertical_alignment="top")
with input_col:
    st.markdown(f"**Model:** {choice.title}" + (" (trained in this session)" if choice.kind == "session" else ""))
    image, title = ui.input_ui(choice.card)

try:
    subject = ui.subject_ui(predictor, choice, image)
except HdrError as error:
    st.error(str(error))
    st.stop()

with picture_col:
    st.image(enlarge(image, 5, grid=True), width=140, caption="what the network sees")
with answer_col:
    ui.summary_ui(subject, title)

ui.tabs_ui(subject)
