"""AppTest tests of the Draw page (pages/draw.py).

The canvas is a browser component that AppTest cannot draw on, so these tests replace
``hdr_app.draw.ui.canvas_ui`` with a fake that returns a drawing made with OpenCV (blue strokes on
a transparent 280 x 280 canvas, like the real one). Real strokes in a real browser are in
tests/browser/test_draw.py.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import hdr_app.draw.ui as draw_ui
import hdr_app.models as app_models
from hdr_app import state
from hdr_app.draw.ui import CanvasDrawing, drawing_to_model_input
from hdr_core.inference import Prediction

REPO = Path(__file__).resolve().parents[2]
DRAW_PAGE = str(REPO / "pages" / "draw.py")
TIMEOUT = 180  # the first run loads TensorFlow and the model (slow on a busy 2-core machine)

INK = (30, 64, 175, 255)  # the canvas's blue pen, opaque


def canvas_image(strokes, *, size: int = 280, width: int = 20) -> np.ndarray:
    """(size, size, 4) uint8 RGBA: polylines (fractions of the canvas) on a transparent canvas."""
    rgba = np.zeros((size, size, 4), np.uint8)
    for stroke in strokes:
        points = np.array([[x * size, y * size] for x, y in stroke], np.int32)
        cv2.polylines(rgba, [points], False, INK, width, lineType=cv2.LINE_AA)
    return rgba


ONE = [[(0.5, 0.15), (0.5, 0.85)]]
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]


def fake_canvas(rgba: np.ndarray | None):
    def canvas_ui(*, key: str, stroke_width: int, size: int = 280) -> CanvasDrawing:
        return CanvasDrawing(rgba=rgba, n_strokes=0 if rgba is None else 1)

    return canvas_ui


def run_draw_page(monkeypatch, rgba: np.ndarray | None) -> AppTest:
    monkeypatch.setattr(draw_ui, "canvas_ui", fake_canvas(rgba))
    at = AppTest.from_file(DRAW_PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def prediction_metrics(at: AppTest):
    return [m for m in at.metric if m.label == "Prediction"]


def test_empty_canvas_invites_to_draw(monkeypatch):
    at = run_draw_page(monkeypatch, None)
    assert not prediction_metrics(at)
    assert any("Draw a digit in the square" in info.value for info in at.info)
    assert len(at.get("plotly_chart")) == 1  # an empty chart, so the page does not jump on the first stroke
    assert state.CURRENT_INPUT not in at.session_state or at.session_state[state.CURRENT_INPUT] is None


def test_cleared_canvas_is_blank_not_a_prediction(monkeypatch):
    at = run_draw_page(monkeypatch, np.zeros((280, 280, 4), np.uint8))
    assert not prediction_metrics(at)
    assert any("Draw a digit in the square" in info.value for info in at.info)
    assert not at.error


def test_drawing_shows_prediction_chart_and_the_28x28_input(monkeypatch):
    at = run_draw_page(monkeypatch, canvas_image(ONE))
    metrics = prediction_metrics(at)
    assert len(metrics) == 1
    assert metrics[0].value in {str(d) for d in range(10)}
    assert "sure" in metrics[0].delta
    assert len(at.get("plotly_chart")) == 1
    assert any("data:image/png;base64," in md.value for md in at.markdown), "the 28x28 image is missing"
    assert any("20 × 20" in caption.value for caption in at.caption)


def test_drawing_becomes_the_current_input(monkeypatch):
    rgba = canvas_image(SEVEN)
    at = run_draw_page(monkeypatch, rgba)
    current = at.session_state[state.CURRENT_INPUT]
    assert current.source == "draw"
    assert current.model_input.shape == (28, 28) and current.model_input.dtype == np.float32
    np.testing.assert_allclose(current.model_input, drawing_to_model_input(rgba)[1])
    assert current.original.shape == (280, 280, 3)


class _UnsurePredictor:
    class_names = tuple(str(d) for d in range(10))

    def predict(self, image28):
        probabilities = np.array([0.02, 0.38, 0.02, 0.02, 0.02, 0.02, 0.02, 0.41, 0.07, 0.02], np.float32)
        return Prediction(7, "7", 0.41, probabilities, self.class_names)


def test_low_confidence_says_not_sure_with_top_two(monkeypatch):
    choice = app_models.ModelChoiceInfo(name="fake", kind="shipped", card={})
    monkeypatch.setattr(app_models, "current_instant_predictor", lambda: (_UnsurePredictor(), choice))
    at = run_draw_page(monkeypatch, canvas_image(ONE))
    assert prediction_metrics(at)[0].value == "7"
    warning = " ".join(w.value for w in at.warning)
    assert "not sure" in warning and "**7** (41%)" in warning and "**1** (38%)" in warning


def test_confident_prediction_has_no_not_sure_warning(monkeypatch):
    class Sure(_UnsurePredictor):
        def predict(self, image28):
            probabilities = np.full(10, 0.01, np.float32)
            probabilities[1] = 0.91
            return Prediction(1, "1", 0.91, probabilities, self.class_names)

    choice = app_models.ModelChoiceInfo(name="fake", kind="shipped", card={})
    monkeypatch.setattr(app_models, "current_instant_predictor", lambda: (Sure(), choice))
    at = run_draw_page(monkeypatch, canvas_image(ONE))
    assert prediction_metrics(at)[0].value == "1"
    assert not any("not sure" in w.value for w in at.warning)


def test_model_error_is_shown_not_raised(monkeypatch):
    from hdr_core.errors import ModelError

    def broken(path, version=None):
        raise ModelError("The model file is damaged: save it again.")

    monkeypatch.setattr(app_models, "shipped_instant_predictor", broken)
    at = run_draw_page(monkeypatch, canvas_image(ONE))
    assert any("damaged" in e.value for e in at.error)


@pytest.mark.parametrize(
    "where",
    [
        "large-centred",
        "small-corner",
        "thin",
        "thick",
    ],
)
def test_size_position_and_thickness_do_not_change_the_model_input_much(where):
    """The page's preprocessing crops, scales and centres: a small, off-centre, thin or thick 7 gives
    nearly the same 28 x 28 input as a large centred one."""
    reference = drawing_to_model_input(canvas_image(SEVEN, width=20))[1]
    if where == "large-centred":
        rgba = canvas_image(SEVEN, width=20)
    elif where == "small-corner":
        rgba = canvas_image([[(0.05 + x * 0.3, 0.05 + y * 0.3) for x, y in SEVEN[0]]], width=8)
    elif where == "thin":
        rgba = canvas_image(SEVEN, width=6)
    else:
        rgba = canvas_image(SEVEN, width=40)
    model_input = drawing_to_model_input(rgba)[1]
    assert model_input.shape == (28, 28)
    # Same place and size: the centres of mass and the ink's bounding boxes agree within 2 pixels.
    ys, xs = np.nonzero(model_input > 0.3)
    ref_ys, ref_xs = np.nonzero(reference > 0.3)
    assert abs(ys.mean() - ref_ys.mean()) < 2 and abs(xs.mean() - ref_xs.mean()) < 2
    assert abs((ys.max() - ys.min()) - (ref_ys.max() - ref_ys.min())) <= 2


# --------------------------------------------------------------------------------------------------
# InstantPredictor: the Draw page's single-threaded one-image predictions
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_predictor():
    from hdr_core.inference import Predictor, default_model_path

    return Predictor.from_path(default_model_path())


def test_instant_predictor_gives_the_same_answers_as_the_predictor(default_predictor):
    from hdr_app.draw.instant import InstantPredictor

    instant = InstantPredictor(default_predictor)
    assert instant.engine == "litert"
    assert instant.class_names == default_predictor.class_names
    for strokes in (ONE, SEVEN, [[(0.3, 0.3), (0.7, 0.7)]]):
        model_input = drawing_to_model_input(canvas_image(strokes))[1]
        ours, reference = instant.predict(model_input), default_predictor.predict(model_input)
        assert ours.index == reference.index and ours.label == reference.label
        np.testing.assert_allclose(ours.probabilities, reference.probabilities, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        instant.predict(np.zeros((27, 28), np.float32))


def test_instant_predictor_falls_back_to_tensorflow(default_predictor, monkeypatch):
    from hdr_app.draw.instant import InstantPredictor

    def unavailable(predictor):
        raise ImportError("no TensorFlow Lite here")

    monkeypatch.setattr(InstantPredictor, "_convert", staticmethod(unavailable))
    with pytest.warns(UserWarning, match="LiteRT is not available"):
        instant = InstantPredictor(default_predictor)
    assert instant.engine == "tensorflow"
    model_input = drawing_to_model_input(canvas_image(ONE))[1]
    assert instant.predict(model_input).label == default_predictor.predict(model_input).label
