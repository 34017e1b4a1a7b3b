"""hdr: how a convolutional network recognises handwritten digits.

Run with ``streamlit run app.py``. This entry file sets the page config, initialises the session state,
routes between the pages with ``st.navigation`` and renders the shared sidebar model picker. It imports
no TensorFlow: models load (once per server) when a page first needs a prediction.
"""

from __future__ import annotations

import streamlit as st

from hdr_app import state
from hdr_app.models import model_picker_ui
from hdr_app.tab_memory import remembered_tab

st.set_page_config(
    page_title="hdr · handwritten digits",
    page_icon="✍️",  # an emoji: a :material/...: favicon is fetched from Google Fonts (fails offline)
    layout="wide",
    initial_sidebar_state="auto",  # open on a computer, closed on a phone
)
state.init_state()

# Each page file is named after its address (/draw, /upload, /train, /visualise): the one place the
# code keeps the British "visualise", because the address students were given stays.
PAGES = [
    st.Page("pages/home.py", title="Overview", icon=":material/home:", default=True),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
    st.Page("pages/upload.py", title="Upload a photo", icon=":material/photo_camera:", url_path="upload"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page("pages/visualise.py", title="Look inside", icon=":material/visibility:", url_path="visualise"),
]

page = st.navigation(PAGES, position="sidebar")

with remembered_tab():  # a reload of the tab keeps the student's models and training
    with st.sidebar:
        model_picker_ui()
    page.run()
