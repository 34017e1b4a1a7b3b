"""A student's own models: a ``.keras`` file added in the sidebar (good, wrong shape, not a model), models
that survive a reload of the same tab, and two students who never see each other's models.

The model files are made here: a small Keras CNN saved at test time, one with the wrong input shape, and
a PDF named ``.keras``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from hdr_app import state
from hdr_app.tab_memory import TAB_PARAM, TabMemory, TabMemoryParams
from tests.conftest import REPO_ROOT

TIMEOUT = 180  # the first upload imports TensorFlow


def _saved_model(path: Path, *, input_shape=(28, 28, 1), classes: int = 10) -> bytes:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(input_shape),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(classes, activation="softmax"),
    ])
    model.save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("models")
    return {
        "good": _saved_model(folder / "good.keras"),
        "colour": _saved_model(folder / "colour.keras", input_shape=(32, 32, 3)),
        "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    }


def _app() -> AppTest:
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, *uploads: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key=state.MODEL_UPLOAD_WIDGET).set_value(
        [(name, data, "application/octet-stream") for name, data in uploads]).run()
    assert not at.exception, at.exception
    return at


def _messages(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in (at.sidebar.success, at.sidebar.error) for e in kind)


def test_a_good_model_file_joins_the_picker_and_is_selected(files):
    at = _upload(_app(), ("my-net.keras", files["good"]))
    assert "Added **my-net** and selected it" in _messages(at)
    assert at.session_state[state.MODEL_CHOICE] == "my-net"
    assert at.sidebar.selectbox(key=state.MODEL_PICKER_WIDGET).value == "my-net"
    session_model = at.session_state[state.SESSION_MODELS]["my-net"]
    assert session_model.card["source"] == "uploaded: my-net.keras" and session_model.card["params"] > 0


def test_a_card_uploaded_with_its_model_gives_its_class_names_and_calibration(files):
    card = {"class_names": list("0123456789"), "calibration": {"temperature": 0.6}, "test_accuracy": 0.5}
    at = _upload(_app(), ("net.keras", files["good"]), ("net.json", json.dumps(card).encode()))
    model = at.session_state[state.SESSION_MODELS]["net"]
    assert model.card["calibration"]["temperature"] == 0.6 and model.card["test_accuracy"] == 0.5


@pytest.mark.parametrize(("kind", "name", "expected"), [
    ("colour", "colour.keras", "expects input of shape"),
    ("pdf", "scan.keras", "was not added"),
])
def test_a_wrong_file_gets_a_clear_message_and_changes_nothing(files, kind, name, expected):
    at = _app()
    before = at.session_state[state.MODEL_CHOICE]
    _upload(at, (name, files[kind]))
    shown = _messages(at)
    assert f"**{name}** was not added" in shown and expected in shown
    assert at.session_state[state.MODEL_CHOICE] == before and not at.session_state[state.SESSION_MODELS]


def test_a_card_that_does_not_fit_the_model_is_refused(files):
    card = {"class_names": ["a", "b"]}
    at = _upload(_app(), ("net.keras", files["good"]), ("net.json", json.dumps(card).encode()))
    assert "2 class names but the model has 10 outputs" in _messages(at)


def test_a_reload_of_the_same_tab_keeps_the_models_and_another_tab_sees_none(files):
    first = _upload(_app(), ("mine.keras", files["good"]))
    token = first.query_params[TAB_PARAM]
    assert token and len(token) >= 16

    reloaded = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=TIMEOUT)
    reloaded.query_params[TAB_PARAM] = token  # the same address: a reload of the tab
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert "mine" in reloaded.session_state[state.SESSION_MODELS]
    assert reloaded.session_state[state.MODEL_CHOICE] == "mine"

    other = _app()  # another student: a new tab, a new token
    assert other.query_params[TAB_PARAM] != token
    assert not other.session_state[state.SESSION_MODELS]
    assert "mine" not in [o for o in other.sidebar.selectbox(key=state.MODEL_PICKER_WIDGET).options]


def test_tab_memory_forgets_the_least_recently_seen_tabs_first():
    memory = TabMemory(TabMemoryParams(tabs=2))
    memory.save("a" * 20, {"x": 1})
    memory.save("b" * 20, {"x": 2})
    assert memory.load("a" * 20) == {"x": 1}  # seen again: now the most recent
    memory.save("c" * 20, {"x": 3})
    assert memory.load("b" * 20) is None and memory.load("a" * 20) == {"x": 1} and len(memory) == 2


def test_an_uploaded_model_predicts_on_the_draw_page(files, monkeypatch):
    import hdr_app.draw.ui as draw_ui
    from tests.hdr_app.test_draw import ONE, canvas_image, fake_canvas

    at = _upload(_app(), ("mine.keras", files["good"]))
    monkeypatch.setattr(draw_ui, "canvas_ui", fake_canvas(canvas_image(ONE)))
    at.switch_page("pages/draw.py").run()
    assert not at.exception, at.exception
    (prediction,) = [m for m in at.metric if m.label == "Prediction"]
    assert str(prediction.value) in "0123456789"  # the uploaded (untrained) net's answer, whatever it is
    assert at.session_state[state.MODEL_CHOICE] == "mine"
