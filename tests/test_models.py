"""The architecture zoo: every preset builds with the documented input, output and layer names."""

import numpy as np
import pytest

from hdr_core.models import PRESETS, ArchSpec, arch_from_json, arch_to_json, build_model, count_params

REFERENCE_SHAPES = {
    # preset -> the layer types the reference project used, in order (Dense/Conv2D only)
    "tk-mlp": ["Dense", "Dense", "Dense"],
    "emnist-cnn": ["Conv2D", "Conv2D", "Dense", "Dense"],
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
    found = [type(layer).__name__ for layer in model.layers if type(layer).__name__ in ("Dense", "Conv2D")]
    assert found == kinds


def test_reference_filter_counts():
    emnist = build_model("emnist-cnn")
    assert [l.filters for l in emnist.layers if type(l).__name__ == "Conv2D"] == [32, 64]
    assert [l.units for l in emnist.layers if type(l).__name__ == "Dense"] == [128, 10]
    notebook = build_model("notebook-cnn")
    assert [l.filters for l in notebook.layers if type(l).__name__ == "Conv2D"] == [32, 64, 64]
    blog = build_model("blog-cnn")
    assert [l.units for l in blog.layers if type(l).__name__ == "Dense"] == [64, 32, 10]


def test_blog_l2_variant_penalises_only_the_first_convolution():
    model = build_model("blog-cnn-l2")
    convs = [l for l in model.layers if type(l).__name__ == "Conv2D"]
    assert convs[0].kernel_regularizer is not None
    assert float(convs[0].kernel_regularizer.l2) == pytest.approx(0.01)
    assert all(c.kernel_regularizer is None for c in convs[1:])


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
