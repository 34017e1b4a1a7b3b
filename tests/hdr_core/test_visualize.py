"""Tests for hdr_core.visualize on tiny models with known weights (no training)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from hdr_core import visualize  # noqa: E402
from hdr_core.errors import HdrError  # noqa: E402

SOBEL = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], np.float32)
LAPLACE = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
BIASES = np.array([0.1, -0.05], np.float32)


def _image() -> np.ndarray:
    """A (28, 28) float32 '7'-like stroke plus a little noise, values in [0, 1]."""
    rng = np.random.default_rng(7)
    image = rng.uniform(0.0, 0.1, (28, 28)).astype(np.float32)
    image[6:9, 6:22] = 1.0  # top bar
    for r in range(9, 23):  # diagonal
        c = 21 - (r - 9) // 2
        image[r, c - 1 : c + 2] = 0.9
    image[0, 0] = image[27, 27] = 0.8  # ink in the corners exercises the padding
    return image


def _kernel() -> np.ndarray:
    return np.stack([SOBEL, LAPLACE], axis=-1)[:, :, None, :]  # (3, 3, 1, 2)


def _set_known_weights(model: keras.Model, conv_name: str = "conv") -> None:
    model.get_layer(conv_name).set_weights([_kernel(), BIASES])
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.normal(0, 0.1, kernel.shape).astype(np.float32), np.zeros_like(bias)])


def _functional(padding: str = "valid", strides: int = 1) -> keras.Model:
    inputs = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(2, 3, padding=padding, strides=strides, activation="relu", name="conv")(inputs)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(10, activation="softmax", name="out")(x)
    model = keras.Model(inputs, outputs, name="tiny_functional")
    _set_known_weights(model)
    return model


def _sequential(padding: str = "same", strides: int = 2) -> keras.Model:
    stack = [
        layers.Conv2D(2, 3, padding=padding, strides=strides, activation="relu", name="conv"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="out"),
    ]
    model = keras.Sequential([keras.Input((28, 28, 1)), *stack], name="tiny_sequential")
    _set_known_weights(model)
    return model


def _mlp() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Flatten(),
            layers.Dense(8, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mlp",
    )


@pytest.fixture(scope="module")
def functional_model() -> keras.Model:
    return _functional()


@pytest.fixture(scope="module")
def sequential_model() -> keras.Model:
    return _sequential()


@pytest.fixture(scope="module")
def mlp_model() -> keras.Model:
    return _mlp()


def manual_conv(image: np.ndarray, kernel: np.ndarray, bias: float, *, padding: str, stride: int) -> np.ndarray:
    """Plain-loop 2-D cross-correlation as TensorFlow defines it, followed by ReLU."""
    k = kernel.shape[0]
    size = image.shape[0]
    if padding == "same":
        out = -(-size // stride)
        pad_total = max((out - 1) * stride + k - size, 0)
        before = pad_total // 2
        padded = np.zeros((size + pad_total, size + pad_total), np.float64)
        padded[before : before + size, before : before + size] = image
    else:
        out = (size - k) // stride + 1
        padded = image.astype(np.float64)
    result = np.zeros((out, out), np.float64)
    for r in range(out):
        for c in range(out):
            acc = 0.0
            for i in range(k):
                for j in range(k):
                    acc += padded[r * stride + i, c * stride + j] * kernel[i, j]
            result[r, c] = max(acc + bias, 0.0)
    return result


CONV_CASES = pytest.mark.parametrize(
    ("builder", "padding", "stride"),
    [(_functional, "valid", 1), (_sequential, "same", 2)],
    ids=["functional-valid", "sequential-same-s2"],
)


# --- feature maps and conv arithmetic --------------------------------------------------------------


@CONV_CASES
def test_feature_maps_match_manual_convolution(builder, padding, stride):
    model = builder(padding=padding, strides=stride)
    image = _image()
    maps = visualize.activations(model, image, ["conv"])
    assert list(maps) == ["conv"]
    expected_size = 26 if padding == "valid" else 14
    assert maps["conv"].shape == (expected_size, expected_size, 2)
    assert maps["conv"].dtype == np.float32
    for channel, kernel in enumerate((SOBEL, LAPLACE)):
        expected = manual_conv(image, kernel, float(BIASES[channel]), padding=padding, stride=stride)
        np.testing.assert_allclose(maps["conv"][..., channel], expected, atol=1e-5)


@CONV_CASES
def test_conv_arithmetic_equals_keras_activation(builder, padding, stride):
    model = builder(padding=padding, strides=stride)
    image = _image()
    conv_map = visualize.activations(model, image, ["conv"])["conv"]
    last = conv_map.shape[0] - 1
    for row, col, channel in [(0, 0, 0), (0, 0, 1), (3, 5, 0), (last, last, 1), (last, 0, 0), (7, last, 1)]:
        step = visualize.conv_arithmetic(model, image, layer="conv", row=row, col=col, channel=channel)
        assert step.patch.shape == step.kernel.shape == step.products.shape == (3, 3, 1)
        np.testing.assert_array_equal(step.kernel[..., 0], (SOBEL, LAPLACE)[channel])
        np.testing.assert_allclose(step.products, step.patch * step.kernel, rtol=0, atol=0)
        assert step.total == pytest.approx(float(step.products.sum()), abs=1e-6)
        assert step.bias == pytest.approx(float(BIASES[channel]))
        assert step.pre_activation == pytest.approx(step.total + step.bias)
        assert step.activation == "relu"
        assert step.output == pytest.approx(max(step.total + step.bias, 0.0), abs=1e-5)
        assert step.output == pytest.approx(float(conv_map[row, col, channel]), abs=1e-6)
        top, left = step.origin
        assert (top, left) == (row * stride, col * stride)
        # the patch is the image window (zeros where it hangs over the border)
        for i in range(3):
            for j in range(3):
                r, c = top + i, left + j
                inside = 0 <= r < 28 and 0 <= c < 28
                assert step.padded[i, j] == (not inside)
                assert step.patch[i, j, 0] == (image[r, c] if inside else 0.0)


def test_conv_arithmetic_same_padding_centres_the_kernel():
    model = _sequential(padding="same", strides=1)
    step = visualize.conv_arithmetic(model, _image(), layer="conv", row=0, col=0, channel=0)
    assert step.origin == (-1, -1)
    assert step.padded[0].all() and step.padded[:, 0].all() and not step.padded[1:, 1:].any()


def test_conv_arithmetic_for_a_deeper_conv_layer_with_dilation():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(3, 3, activation="relu", name="c1")(inputs)
    x = layers.Conv2D(4, 3, padding="same", dilation_rate=2, activation="tanh", name="c2")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    image = _image()
    c2 = visualize.activations(model, image, ["c2"])["c2"]
    for row, col, channel in [(0, 0, 0), (12, 25, 3), (25, 25, 2)]:
        step = visualize.conv_arithmetic(model, image, layer="c2", row=row, col=col, channel=channel)
        assert step.patch.shape == (3, 3, 3)
        assert step.activation == "tanh"
        assert step.output == pytest.approx(float(np.tanh(step.total + step.bias)), abs=1e-5)
        assert step.output == pytest.approx(float(c2[row, col, channel]), abs=1e-6)


def test_conv_arithmetic_rejects_bad_positions_and_layers(functional_model):
    image = _image()
    with pytest.raises(ValueError, match=r"row must be an integer in \[0, 25\].*26"):
        visualize.conv_arithmetic(functional_model, image, layer="conv", row=26, col=0, channel=0)
    with pytest.raises(ValueError, match="channel"):
        visualize.conv_arithmetic(functional_model, image, layer="conv", row=0, col=0, channel=2)
    with pytest.raises(ValueError, match="not a Conv2D layer"):
        visualize.conv_arithmetic(functional_model, image, layer="out", row=0, col=0, channel=0)


# --- structure and weights --------------------------------------------------------------------------


def test_conv_filters_shape_values_and_copy(functional_model):
    kernels = visualize.conv_filters(functional_model, "conv")
    assert kernels.shape == (3, 3, 1, 2) and kernels.dtype == np.float32
    np.testing.assert_array_equal(kernels, _kernel())
    kernels[...] = 0  # a copy: the model keeps its weights
    np.testing.assert_array_equal(functional_model.get_layer("conv").get_weights()[0], _kernel())


def test_conv_filters_rejects_unknown_and_dense_layers(functional_model):
    with pytest.raises(ValueError, match=r"no layer 'nope'.*'conv'"):
        visualize.conv_filters(functional_model, "nope")
    with pytest.raises(ValueError, match="Dense layer, not a Conv2D layer"):
        visualize.conv_filters(functional_model, "out")


def test_layer_table_functional(functional_model):
    table = visualize.layer_table(functional_model)
    assert [row.name for row in table] == ["conv", "pool", "flatten", "out"]
    assert [row.kind for row in table] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert table[0].output_shape == (None, 26, 26, 2)
    assert table[0].params == 3 * 3 * 2 + 2
    assert table[0].activation == "relu" and table[-1].activation == "softmax"
    assert table[-1].output_shape == (None, 10)
    assert sum(row.params for row in table) == functional_model.count_params()


def test_layer_table_sequential_and_mlp(sequential_model, mlp_model):
    for model in (sequential_model, mlp_model):
        table = visualize.layer_table(model)
        assert all(row.kind != "InputLayer" for row in table)
        assert all(isinstance(row.params, int) for row in table)
        assert sum(row.params for row in table) == model.count_params()
    assert visualize.layer_table(sequential_model)[0].output_shape == (None, 14, 14, 2)


def test_conv_layer_names(functional_model, sequential_model, mlp_model):
    assert visualize.conv_layer_names(functional_model) == ["conv"]
    assert visualize.conv_layer_names(sequential_model) == ["conv"]
    assert visualize.conv_layer_names(mlp_model) == []


def test_unbuilt_sequential_model_is_handled():
    model = keras.Sequential(
        [layers.Conv2D(2, 3, activation="relu", name="conv"), layers.Flatten(), layers.Dense(10, activation="softmax")]
    )
    maps = visualize.activations(model, _image())
    assert maps["conv"].shape == (26, 26, 2)
    assert list(maps)[-1] == model.layers[-1].name and maps[model.layers[-1].name].shape == (10,)
    assert visualize.layer_table(model)[0].output_shape == (None, 26, 26, 2)


# --- activations --------------------------------------------------------------------------------------


def test_activations_default_is_every_layer(functional_model):
    maps = visualize.activations(functional_model, _image())
    assert list(maps) == ["conv", "pool", "flatten", "out"]
    assert maps["pool"].shape == (13, 13, 2)
    assert maps["flatten"].shape == (338,)
    assert maps["out"].shape == (10,)
    assert maps["out"].sum() == pytest.approx(1.0, abs=1e-5)
    expected = functional_model.predict(_image()[None, ..., None], verbose=0)[0]
    np.testing.assert_allclose(maps["out"], expected, atol=1e-6)


def test_activations_accept_uint8_and_28x28x1_and_do_not_mutate(functional_model):
    image = _image()
    before = image.copy()
    a = visualize.activations(functional_model, image, ["conv"])["conv"]
    b = visualize.activations(functional_model, image[..., None], ["conv"])["conv"]
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(image, before)
    as_uint8 = np.round(image * 255).astype(np.uint8)
    c = visualize.activations(functional_model, as_uint8, ["conv"])["conv"]
    np.testing.assert_allclose(c, a, atol=0.05)


@pytest.mark.parametrize("shape", [(28, 28, 3), (32, 32), (1, 28, 28, 1)])
def test_activations_reject_bad_image_shapes(functional_model, shape):
    with pytest.raises(ValueError, match=r"shape \(28, 28\)"):
        visualize.activations(functional_model, np.zeros(shape, np.float32))


def test_activations_reject_a_string_for_layers(functional_model):
    with pytest.raises(ValueError, match="list of layer names"):
        visualize.activations(functional_model, _image(), "conv")


# --- saliency and Grad-CAM ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["functional", "sequential", "mlp"])
def test_saliency_shape_range_finite(name, functional_model, sequential_model, mlp_model):
    model = {"functional": functional_model, "sequential": sequential_model, "mlp": mlp_model}[name]
    heat = visualize.saliency(model, _image(), 3)
    assert heat.shape == (28, 28) and heat.dtype == np.float32
    assert np.isfinite(heat).all()
    assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)


def test_saliency_of_a_linear_softmax_model_is_its_weights():
    """The score differentiated is the pre-softmax logit: its gradient is exactly the weight column."""
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(1)
    weights = rng.normal(0, 1, (784, 3)).astype(np.float32)
    model.layers[-1].set_weights([weights, np.zeros(3, np.float32)])
    heat = visualize.saliency(model, _image(), 2)
    expected = np.abs(weights[:, 2]).reshape(28, 28)
    np.testing.assert_allclose(heat, expected / expected.max(), atol=1e-6)


@pytest.mark.parametrize("name", ["functional", "sequential"])
def test_grad_cam_shape_range_finite(name, functional_model, sequential_model):
    model = {"functional": functional_model, "sequential": sequential_model}[name]
    for class_index in (0, 9):
        heat = visualize.grad_cam(model, _image(), class_index)
        assert heat.shape == (28, 28) and heat.dtype == np.float32
        assert np.isfinite(heat).all()
        assert heat.min() >= 0.0 and heat.max() <= 1.0
    np.testing.assert_array_equal(
        visualize.grad_cam(model, _image(), 4), visualize.grad_cam(model, _image(), 4, layer="conv")
    )


@pytest.mark.parametrize("sequential", [False, True])
def test_grad_cam_lays_a_strided_valid_conv_map_over_the_ink_it_read(sequential):
    # One 5 x 5 all-ones filter, stride 2, no padding: a 12 x 12 map whose unit j reads pixels 2j..2j+4,
    # so it is centred on pixel 2j + 2 and covers only pixels 2..24 of the image. A 4 x 4 blob at
    # pixels 20..23 fills most the window of unit 10 (centred on pixel 22). Stretching the map over the
    # whole frame would paint that unit at pixel 24, beside the blob.
    conv = layers.Conv2D(1, 5, strides=2, padding="valid", activation="relu", name="conv")
    stack = [conv, layers.GlobalAveragePooling2D(name="gap"), layers.Dense(2, activation="softmax", name="out")]
    if sequential:
        model = keras.Sequential([keras.Input((28, 28, 1)), *stack])
    else:
        inputs = keras.Input((28, 28, 1), name="image")
        x = inputs
        for layer in stack:
            x = layer(x)
        model = keras.Model(inputs, x)
    conv.set_weights([np.ones((5, 5, 1, 1), np.float32), np.zeros(1, np.float32)])
    model.get_layer("out").set_weights([np.array([[1.0, -1.0]], np.float32), np.zeros(2, np.float32)])
    image = np.zeros((28, 28), np.float32)
    image[20:24, 20:24] = 1.0

    heat = visualize.grad_cam(model, image, 0, layer="conv")
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    assert peak == (22, 22) and heat[22, 22] == pytest.approx(1.0)
    assert heat[:12, :12].max() == 0.0  # no unit there saw any ink
    assert heat[26:, :].max() == 0.0 and heat[:, 26:].max() == 0.0  # beyond the last unit's centre, by 2 px


def test_grad_cam_without_conv_layers_says_so(mlp_model):
    with pytest.raises(ValueError, match="needs a convolutional layer.*has none") as info:
        visualize.grad_cam(mlp_model, _image(), 0)
    assert isinstance(info.value, HdrError)  # the page can show it as it shows other model problems


def test_grad_cam_rejects_flat_layers_and_bad_class(functional_model):
    with pytest.raises(ValueError, match=r"\(H, W, C\) feature maps"):
        visualize.grad_cam(functional_model, _image(), 0, layer="flatten")
    with pytest.raises(ValueError, match=r"class_index must be an integer in \[0, 9\], got 10"):
        visualize.grad_cam(functional_model, _image(), 10)
    with pytest.raises(ValueError, match="class_index"):
        visualize.saliency(functional_model, _image(), -1)


def test_functions_leave_the_model_unchanged(functional_model):
    weights = [w.copy() for w in functional_model.get_weights()]
    visualize.saliency(functional_model, _image(), 1)
    visualize.grad_cam(functional_model, _image(), 1)
    visualize.conv_arithmetic(functional_model, _image(), layer="conv", row=1, col=1, channel=0)
    for before, after in zip(weights, functional_model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert functional_model.layers[-1].activation.__name__ == "softmax"
