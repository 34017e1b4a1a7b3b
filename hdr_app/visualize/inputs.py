"""What the Look inside page looks at: the current digit, a test image or a typed example, the model, and the
summary above the tabs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from hdr_app import state
from hdr_core.errors import HdrError

from .cache import input_key, model_key, model_view
from .tabs import Subject

SOURCE_LABELS = {"current": "Current digit", "test": "A test image", "example": "A typed example"}


TEST_IMAGES_RETRY_S = 600  # an offline server tries MNIST's download again after this long, not on every rerun


@st.cache_resource(show_spinner="Loading the test images (first time only)…", ttl=TEST_IMAGES_RETRY_S)
def test_images(name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | str:
    """``(x_test (N, 28, 28) uint8, y_test (N,) uint8, class_names)`` of a dataset, once per server; or,
    when it cannot be read (MNIST not on disk and no internet to download it, a corrupt file), why not."""
    from hdr_core.data import load_dataset

    try:
        dataset = load_dataset(name)
    except HdrError as error:
        return str(error)
    return dataset.x_test, dataset.y_test, dataset.class_names


def test_dataset_name(card: dict[str, Any] | None) -> str | None:
    """The model's own dataset when its files are here, else MNIST when it is; None when neither is."""
    from hdr_core.data import available_datasets

    try:
        available = available_datasets()
    except Exception:  # noqa: BLE001 - a broken data folder must not break the page
        return None
    wanted = str((card or {}).get("dataset") or "mnist")
    for name in (wanted, "mnist"):
        if available.get(name):
            return name
    return None


def typed_example() -> np.ndarray:
    """A "7" drawn with OpenCV: the input of last resort when there is neither a drawing nor test data."""
    import cv2

    canvas = np.zeros((28, 28), np.uint8)
    cv2.line(canvas, (7, 6), (20, 6), 255, 2, cv2.LINE_AA)
    cv2.line(canvas, (20, 6), (12, 22), 255, 2, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def _random_test_index(n: int) -> None:
    st.session_state[state.VIS_TEST_INDEX] = int(np.random.default_rng().integers(n))


def input_ui(card: dict[str, Any] | None = None) -> tuple[np.ndarray, str]:
    """Where the digit comes from: the drawn/uploaded one, a test image, or a typed example.

    Parameters
    ----------
    card : dict, optional
        The selected model's card: its ``dataset`` picks the test set (MNIST when missing).

    Returns
    -------
    image : (28, 28) float32 ndarray
        In [0, 1], ink bright on black.
    title : str
        What it is, for headings.
    """
    current = state.get_current_input()
    dataset = test_dataset_name(card)
    options = (["current"] if current is not None else []) + (["test"] if dataset else [])
    options = options or ["example"]
    if current is not None:
        seen = input_key(current.model_input)
        if st.session_state.get(state.VIS_SEEN_INPUT) != seen:  # a new drawing or upload: show it
            st.session_state[state.VIS_SEEN_INPUT] = seen
            st.session_state[state.VIS_SOURCE] = "current"
    if st.session_state.get(state.VIS_SOURCE) not in options:
        st.session_state[state.VIS_SOURCE] = options[0]
    if len(options) > 1:
        source = st.radio("Digit", options, key=state.VIS_SOURCE, horizontal=True,
                          format_func=SOURCE_LABELS.__getitem__, label_visibility="collapsed")
    else:
        source = options[0]
    loaded = test_images(dataset) if source == "test" else None
    if current is None:
        meanwhile = "Meanwhile, here is a test image." if isinstance(loaded, tuple) else ""
        st.caption(":material/info: No digit drawn or uploaded yet: draw one on the **Draw** page or upload a "
                   f"photo, and it appears here. {meanwhile}")
    if source == "current":
        return np.asarray(current.model_input, np.float32), current.title
    if not isinstance(loaded, tuple):
        why = "The test images could not be read" if loaded else "No test images found"
        st.caption(f"{why} (set HDR_DATA_DIR to a folder with mnist.npz for them): showing a typed 7.",
                   help=loaded or None)  # the loader's whole message: what was searched, why the download failed
        return typed_example(), "A typed 7"
    x_test, y_test, names = loaded
    n = len(x_test)
    a, b = st.columns([3, 2], vertical_alignment="bottom")
    index = a.number_input(f"{dataset.upper()} test image #", 0, n - 1, key=state.VIS_TEST_INDEX,
                           help=f"Any of the {n:,} test images the model never trained on.")
    b.button("Random", icon=":material/casino:", on_click=_random_test_index, args=(n,), width="stretch")
    label = names[int(y_test[index])] if int(y_test[index]) < len(names) else str(int(y_test[index]))
    return x_test[int(index)].astype(np.float32) / 255.0, f"Test image #{int(index)} (labelled {label})"




def subject_ui(predictor: Any, choice: Any, image: np.ndarray) -> Subject:
    """Bundle the selected model and the input for the tabs (the model's structure is cached)."""
    model = predictor.model
    name = getattr(choice, "name", None) or getattr(model, "name", "model")
    kind = getattr(choice, "kind", "shipped")
    key = model_key(model, f"{kind}:{name}")
    image = np.ascontiguousarray(np.asarray(image, np.float32).reshape(28, 28))
    probabilities = np.asarray(predictor.predict(image).probabilities, np.float32)
    return Subject(
        model=model,
        model_key=key,
        image=image,
        image_key=input_key(image),
        class_names=tuple(predictor.class_names),
        probabilities=probabilities,
        view=model_view(key, model),
    )


def summary_ui(subject: Subject, title: str) -> None:
    """The input as the model sees it and the model's answer."""
    names, probs = subject.class_names, subject.probabilities
    order = np.argsort(probs)[::-1][:3]
    st.metric("Prediction", names[subject.predicted], f"{probs[subject.predicted]:.0%} sure", delta_color="off",
              delta_arrow="off")
    # Runners-up under 0.5% say nothing. Small shares keep a decimal, as "Why not…?" prints them, so
    # the same digit does not read "1%" here and "0.5%" in that tab.
    others = [f"{names[i]} {probs[i]:.1%}" if probs[i] < 0.095 else f"{names[i]} {probs[i]:.0%}"
              for i in order[1:] if probs[i] >= 0.005]
    st.caption(("Next: " + ", ".join(others) if others else "Every other digit under 0.5%") + f" · input: {title}")
