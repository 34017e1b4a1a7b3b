"""LiteRT predictions (hdr_core.lite): the same answers as Keras, shipped files that match their models, and
Draw and Upload pages that answer without TensorFlow in the web process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from hdr_core import lite
from hdr_core.errors import ModelError
from hdr_core.inference import read_card, shipped_models
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def default_pair():
    from hdr_core.inference import Predictor, default_model_path

    path = default_model_path()
    card = read_card(path) or {}
    predictor = Predictor.from_path(path)
    quick = lite.LitePredictor.from_file(lite.shipped_lite_file(path, card), predictor.class_names,
                                         temperature=predictor.temperature)
    return predictor, quick


def test_every_shipped_model_carries_a_litert_file_made_from_it():
    """A retrained model without `python -m hdr_core export-lite` would run a stale flat buffer: caught here."""
    for info in shipped_models():
        assert lite.shipped_lite_file(info.path, info.card) is not None, (
            f"{info.path.name}: run `python -m hdr_core export-lite --model {info.path}`")


def test_litert_answers_as_keras_does_one_image_and_many(default_pair):
    predictor, quick = default_pair
    images = np.random.default_rng(0).random((300, 28, 28), dtype=np.float32) ** 3
    np.testing.assert_allclose(quick.predict_proba(images), predictor.predict_proba(images), atol=1e-5)
    np.testing.assert_allclose(quick.predict_proba(images[:3]), predictor.predict_proba(images[:3]), atol=1e-5)
    one, reference = quick.predict(images[7]), predictor.predict(images[7])
    assert one.label == reference.label and one.class_names == reference.class_names
    np.testing.assert_allclose(one.probabilities, reference.probabilities, atol=1e-5)
    assert quick.predict_proba(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)
    with pytest.raises(ValueError, match="shape"):
        quick.predict(np.zeros((27, 28), np.float32))


def test_a_replaced_model_file_does_not_use_the_old_litert_file(tmp_path):
    info = shipped_models()[0]
    for suffix in (".keras", ".json", ".tflite"):
        shutil.copy(info.path.with_suffix(suffix), tmp_path)
    model = tmp_path / info.path.name
    card = read_card(model)
    assert lite.shipped_lite_file(model, card) == model.with_suffix(".tflite")
    with open(model, "ab") as handle:
        handle.write(b"\0")  # another model now
    assert lite.shipped_lite_file(model, card) is None
    assert lite.shipped_lite_file(model, {}) is None


def test_a_file_that_is_not_a_flat_buffer_is_refused():
    with pytest.raises(ModelError, match="not a LiteRT model"):
        lite.LitePredictor(b"%PDF-1.7 not a model")


def test_the_draw_and_upload_pages_answer_without_tensorflow():
    """A class drawing and reading photos never loads TensorFlow into the web process (about 650 MB)."""
    code = textwrap.dedent(
        f"""
        import json, sys
        import cv2, numpy as np
        sys.path.insert(0, {str(REPO_ROOT)!r})
        import hdr_app.draw.ui as draw_ui
        from hdr_app.draw.ui import CanvasDrawing
        from streamlit.testing.v1 import AppTest

        rgba = np.zeros((280, 280, 4), np.uint8)
        cv2.line(rgba, (140, 40), (140, 240), (30, 64, 175, 255), 20)
        draw_ui.canvas_ui = lambda **kw: CanvasDrawing(rgba=rgba, n_strokes=1)
        at = AppTest.from_file({str(REPO_ROOT / "app.py")!r}, default_timeout=120)
        at.run()
        at.switch_page("pages/draw.py").run()
        drawn = [str(m.value) for m in at.metric if m.label == "Prediction"]
        at.switch_page("pages/upload.py").run()
        ok, png = cv2.imencode(".png", 255 - rgba[:, :, 3])
        at.file_uploader(key="upload_files").set_value(("one.png", png.tobytes(), "image/png")).run()
        print(json.dumps({{
            "exception": [e.value for e in at.exception],
            "drawn": drawn,
            "read": [str(m.value) for m in at.metric],
            "tensorflow": "tensorflow" in sys.modules,
        }}))
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exception"] == []
    assert result["drawn"] == ["1"] and "1" in result["read"]
    assert not result["tensorflow"], "drawing or reading a photo imported TensorFlow"
