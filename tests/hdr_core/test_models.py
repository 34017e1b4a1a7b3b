"""The architecture zoo: every preset builds with the documented input, output and layer names."""

import numpy as np
import pytest

from hdr_core.models import (
    EXPERIMENT_CASES,
    EXPERIMENT_REPORTED,
    PRESETS,
    ArchSpec,
    arch_from_json,
    arch_to_json,
    build_model,
    count_params,
    reported_mnist_accuracy,
)
from hdr_core.train import TrainConfig

# The parameter counts the reference projects' own model summaries print (the experiments' 4-dense network:
# the blog CNN with dense 128 -> 64 -> 32).
REFERENCE_PARAMS = {
    "emnist-cnn": 225_034,
    "tk-mlp": 118_282,
    "notebook-cnn": 93_322,
    "blog-cnn": 81_066,
    "blog-cnn-4dense": 93_482,
}

REFERENCE_SHAPES = {
    # preset -> the layer types the reference project used, in order (Dense/Conv2D only)
    "tk-mlp": ["Dense", "Dense", "Dense"],
    "emnist-cnn": ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Dropout", "Dense", "Dropout", "Dense"],
    "notebook-cnn": ["Conv2D", "Conv2D", "Conv2D", "Dense", "Dense"],
    "blog-cnn": ["Conv2D", "Conv2D", "Conv2D", "Dense", "Dense", "Dense"],
    "blog-cnn-4dense": ["Conv2D", "Conv2D", "Conv2D", "Dense", "Dense", "Dense", "Dense"],
}


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("n_classes", [10, 26])
def test_every_preset_builds_with_28x28_input_and_softmax_output(name, n_classes):
    model = build_model(name, n_classes=n_classes, seed=0)
    assert tuple(model.input.shape) == (None, 28, 28, 1)
    assert model.input.name.startswith("image")
    x = np.zeros((2, 28, 28, 1), np.float32)
    x[:, 8:20, 12:16] = 1.0
    probs = np.asarray(model(x, training=False))
    assert probs.shape == (2, n_classes)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert model.layers[-1].name == "probabilities"


@pytest.mark.parametrize("name, kinds", REFERENCE_SHAPES.items())
def test_reference_presets_keep_the_reference_layer_sequence(name, kinds):
    model = build_model(name)
    shown = {"Dense", "Conv2D"} | ({"MaxPooling2D", "Dropout"} if "Dropout" in kinds else set())
    found = [type(layer).__name__ for layer in model.layers if type(layer).__name__ in shown]
    assert found == kinds


@pytest.mark.parametrize("name, params", REFERENCE_PARAMS.items())
def test_reference_presets_have_the_references_parameter_count(name, params):
    assert count_params(build_model(name)) == params


@pytest.mark.parametrize("name", ["blog-cnn-l2", "blog-cnn-rot", "blog-cnn-4dense-l2-rot"])
def test_experiment_cases_share_their_networks_parameter_count(name):
    base = "blog-cnn-4dense" if "4dense" in name else "blog-cnn"
    assert count_params(build_model(name)) == REFERENCE_PARAMS[base]


def test_blog_cnn_convolutions_have_no_padding():
    convs = [layer for layer in build_model("blog-cnn").layers if type(layer).__name__ == "Conv2D"]
    shapes = [tuple(layer.output.shape[1:3]) for layer in convs]
    assert shapes == [(26, 26), (11, 11), (3, 3)]


@pytest.mark.parametrize("name", ["tk-mlp", "blog-cnn", "blog-cnn-4dense-l2-rot"])
def test_tk_and_blog_models_scale_columns_as_keras_normalize_axis_1(name):
    """The references feed ``tf.keras.utils.normalize(x, axis=1)``; the layer inside the model does the same."""
    import keras

    model = build_model(name)
    layer = model.get_layer("unit_columns")
    x = np.random.default_rng(0).random((3, 28, 28), np.float32)
    x[:, :, :5] = 0  # empty columns stay empty (normalize leaves a zero norm alone)
    expected = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    np.testing.assert_allclose(np.asarray(layer(x[..., None]))[..., 0], expected, rtol=1e-5, atol=1e-6)
    assert isinstance(layer, keras.layers.UnitNormalization)


def test_every_experiment_case_is_a_preset_with_the_experiments_recipe():
    assert len(EXPERIMENT_CASES) == 8 and all(name in PRESETS for name in EXPERIMENT_CASES)
    assert set(EXPERIMENT_REPORTED) == set(EXPERIMENT_CASES)
    for name in EXPERIMENT_CASES[1:]:
        config = TrainConfig.from_preset(name)
        assert (config.epochs, config.optimizer, config.keep_best) == (20, "adam", False)
        assert config.rotation == (10.0 if name.endswith("-rot") else 0.0)


def test_reference_recipes_are_the_documents():
    tk = TrainConfig.from_preset("tk-mlp")
    assert (tk.epochs, tk.batch_size, tk.keep_best) == (10, 128, False)
    emnist = TrainConfig.from_preset("emnist-cnn")
    assert (emnist.epochs, emnist.early_stopping_patience, emnist.keep_best) == (20, 3, False)
    blog = TrainConfig.from_preset("blog-cnn")
    assert (blog.epochs, blog.validation_fraction, blog.optimizer) == (5, 0.3, "adam")
    assert PRESETS["emnist-cnn"].reported.startswith("99.4%")


def test_reference_filter_counts():
    emnist = build_model("emnist-cnn")
    assert [l.filters for l in emnist.layers if type(l).__name__ == "Conv2D"] == [32, 64]
    assert [l.units for l in emnist.layers if type(l).__name__ == "Dense"] == [128, 10]
    notebook = build_model("notebook-cnn")
    assert [l.filters for l in notebook.layers if type(l).__name__ == "Conv2D"] == [32, 64, 64]
    blog = build_model("blog-cnn")
    assert [l.units for l in blog.layers if type(l).__name__ == "Dense"] == [64, 32, 10]


def test_blog_l2_variant_penalises_only_the_first_convolution_kernel_and_bias():
    model = build_model("blog-cnn-l2")
    convs = [l for l in model.layers if type(l).__name__ == "Conv2D"]
    assert float(convs[0].kernel_regularizer.l2) == pytest.approx(0.01)
    assert float(convs[0].bias_regularizer.l2) == pytest.approx(0.01)
    assert all(c.kernel_regularizer is None and c.bias_regularizer is None for c in convs[1:])


def test_seed_makes_weights_reproducible():
    a = build_model("fast", seed=3).get_weights()
    b = build_model("fast", seed=3).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_our_models_are_small_enough_to_ship():
    assert count_params(build_model("fast")) < 500_000
    assert count_params(build_model("accurate")) < 1_000_000


@pytest.mark.parametrize("spec", [ArchSpec(), ArchSpec(conv_blocks=0, dense_units=64),
                                  ArchSpec(conv_blocks=3, filters=8, batch_norm=True, l2=1e-4, dropout=0.0)])
def test_custom_spec_builds_and_round_trips_through_json(spec):
    model = build_model(spec, n_classes=47)
    assert model.output.shape[-1] == 47
    assert sum(type(l).__name__ == "Conv2D" for l in model.layers) == spec.conv_blocks
    assert arch_from_json(arch_to_json(spec)) == spec


@pytest.mark.parametrize("kwargs, match", [
    (dict(conv_blocks=4), "conv_blocks"), (dict(dropout=1.0), "dropout"), (dict(l2=-1), "l2"),
    (dict(filters=0), "filters")])
def test_bad_specs_name_the_bad_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ArchSpec(**kwargs)


def test_unknown_preset_lists_the_choices():
    with pytest.raises(ValueError, match="emnist-cnn"):
        build_model("resnet")
    with pytest.raises(ValueError, match="n_classes"):
        build_model("fast", n_classes=1)


def test_a_reported_figure_is_read_as_mnist_accuracy_only_when_it_is_one():
    assert reported_mnist_accuracy("98.61%") == pytest.approx(0.9861)
    assert reported_mnist_accuracy(PRESETS["emnist-cnn"].reported) is None  # EMNIST Digits: another test set
    assert reported_mnist_accuracy(None) is None and reported_mnist_accuracy("about right") is None
