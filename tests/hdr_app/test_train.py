"""The Train page under Streamlit's AppTest: its controls, a tiny training to the results, the slot
limit's waiting state, and Stop.

Trainings here are tiny (a one-block custom CNN on a few hundred MNIST images, one epoch); the page
sends it to a Dask worker process (the server's local cluster, started by the first training here), so
the tests rerun the app every half second until the job is done.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from hdr_app import state
from hdr_app.train.jobs import FINISHED, STOPPED, WAITING
from hdr_core.models import PRESETS
from hdr_core.train import TrainConfig
from tests.conftest import REPO_ROOT

PAGE = "pages/train.py"
RUN_TIMEOUT = 120  # seconds for one script run (the first results view imports TensorFlow)
TRAIN_TIMEOUT = 300  # seconds for a tiny training on two busy cores


def key(name: str) -> str:
    return f"{state.TRAIN_FORM}{name}"


@pytest.fixture(scope="module")
def keras_imported():
    """Import TensorFlow here, not in the first training thread: CPython 3.11's ``ast.parse`` is not
    thread-safe ("AST constructor recursion depth mismatch"), and pytest's assertion rewriting parses
    TensorFlow's ``test_util.py`` while AppTest parses the page scripts in another thread."""
    import keras  # noqa: F401


@pytest.fixture
def at(data_file, keras_imported) -> AppTest:
    data_file("mnist.npz")
    app = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=RUN_TIMEOUT)
    app.run()
    app.switch_page(PAGE)
    app.run()
    assert not app.exception, app.exception
    return app


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in (at.info, at.success, at.warning, at.error) for e in kind]
    return "\n".join(str(p) for p in parts)


def choose_tiny_model(at: AppTest, *, images: int = 250) -> None:
    """A one-block custom CNN with 4 filters, one epoch on ``images`` training images."""
    at.selectbox(key=key("arch")).set_value("custom").run()
    at.slider(key=key("conv_blocks")).set_value(1)
    at.select_slider(key=key("filters")).set_value(4)
    at.select_slider(key=key("dense_units")).set_value(0)
    at.number_input(key=key("epochs")).set_value(1)
    at.selectbox(key=key("batch_size")).set_value(32)
    at.select_slider(key=key("learning_rate")).set_value(0.01)
    at.select_slider(key=key("train_limit")).set_value(images)
    at.run()
    assert not at.exception, at.exception


def wait_for_job(at: AppTest, until, timeout: float = TRAIN_TIMEOUT) -> None:
    """Rerun the page every half second until ``until(job)``, then once more to show that state."""
    job = at.session_state[state.TRAINING_JOB]
    end = time.monotonic() + timeout
    while not until(job):
        if time.monotonic() > end:
            raise AssertionError(f"timed out; job snapshot: {job.snapshot()}")
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    at.run()
    assert not at.exception, at.exception


def test_page_renders_its_controls(at):
    assert at.title[0].value == "Train a network"
    assert at.selectbox(key=key("dataset")).value == "mnist"
    assert "MNIST digits · 10 classes" in at.selectbox(key=key("dataset")).options  # the formatted labels
    archs = at.selectbox(key=key("arch")).options
    assert len(archs) == len(PRESETS) + 1 and "Custom: build your own" in archs
    assert {p.title for p in PRESETS.values()} <= set(archs)
    for widget_key in ("epochs", "seed"):
        assert at.number_input(key=key(widget_key)) is not None
    for widget_key in ("learning_rate", "l2", "train_limit"):
        assert at.select_slider(key=key(widget_key)) is not None
    for widget_key in ("rotation", "shift", "zoom", "slant", "elastic", "renormalize", "style", "patience"):
        assert at.slider(key=key(widget_key)) is not None
    assert at.slider(key=key("style")).disabled is False  # MNIST's classes are the ten digits
    assert at.checkbox(key=key("early_stopping")).value is False
    assert at.button(key="train_start").disabled is False
    assert "How it works" in texts(at)
    assert at.session_state[state.TRAINING_JOB] is None


def test_picking_an_architecture_fills_in_its_recipe(at):
    at.selectbox(key=key("arch")).set_value("emnist-cnn").run()
    assert at.number_input(key=key("epochs")).value == PRESETS["emnist-cnn"].recipe["epochs"]
    assert at.selectbox(key=key("batch_size")).value == 128
    at.selectbox(key=key("arch")).set_value("blog-cnn-rot").run()
    assert at.slider(key=key("rotation")).value == 10.0
    assert at.selectbox(key=key("batch_size")).value == 32
    assert "blog experiments" in texts(at)
    at.selectbox(key=key("arch")).set_value("custom").run()
    assert at.slider(key=key("conv_blocks")).value == 2
    assert at.checkbox(key=key("batch_norm")).value is True
    assert not at.exception


def test_every_augmentation_slider_reaches_the_training_config():
    from hdr_app.train import build_config

    chosen = dict(rotation=12.0, shift=0.1, zoom=0.15, thickness=0.5, blur=0.3, slant=0.3, elastic=0.2,
                  renormalize=0.5, style=0.4)
    config = build_config({"arch": "fast", **chosen})
    assert {name: getattr(config.augmentation, name) for name in chosen} == chosen
    # Continental 1s and 7s only exist for digits: a letters run trains without them.
    assert build_config({"arch": "fast", "dataset": "emnist-letters", **chosen}).style == 0.0


def test_experiment_mode_builds_the_blog_grid(at):
    from hdr_app.train import blog_grid

    at.radio(key=state.TRAIN_MODE).set_value("experiment").run()
    assert not at.exception
    runs, missing = blog_grid()
    assert len(runs) + len(missing) == 8
    assert at.button(key="train_start").label == f"Train {len(runs)} runs"
    at.checkbox(key=key("exp_dense")).uncheck().run()
    at.checkbox(key=key("exp_l2")).uncheck().run()
    assert at.button(key="train_start").label == "Train 2 runs"  # rotation off and on
    at.radio(key=key("exp_kind")).set_value("archs").run()
    at.multiselect(key=key("exp_archs")).set_value(["fast", "emnist-cnn"]).run()
    assert at.button(key="train_start").label == "Train 2 runs"
    assert not at.exception


def test_the_experiments_eight_cases_are_one_choice_with_their_reported_figures(at):
    from hdr_app.train import experiment_cases, reported_figure

    at.radio(key=state.TRAIN_MODE).set_value("experiment").run()
    at.radio(key=key("exp_kind")).set_value("cases").run()
    assert not at.exception
    assert at.button(key="train_start").label == "Train 8 runs"
    runs = experiment_cases()
    assert [label.split(":")[0] for label, _ in runs] == [f"case {n}" for n in range(1, 9)]
    assert all(config.epochs == 20 and config.train_limit is None for _, config in runs)
    assert [reported_figure(config) for _, config in runs] == ["98.61%", "98.69%", "98.17%", "98.40%", "98.82%",
                                                               "98.71%", "98.82%", "98.37%"]
    # A shortened run is not the recipe the figure was reported for.
    assert reported_figure(TrainConfig.from_preset("blog-cnn-rot", epochs=2)) is None
    assert reported_figure(TrainConfig.from_preset("emnist-cnn")).startswith("99.4%")


def test_picking_a_reference_fills_in_its_early_stopping(at):
    at.selectbox(key=key("arch")).set_value("emnist-cnn").run()
    assert at.checkbox(key=key("early_stopping")).value is True
    assert at.slider(key=key("patience")).value == 3
    at.selectbox(key=key("arch")).set_value("fast").run()
    assert at.checkbox(key=key("early_stopping")).value is False


def test_settings_survive_a_visit_to_another_page(at):
    at.number_input(key=key("epochs")).set_value(7).run()
    at.switch_page("pages/home.py").run()
    at.switch_page(PAGE).run()
    assert at.number_input(key=key("epochs")).value == 7


@pytest.mark.slow
def test_tiny_training_waits_for_a_free_slot_then_shows_results(at, monkeypatch):
    from hdr_app.train import training_slots

    slots = training_slots()  # the server-wide limit, shared with the app
    ticket = slots.acquire()  # another student's training holds the only slot...
    try:
        choose_tiny_model(at)
        at.button(key="train_start").click().run()
        job = at.session_state[state.TRAINING_JOB]
        assert job._slots is slots
        wait_for_job(at, lambda j: j.status == WAITING)
        assert "Waiting for a free slot" in texts(at)
        assert at.button(key="train_stop").label == "Cancel"
        assert at.button(key="train_start").disabled  # one training per student at a time
    finally:
        if slots.limit == 1:
            slots.release(ticket)  # ... and ends
    wait_for_job(at, lambda j: j.done)
    assert job.status == FINISHED, job.snapshot().error
    for _ in range(3):  # the finished model joins the picker, then the page shows the results
        at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Results · my custom CNN" in shown and "Finished." in shown
    labels = {m.label for m in at.metric}
    assert {"Test accuracy", "Test loss", "Epochs", "Parameters"} <= labels
    assert at.session_state[state.MODEL_CHOICE] == "my custom CNN"
    assert "my custom CNN" in at.session_state[state.SESSION_MODELS]
    assert [t.label.split(": ")[-1] for t in at.tabs][-4:] == ["Per class", "Confusion matrix", "Mistakes", "Layers"]
    assert "Model picker" not in shown
    # (AppTest's switch_page runs the page without app.py's sidebar: the browser test checks the picker.)
    assert at.selectbox(key=f"{state.TRAIN_CELL}{job.runs[0].run_id}") is not None
    assert job.runs[0].worker.startswith("tcp://")  # trained by a Dask worker, not in the web process
    # 250 images, one epoch: a couple of weight updates cannot train a network, and the page says so.
    assert any("Under-trained" in w.value for w in at.warning) and "generalises" not in shown

    import hdr_app.draw.ui as draw_ui
    from tests.hdr_app.test_draw import SEVEN, canvas_image, fake_canvas

    monkeypatch.setattr(draw_ui, "canvas_ui", fake_canvas(canvas_image(SEVEN)))
    at.switch_page("pages/draw.py").run()  # the student's model answers on the Draw page
    assert not at.exception, at.exception
    assert [m for m in at.metric if m.label == "Prediction"]
    assert at.session_state[state.MODEL_CHOICE] == "my custom CNN"


@pytest.mark.slow
def test_training_survives_a_page_switch_and_stop_keeps_the_model(at):
    choose_tiny_model(at, images=20000)  # 563 batches: long enough to press Stop in the middle
    at.button(key="train_start").click().run()
    job = at.session_state[state.TRAINING_JOB]
    wait_for_job(at, lambda j: j.snapshot().batch >= 2 or j.done)
    assert not job.done
    at.switch_page("pages/home.py").run()  # the training goes on while the student looks elsewhere...
    at.switch_page(PAGE).run()
    assert at.session_state[state.TRAINING_JOB] is job and not job.done
    assert "Training **custom**" in texts(at)  # ... and the live view is back
    at.button(key="train_stop").click().run()
    assert job.snapshot().stop_requested
    wait_for_job(at, lambda j: j.done)
    assert job.status == STOPPED
    for _ in range(3):
        at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "Stopped. The model as trained so far is kept as **my custom CNN" in shown
    assert "Results · my custom CNN" in shown
    (run,) = job.finished_runs()
    assert run.result.stopped and job.snapshot().batch < 563


@pytest.mark.slow
def test_a_well_trained_run_is_said_to_generalise(at):
    """The page's defaults (the fast preset, 10,000 images, one epoch) train in seconds to about 97%."""
    at.button(key="train_start").click().run()
    job = at.session_state[state.TRAINING_JOB]
    wait_for_job(at, lambda j: j.done)
    assert job.status == FINISHED, job.snapshot().error
    for _ in range(3):
        at.run()
    assert not at.exception, at.exception
    (run,) = job.finished_runs()
    assert run.result.test_accuracy > 0.9
    assert not any("Under-trained" in w.value for w in at.warning)
    # One epoch: the running training figure averages the whole epoch, so validation comes out above it,
    # and the page explains that instead of calling the run under-trained or over-fitted.
    assert any("Validation accuracy is above training accuracy" in c.value or "generalises" in c.value
               for c in at.caption)


def test_the_reported_figures_chart_puts_ours_beside_theirs():
    from hdr_app.train import reported_figure_chart

    rows = [{"model": "case 1: 3 dense", "test accuracy": 0.9885, "reference reports": "98.61%"},
            {"model": "fast", "test accuracy": 0.991, "reference reports": None}]
    figure = reported_figure_chart(rows)
    ours, theirs = figure.data
    assert list(ours.x) == ["case 1: 3 dense"] and list(ours.y) == [0.9885]
    assert list(theirs.y) == [0.9861]
    assert reported_figure_chart(rows[1:]) is None  # nothing reported: no chart
    emnist = [{"model": "emnist-cnn", "test accuracy": 0.993, "reference reports": "99.4% on EMNIST Digits"}]
    assert reported_figure_chart(emnist) is None  # a figure on another test set is not charted against MNIST


def test_an_under_trained_run_is_called_so_with_its_weight_updates():
    from hdr_app.train import training_verdict

    close = {"accuracy": [0.19, 0.2], "val_accuracy": [0.18, 0.19]}
    text, under = training_verdict(0.186, close, n_train=250, batch_size=128, epochs=1)
    assert under and "Under-trained" in text and "2 weight updates" in text and "generalises" not in text
    text, under = training_verdict(0.991, {"accuracy": [0.99], "val_accuracy": [0.99]}, n_train=54000,
                                   batch_size=128, epochs=1)
    assert not under and "generalises" in text and "99.1%" in text


def test_the_image_count_starts_small_with_all_one_click_away(at):
    slider = at.select_slider(key=key("train_limit"))
    assert slider.value == 10000
    assert "all" in str(slider.options[-1]).lower()
