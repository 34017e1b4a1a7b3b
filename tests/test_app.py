"""AppTest tests of the app shell (app.py): every page renders, the sidebar model picker, the shared
UI helpers (hdr_app.state, hdr_app.models, hdr_app.charts), and no TensorFlow until a model is needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hdr_app import state
from hdr_app.charts import (
    ACCENT,
    MUTED,
    NARROW_LABEL_GAP,
    bar_labels,
    enlarge,
    heatmap,
    pixel_image_html,
    png_data_uri,
    probability_chart,
)
from hdr_app.models import ModelChoiceInfo, card_summary
from hdr_core.inference import shipped_models
from hdr_core.realdev import recorded_accuracy

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")
TIMEOUT = 180  # pages that load TensorFlow and a model are slow to start on a busy machine
PAGES = ["pages/home.py", "pages/draw.py", "pages/upload.py", "pages/train.py", "pages/visualise.py"]


def run_app(page: str | None = None, **session) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page is not None:
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def picker(at: AppTest):
    boxes = [box for box in at.sidebar.selectbox if box.label == "Model"]
    assert len(boxes) == 1, "the sidebar has no model picker"
    return boxes[0]


# --------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------


def test_every_page_file_exists():
    missing = [page for page in PAGES if not (REPO / page).is_file()]
    assert not missing, f"app.py navigates to pages that do not exist: {missing}"


def test_the_overview_offers_the_lesson_path_in_order():
    at = run_app("pages/home.py")
    [steps] = [m.value for m in at.markdown if m.value.startswith("1. **Draw**")]
    order = [steps.index(f"**{page}**") for page in ("Draw", "Upload a photo", "Train", "Look inside")]
    assert order == sorted(order) and "92% sure" in steps


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(page):
    at = run_app(page)
    assert at.title, f"{page} shows no title"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_is_wrapped_by_the_app_shell(page):
    """app.py's sidebar (the model picker) is on every page, even when the page is opened directly.

    Streamlit runs a ``pages/`` file on its own (legacy multipage mode) when it is opened by URL before
    any session ran ``st.navigation``; each page calls ``hdr_app.ensure_app_shell()`` first to fix that.
    """
    at = run_app(page)
    picker(at)
    assert "ensure_app_shell()" in (REPO / page).read_text(), f"{page} does not call ensure_app_shell()"


def test_home_says_what_each_page_teaches():
    at = run_app()
    text = " ".join(md.value for md in at.markdown)
    for word in ("Draw", "photo", "Train", "filters"):
        assert word in text
    assert "neural network" in at.title[0].value


def test_app_starts_and_serves_home_without_tensorflow():
    """Importing app.py and rendering the home page (sidebar picker included) imports no TensorFlow."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout=120)
        at.run()
        print(json.dumps({{
            "exception": [e.value for e in at.exception],
            "tensorflow": "tensorflow" in sys.modules,
            "keras": "keras" in sys.modules,
            "options": list(at.sidebar.selectbox[0].options) if at.sidebar.selectbox else [],
        }}))
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exception"] == []
    assert result["options"], "the model picker is empty"
    assert not result["tensorflow"], "rendering the home page imported TensorFlow"
    assert not result["keras"], "rendering the home page imported Keras"


# --------------------------------------------------------------------------------------------------
# Model picker
# --------------------------------------------------------------------------------------------------


def test_picker_lists_shipped_models_with_card_figures():
    at = run_app()
    box = picker(at)
    shipped = shipped_models()
    assert shipped, "no shipped models in models/"
    names = [info.name for info in shipped]
    assert box.options[: len(names)] == [
        ModelChoiceInfo(name=info.name, kind="shipped", card=info.card).label for info in shipped
    ]
    assert box.value == names[0], "the default model is not selected first"
    for info, option in zip(shipped, box.options):
        real = recorded_accuracy(info.card.get("real_dev"))  # as `evaluate` printed it
        accuracy = f"{100 * float(real if real is not None else info.card['test_accuracy']):.2f}%"
        assert accuracy in option
        # About 33 characters show in the sidebar's select box at its default width.
        assert len(option) <= 33, f"{option!r} is cut off in the sidebar"
    assert at.session_state[state.MODEL_CHOICE] == names[0]


def test_model_choice_holds_across_pages():
    shipped = [info.name for info in shipped_models()]
    if len(shipped) < 2:
        pytest.skip("needs two shipped models")
    at = run_app()
    picker(at).set_value(shipped[1]).run()
    assert at.session_state[state.MODEL_CHOICE] == shipped[1]
    for page in ("pages/draw.py", "pages/home.py"):
        # AppTest restores Streamlit's legacy pages/ mode before every run; let ensure_app_shell switch
        # back to app.py again, as the first request of a real server does.
        at.session_state[state.SHELL_SWITCHED] = False
        at.switch_page(page)
        at.run()
        assert not at.exception
        assert picker(at).value == shipped[1], f"the choice was lost on {page}"
        assert at.session_state[state.MODEL_CHOICE] == shipped[1]


def test_another_page_can_select_a_model():
    shipped = [info.name for info in shipped_models()]
    at = run_app(**{state.MODEL_CHOICE: shipped[-1]})
    assert picker(at).value == shipped[-1]


def test_session_models_appear_in_the_picker():
    session_models = {"my first cnn": state.SessionModel(model=None, card={"test_accuracy": 0.9876})}
    at = run_app(**{state.SESSION_MODELS: session_models})
    box = picker(at)
    assert "my first cnn" in box.options[-1]
    assert "98.76%" in box.options[-1] and "yours" in box.options[-1]
    box.set_value("my first cnn").run()
    assert at.session_state[state.MODEL_CHOICE] == "my first cnn"
    assert any("trained or added in this tab" in c.value for c in at.sidebar.caption)


def test_a_vanished_choice_falls_back_to_the_default():
    at = run_app(**{state.MODEL_CHOICE: "no such model"})
    assert picker(at).value == shipped_models()[0].name


def test_card_summary_reads_real_handwriting_accuracy():
    card = {"dataset": "mnist", "test_accuracy": 0.9965, "real_dev": {"accuracy": 0.95}, "params": 326826}
    # Two decimals, as in the card and README: 99.65% must not read as 99.7%.
    assert card_summary(card) == "MNIST test accuracy 99.65% · real handwriting 95.00% · 326,826 parameters"
    # The picker's options show one figure, real handwriting first, so they fit the sidebar.
    assert card_summary(card, short=True) == "real 95.00%"
    assert card_summary({"dataset": "mnist", "test_accuracy": 0.9912}, short=True) == "MNIST 99.12%"
    assert card_summary({}) == ""
    assert card_summary({}, short=True) == ""
    # 2422 of 2485 is 97.4648%, which evaluate prints as 97.46%; the card stores it as 0.97465.
    stored = {"real_dev": {"accuracy": 0.97465, "n": 2485}}
    assert card_summary(stored, short=True) == "real 97.46%"


def test_session_models_are_marked_after_their_figure():
    session = ModelChoiceInfo(name="my blog CNN", kind="session",
                              card={"dataset": "mnist", "test_accuracy": 0.991})
    assert session.label == "my blog CNN · MNIST 99.10% · yours"


# --------------------------------------------------------------------------------------------------
# Charts and images
# --------------------------------------------------------------------------------------------------


def test_probability_chart_highlights_the_top_class():
    probabilities = np.array([0.05, 0.7, 0.05, 0.2, 0, 0, 0, 0, 0, 0], np.float32)
    fig = probability_chart(probabilities, [str(d) for d in range(10)])
    bar = fig.data[0]
    assert list(bar.x) == [str(d) for d in range(10)]
    assert bar.marker.color[1] == ACCENT and bar.marker.color[3] == MUTED
    assert probability_chart(probabilities, highlight=3).data[0].marker.color[3] == ACCENT
    with pytest.raises(ValueError, match="class names"):
        probability_chart(probabilities, ["a", "b"])
    with pytest.raises(ValueError, match="highlight"):
        probability_chart(probabilities, highlight=10)


def test_bar_labels_never_run_together():
    # The Draw page's case: a confident 7 with a few 1% runners-up; they used to print "1%1%1%".
    labels = bar_labels(np.array([0.01, 0.01, 0.01, 0.01, 0, 0, 0.01, 0.94, 0, 0]))
    assert labels == ["", "", "", "", "", "", "", "94%", "", ""]
    # In a narrow chart, of two neighbours of similar height only the taller one is labelled; a far one
    # keeps its label. A wide chart (the default) labels both.
    similar = np.array([0, 0, 0, 0.3, 0.4, 0, 0, 0, 0.3, 0])
    labels = bar_labels(similar, gap=NARROW_LABEL_GAP)
    assert labels[3:5] == ["", "40%"] and labels[8] == "30%"
    assert bar_labels(similar)[3:5] == ["30%", "40%"]
    # Neighbours of clearly different heights both keep theirs; so does an unsure top bar under 5%.
    assert bar_labels(np.array([0.7, 0.25] + [0.00625] * 8), gap=NARROW_LABEL_GAP)[:2] == ["70%", "25%"]
    assert bar_labels(np.full(30, 1 / 30), gap=NARROW_LABEL_GAP).count("3%") == 1
    assert bar_labels(np.zeros(10)) == [""] * 10  # the empty chart before anything is drawn
    assert list(probability_chart(np.array([0.05, 0.7, 0.05, 0.2, 0, 0, 0, 0, 0, 0])).data[0].text) == [
        "5%", "70%", "5%", "20%", "", "", "", "", "", ""
    ]


def test_enlarge_makes_square_pixels_without_touching_the_input():
    image = np.zeros((28, 28), np.float32)
    image[3, 5] = 1.0
    before = image.copy()
    big = enlarge(image, 8)
    assert big.shape == (224, 224) and big.dtype == np.uint8
    assert big[3 * 8 : 4 * 8, 5 * 8 : 6 * 8].min() == 255 and big[:24].max() == 0
    np.testing.assert_array_equal(image, before)
    grid = enlarge(image, 8, grid=True)
    assert grid[8, 100] == 48 and grid[3 * 8 + 1, 5 * 8 + 1] == 255
    with pytest.raises(ValueError, match="scale"):
        enlarge(image, 0)
    with pytest.raises(ValueError, match="2-D"):
        enlarge(np.zeros((2, 28, 28)), 2)


def test_inline_images_and_heatmap():
    uri = png_data_uri(np.zeros((28, 28), np.uint8))
    assert uri.startswith("data:image/png;base64,")
    html = pixel_image_html(np.ones((28, 28), np.float32), size=224, alt='a "7"')
    assert "image-rendering:pixelated" in html and "&quot;7&quot;" in html
    fig = heatmap(np.random.default_rng(0).random((5, 5)), title="map")
    assert fig.layout.yaxis.autorange == "reversed"
