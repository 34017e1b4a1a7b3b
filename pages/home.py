"""Overview: what the app is and what each page teaches (no model, no TensorFlow here)."""

from __future__ import annotations

import streamlit as st

from hdr_app import ensure_app_shell

ensure_app_shell()  # first: makes app.py wrap this page even on a fresh server's first request

st.title("How does a neural network read handwriting?")
st.markdown(
    "This app lets you play with a **convolutional neural network (CNN)** trained on "
    "[MNIST](https://en.wikipedia.org/wiki/MNIST_database), 70,000 small pictures of handwritten digits. "
    "Give it a digit, watch its answer, then look inside to see how it decides."
)

PAGE_CARDS = [
    ("pages/draw.py", ":material/draw:", "Draw",
     "Draw a digit with your mouse or finger and see the network's answer after every stroke: how sure it "
     "is, which digits it hesitates between, and the tiny 28 × 28 picture it really looks at."),
    ("pages/upload.py", ":material/photo_camera:", "Upload a photo",
     "Photograph a digit on paper. See every step that turns a phone photo into MNIST-style input: "
     "grey levels, threshold, inversion, cropping and centring, then the prediction."),
    ("pages/train.py", ":material/model_training:", "Train",
     "Train your own network in a few minutes: pick a recipe, change the layers, epochs and augmentation, "
     "and watch accuracy climb. Your model joins the model picker in the sidebar."),
    ("pages/visualise.py", ":material/visibility:", "Look inside",
     "Open up the network: its filters, the feature maps each layer produces for your digit, and the "
     "pixels that pushed it towards its answer (saliency and Grad-CAM)."),
]

left, right = st.columns(2, gap="medium")
for i, (path, icon, title, text) in enumerate(PAGE_CARDS):
    with (left if i % 2 == 0 else right).container(border=True):
        st.page_link(path, label=f"**{title}**", icon=icon)
        st.markdown(text)

st.subheader("Try this first")
st.markdown(
    "1. **Draw** a 7 with and without its bar, and a 4 that looks like a 9: watch the probabilities move. "
    "\"92% sure\" means that of all the answers given with about 92%, about 92% are right.\n"
    "2. **Upload a photo** of a digit on paper, on a desk or in a shadow, and open its steps: each says why it ran.\n"
    "3. **Train** the fast network on 10,000 images (seconds), then on all of them; then on 250 and read why "
    "that is too few.\n"
    "4. **Look inside** your own model: its filters, its feature maps for your digit, and where it looked."
)

st.subheader("How the pieces fit together")
st.markdown(
    "1. **Preprocessing** turns any picture into what MNIST looks like: white ink on black, the digit "
    "straightened a little, fitted into a 20 × 20 box and centred in a 28 × 28 image.\n"
    "2. **Convolution layers** slide small filters over the image to detect strokes, edges and curves; "
    "deeper layers combine them into loops and corners.\n"
    "3. **Dense layers** weigh that evidence and output a probability for each of the ten digits."
)
st.info(
    "Start with **Draw**. The model in the sidebar is used on every page; the figure beside each one is "
    "its accuracy on photos and scans of real handwriting (or, until that is measured, on the MNIST test "
    "set); under the picker are all the chosen model's figures.",
    icon=":material/lightbulb:",
)
