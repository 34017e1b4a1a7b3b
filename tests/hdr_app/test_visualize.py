"""The Look inside page: AppTest runs for each kind of model, and its pure helpers.

Each model kind the page must handle is injected as a session model (as the Train page would) and
selected: a Sequential CNN, a Functional CNN with batch norm and a 5x5 first layer, an MLP (no conv
layers), a 26-class model, plus the default shipped model. Every tab is opened (the tabs are lazy:
only the open one runs, so the test sets the tab's widget state) and must render without an exception.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from hdr_app import state  # noqa: E402
from hdr_app import visualize as ui  # noqa: E402
from hdr_core import visualize  # noqa: E402
from hdr_core.models import build_model  # noqa: E402

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "pages/visualise.py"
TABS = ui.TAB_LABELS
LETTERS = tuple("abcdefghijklmnopqrstuvwxyz")


def _digit() -> np.ndarray:
    """A (28, 28) float32 '7' in [0, 1], ink bright on black."""
    image = np.zeros((28, 28), np.float32)
    image[6:9, 6:22] = 1.0
    for r in range(9, 23):
        c = 21 - (r - 9) // 2
        image[r, c - 1 : c + 2] = 0.9
    return image


def _randomise_batch_norm(model: keras.Model, seed: int = 0) -> keras.Model:
    """Give every BatchNormalization layer non-trivial statistics, so replaying it is a real check."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([
                rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                rng.normal(0, 0.2, beta.shape).astype(np.float32),
                rng.normal(0, 0.1, mean.shape).astype(np.float32),
                rng.uniform(0.01, 0.2, var.shape).astype(np.float32),
            ])
    return model


def _sequential_cnn() -> keras.Model:
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(6, 3, activation="relu", name="conv_a"),
            layers.MaxPooling2D(2, name="pool_a"),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b"),
            layers.Flatten(name="flatten"),
            layers.Dense(16, activation="relu", name="hidden"),
            layers.Dense(10, activation="softmax", name="out"),
        ],
        name="seq_cnn",
    )


def _functional_cnn() -> keras.Model:
    """Functional, a 5x5 first conv without bias, then batch norm and ReLU layers (as our presets build)."""
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(8, 5, padding="same", use_bias=False, name="conv_1")(inputs)
    x = layers.BatchNormalization(name="conv_1_bn")(x)
    x = layers.ReLU(name="conv_1_relu")(x)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    keras.utils.set_random_seed(2)
    return _randomise_batch_norm(keras.Model(inputs, outputs, name="functional_cnn"))


def _mlp() -> keras.Model:
    return build_model("tk-mlp", seed=3)


def _letters_cnn() -> keras.Model:
    return build_model("notebook-cnn", n_classes=26, seed=4)


def _app(model: keras.Model | None = None, *, name: str = "under test", card: dict | None = None,
         current: np.ndarray | None = None) -> AppTest:
    """The app on the Look inside page, with ``model`` as the selected session model."""
    at = AppTest.from_file(APP, default_timeout=180)
    if model is not None:
        at.session_state[state.SESSION_MODELS] = {name: state.SessionModel(model=model, card=dict(card or {}))}
        at.session_state[state.MODEL_CHOICE] = name
    if current is not None:
        image = np.asarray(current, np.float32)
        at.session_state[state.CURRENT_INPUT] = state.CurrentInput(model_input=image, source="draw",
                                                                   title="Your drawing")
    at.switch_page(PAGE)
    return at


def _open(at: AppTest, tab: str) -> AppTest:
    at.session_state[state.VIS_TAB] = tab
    at.run()
    assert not at.exception, f"{tab}: {[e.value for e in at.exception]}"
    return at


def _widget(widgets, prefix: str):
    """The one widget whose key starts with ``prefix`` (keys carry the model or input)."""
    found = [w for w in widgets if (w.key or "").startswith(prefix)]
    assert len(found) == 1, f"{len(found)} widgets with a key starting {prefix!r}"
    return found[0]


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def _texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


# --------------------------------------------------------------------------------------------------
# AppTest: one run per model kind, every tab
# --------------------------------------------------------------------------------------------------


def test_default_shipped_model_every_tab():
    at = _app(current=_digit())
    at.run()
    assert not at.exception
    assert at.title[0].value == "Look inside the network"
    assert "Current digit" in at.radio(key=state.VIS_SOURCE).options
    summary = [c for c in _texts(at.caption).splitlines() if "input: Your drawing" in c]
    assert summary and ("Next: " in summary[0] or "Every other digit under 0.5%" in summary[0])
    assert " 0%" not in summary[0], "runners-up at 0% say nothing"
    for tab in TABS:
        _open(at, tab)
    _open(at, "Feature maps")
    text = _markdown(at)
    assert "conv_1 → batch norm → ReLU" in text  # the accurate preset's blocks, shown after the ReLU
    assert len([m for m in at.markdown if str(m.value).startswith("##### conv_")]) >= 2
    _open(at, "Convolution arithmetic")
    assert "batch normalisation scales and shifts" in _markdown(at)
    assert at.success, "the hand-computed value must equal the feature map's value"


def test_sequential_cnn():
    at = _app(_sequential_cnn(), name="seq", current=_digit())
    for tab in TABS:
        _open(at, tab)
    _open(at, "Feature maps")
    text = _markdown(at)
    assert "##### conv_a" in text and "##### pool_a" in text and "##### conv_b" in text
    _open(at, "Convolution arithmetic")
    assert "add the bias" in _markdown(at)
    assert at.success and not at.warning
    _open(at, "Final layers")
    assert "##### hidden" in _markdown(at)


def test_functional_cnn_with_batch_norm_and_5x5_first_layer():
    at = _app(_functional_cnn(), name="fast cnn", current=_digit())
    for tab in TABS:
        _open(at, tab)
    _open(at, "Convolution arithmetic")
    text = _markdown(at)
    assert "5×5" in text and "add up the 25 products" in text
    assert "batch normalisation scales and shifts" in text
    assert at.success and not at.warning, _texts(at.warning)
    # Another position and map: the replay still matches Keras.
    _widget(at.slider, state.VIS_CA_ROW).set_value(0)
    _open(at, "Convolution arithmetic")  # AppTest does not keep a tab open by itself
    assert _widget(at.slider, state.VIS_CA_ROW).value == 0
    assert at.success and not at.warning, (_texts(at.warning), _markdown(at))


def test_mlp_says_it_has_no_conv_layers_and_shows_what_applies():
    at = _app(_mlp(), name="mlp", current=_digit())
    for tab in ("Filters", "Feature maps", "Convolution arithmetic"):
        _open(at, tab)
        assert "no convolutional layers" in _texts(at.info)
    _open(at, "Network flow")
    assert not at.info
    _open(at, "Where it looks")
    assert "Grad-CAM needs a convolutional layer" in _texts(at.caption)
    _open(at, "Final layers")
    text = _markdown(at)
    assert "##### dense_1" in text and "##### dense_2" in text


def test_26_class_model_uses_the_card_class_names():
    at = _app(_letters_cnn(), name="letters", card={"class_names": list(LETTERS), "dataset": "emnist-letters"},
              current=_digit())
    for tab in TABS:
        _open(at, tab)
    _open(at, "Where it looks")
    why_not = _widget(at.selectbox, state.VIS_WHY_NOT)
    assert len(why_not.options) == 26
    assert why_not.options[0].startswith("a (")
    assert at.metric[0].value in LETTERS


def test_without_a_drawing_it_shows_a_test_image(data_file):
    data_file("mnist.npz")
    at = _app()
    at.run()
    assert not at.exception
    assert not at.radio  # nothing to choose between: no drawing yet
    assert "No digit drawn or uploaded yet" in _texts(at.caption)
    at.number_input(key=state.VIS_TEST_INDEX).set_value(5).run()
    assert not at.exception
    assert "Test image #5" in _texts(at.caption)


def test_without_data_or_drawing_it_falls_back_to_a_typed_digit(monkeypatch):
    monkeypatch.setattr(ui.inputs, "test_dataset_name", lambda card=None: None)
    at = _app()
    at.run()
    assert not at.exception
    assert "typed 7" in _texts(at.caption)
    _open(at, "Feature maps")


def test_offline_without_mnist_on_disk_it_says_why_and_shows_a_typed_digit(monkeypatch, tmp_path):
    """A teacher's laptop offline, no HDR_DATA_DIR: MNIST counts as downloadable, the download fails."""
    from hdr_core import data

    monkeypatch.delenv("HDR_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline() -> None:
        raise OSError("Name or service not known")

    monkeypatch.setattr(data, "_download_mnist", offline)
    ui.test_images.clear()
    try:
        at = _app()
        at.run()
        assert not at.exception
        captions = _texts(at.caption)
        assert "The test images could not be read" in captions and "showing a typed 7" in captions
        assert "here is a test image" not in captions
        why = next(c for c in at.caption if "could not be read" in c.value).help
        assert "Dataset 'mnist' not found" in why and "Name or service not known" in why
        _open(at, "Feature maps")
    finally:
        ui.test_images.clear()  # later tests read MNIST from HDR_DATA_DIR again


def test_a_new_drawing_switches_back_to_the_current_digit(data_file):
    data_file("mnist.npz")
    at = _app(current=_digit())
    at.run()
    at.radio(key=state.VIS_SOURCE).set_value("test").run()
    assert "Test image" in _texts(at.caption)
    moved = np.roll(_digit(), 2, axis=1)
    at.session_state[state.CURRENT_INPUT] = state.CurrentInput(model_input=moved, source="draw", title="Your drawing")
    at.run()
    assert not at.exception
    assert at.radio(key=state.VIS_SOURCE).value == "current"


# --------------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------------


def test_stages_group_conv_batch_norm_relu_and_skip_dropout():
    view = visualize.describe_model(build_model("accurate", seed=0))
    conv_stages = [s for s in view.stages if s.role == "conv"]
    assert [s.conv for s in conv_stages] == [f"conv_{i}" for i in range(1, 8)]
    first = conv_stages[0]
    assert first.name == "conv_1_relu" and first.layers == ("conv_1", "conv_1_bn", "conv_1_relu")
    assert first.label == "conv_1 → batch norm → ReLU" and first.shape == (26, 26, 32)
    assert not any(s.name.startswith("dropout") for s in view.stages)
    assert view.output_stage.name == "probabilities"
    assert [s.name for s in view.vector_stages] == ["flatten"]
    assert view.grad_cam_default() == "conv_4_relu"  # the last with maps >= 10x10: conv_5 is 8x8
    assert view.params == build_model("accurate").count_params()


def test_stages_of_a_sequential_model_and_an_mlp():
    view = visualize.describe_model(_sequential_cnn())
    assert [(s.name, s.role) for s in view.stages] == [
        ("conv_a", "conv"), ("pool_a", "pool"), ("conv_b", "conv"), ("hidden", "vector"), ("out", "output")
    ]  # the flatten (13*13*8 = 1352 numbers) is too long to draw, so it is left out
    assert view.stages[0].label == "conv_a → ReLU"
    mlp = visualize.describe_model(_mlp())
    assert mlp.conv_layers == () and mlp.grad_cam_default() is None
    assert [s.name for s in mlp.vector_stages] == ["dense_1", "dense_2"]  # the 784-pixel flatten is skipped


@pytest.mark.parametrize("builder", [_functional_cnn, _sequential_cnn])
def test_conv_chain_reaches_the_feature_map_value(builder):
    model = builder()
    image = _digit()
    view = visualize.describe_model(model)
    stage = view.stage_of(view.conv_layers[0])
    maps = visualize.activations(model, image)[stage.name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        row, col, channel = (int(rng.integers(n)) for n in maps.shape)
        step = visualize.conv_arithmetic(model, image, layer=view.conv_layers[0], row=row, col=col, channel=channel)
        chain = visualize.conv_chain(model, step, stage)
        assert chain, "bias, batch norm or ReLU must follow the sum"
        np.testing.assert_allclose(chain[-1].value, maps[row, col, channel], rtol=1e-4, atol=1e-5)


def test_tile_maps_lays_maps_out_row_by_row_with_gaps():
    maps = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    tiled, index = visualize.tile_maps(maps, columns=2, gap=1)
    assert tiled.shape == (3 * 3 - 1, 2 * 4 - 1)
    np.testing.assert_array_equal(tiled[0:2, 0:3], maps[..., 0])
    np.testing.assert_array_equal(tiled[3:5, 4:7], maps[..., 3])
    np.testing.assert_array_equal(tiled[6:8, 0:3], maps[..., 4])
    assert np.isnan(tiled[2]).all() and np.isnan(tiled[:, 3]).all() and np.isnan(tiled[6:8, 4:7]).all()
    assert index[0, 0] == 0 and index[3, 4] == 3 and index[2, 0] == -1
    scaled, _ = visualize.tile_maps(maps, columns=2, per_map=True)
    assert np.nanmax(scaled) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        visualize.tile_maps(np.zeros((3, 3)))


@pytest.mark.parametrize("builder", [_sequential_cnn, _mlp, _functional_cnn])
def test_output_contributions_add_up_to_the_class_score(builder):
    model = builder()
    image = _digit()
    acts = visualize.activations(model, image)
    probabilities = acts[model.layers[-1].name]
    scores = []
    for k in range(probabilities.size):
        values, bias, source = visualize.output_contributions(model, acts, k)
        scores.append(values.sum() + bias)
    softmax = np.exp(np.array(scores) - max(scores))
    np.testing.assert_allclose(softmax / softmax.sum(), probabilities, rtol=1e-4, atol=1e-6)
    assert source in acts


def test_products_sum_text_writes_the_sum_out():
    assert visualize.products_sum_text(np.array([0.0, 0.112, -0.01, 0.05])) == "0.000 + 0.112 − 0.010 + 0.050 = 0.152"
    long = visualize.products_sum_text(np.ones(30), max_terms=4)
    assert "(26 more)" in long and long.endswith("= 30.000")


def test_figures_build_for_every_shape():
    kernels = np.random.default_rng(0).normal(size=(5, 5, 1, 24)).astype(np.float32)
    assert ui.filters_figure(kernels).data[0].zmid == 0
    deep = ui.filters_figure(np.ones((3, 3, 40, 70), np.float32))
    assert deep.data[0].z.shape == (64 * 4 - 1, 32 * 4 - 1)  # at most 64 filters x 32 input maps
    assert ui.feature_maps_figure(np.ones((1, 1, 128), np.float32)).data[0].z.shape == (8, 16)
    assert ui.overlay_figure(_digit(), np.zeros((28, 28))).data[1].zmax == 1
