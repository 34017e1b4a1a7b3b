"""Tests for hdr_core.inference: loading and checking models, model cards, fast prediction."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from hdr_core import inference
from hdr_core.constants import DEFAULT_MODEL_NAME, MODELS_DIR_ENV
from hdr_core.errors import HdrError, ModelError

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

LETTERS = tuple("abcdefghij")


def _cnn(n_classes: int = 10, *, softmax: bool = True, input_shape=(28, 28, 1), seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape, name="image")
    x = layers.Reshape((28, 28, 1))(inputs) if input_shape == (28, 28) else inputs
    x = layers.Conv2D(4, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)  # must be inactive at inference
    outputs = layers.Dense(n_classes, activation="softmax" if softmax else None)(x)
    return keras.Model(inputs, outputs)


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28)).astype(np.float32)


def _save(model: keras.Model, path: Path, card: dict | None = None) -> Path:
    model.save(path)
    if card is not None:
        path.with_suffix(".json").write_text(json.dumps(card))
    return path


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    model = _cnn()
    return _save(model, folder / "tiny.keras", {"name": "tiny", "file": "tiny.keras", "class_names": list(LETTERS)})


@pytest.fixture(scope="module")
def predictor(saved) -> inference.Predictor:
    return inference.Predictor.from_path(saved)


# --- import cost --------------------------------------------------------------------------------------


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, hdr_core.inference as i; i.models_dir(); i.shipped_models(); "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.strip() == "[]"


# --- loading ------------------------------------------------------------------------------------------


def test_load_model_round_trip(saved):
    model = inference.load_model(saved)
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert inference.check_model(model) == 10


def test_load_model_accepts_28x28_input(tmp_path):
    path = _save(_cnn(input_shape=(28, 28)), tmp_path / "flat_input.keras")
    predictor = inference.Predictor.from_path(path)
    model = predictor.model
    images = _images(3)
    np.testing.assert_allclose(predictor.predict_proba(images), model.predict(images, verbose=0), atol=1e-5)
    assert predictor.predict(images[0]).probabilities.shape == (10,)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found.*nothere.keras"):
        inference.load_model(tmp_path / "nothere.keras")


def test_folder_is_refused(tmp_path):
    with pytest.raises(ModelError, match="folder"):
        inference.load_model(tmp_path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"this is not a model\n", "not a Keras model.*zip"),
        (b"%PDF-1.7\n...", "not a Keras model"),
    ],
    ids=["empty", "text", "pdf"],
)
def test_not_a_keras_zip(tmp_path, content, match):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=match):
        inference.load_model(path)


def test_truncated_file(tmp_path, saved):
    data = saved.read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged or truncated"):
        inference.load_model(path)


def test_zip_that_is_not_a_model(tmp_path):
    path = tmp_path / "archive.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelError, match="no config.json"):
        inference.load_model(path)


def test_zip_with_broken_config(tmp_path):
    path = tmp_path / "broken.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{not json")
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ModelError, match="config.json is not valid JSON"):
        inference.load_model(path)


def test_hdf5_file_is_refused(tmp_path):
    path = tmp_path / "legacy.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(ModelError, match=r"legacy HDF5.*model\.save\('model\.keras'\)"):
        inference.load_model(path)
    renamed = tmp_path / "legacy.keras"
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(ModelError, match="HDF5"):
        inference.load_model(renamed)


def test_keras_zip_with_another_suffix(tmp_path, saved):
    path = tmp_path / "model.zip"
    path.write_bytes(saved.read_bytes())
    with pytest.raises(ModelError, match=r"rename it to model\.keras"):
        inference.load_model(path)


def test_lambda_layer_refused_in_safe_mode(tmp_path):
    inputs = keras.Input((28, 28, 1))
    x = layers.Lambda(lambda t: t * 2.0)(inputs)
    x = layers.Flatten()(x)
    path = _save(keras.Model(inputs, layers.Dense(10, activation="softmax")(x)), tmp_path / "lambda.keras")
    with pytest.raises(ModelError, match=r"Python code \(a Lambda layer\).*not loaded for safety"):
        inference.load_model(path)
    model = inference.load_model(path, trusted=True)  # the caller vouches for the file
    assert model.output_shape == (None, 10)


def test_wrong_input_shape(tmp_path):
    inputs = keras.Input((32, 32, 3))
    x = layers.Flatten()(layers.Conv2D(2, 3)(inputs))
    path = _save(keras.Model(inputs, layers.Dense(10, activation="softmax")(x)), tmp_path / "cifar.keras")
    with pytest.raises(ModelError, match=r"\(32, 32, 3\).*28x28") as info:
        inference.load_model(path)
    assert isinstance(info.value, HdrError) and isinstance(info.value, ValueError)


def test_wrong_output_shape(tmp_path):
    inputs = keras.Input((28, 28, 1))
    path = _save(keras.Model(inputs, layers.Conv2D(4, 3)(inputs)), tmp_path / "segmenter.keras")
    with pytest.raises(ModelError, match=r"\(None, 26, 26, 4\).*\(None, n\)"):
        inference.load_model(path)


def test_single_output_is_refused(tmp_path):
    inputs = keras.Input((28, 28, 1))
    path = _save(keras.Model(inputs, layers.Dense(1)(layers.Flatten()(inputs))), tmp_path / "one.keras")
    with pytest.raises(ModelError, match=r"n >= 2"):
        inference.load_model(path)


# --- prediction -----------------------------------------------------------------------------------------


def test_predict_equals_model_predict(predictor):
    images = _images(5, seed=1)
    expected = predictor.model.predict(images[..., None], verbose=0)
    for image, row in zip(images, expected):
        prediction = predictor.predict(image)
        np.testing.assert_allclose(prediction.probabilities, row, atol=1e-5)
        assert prediction.probabilities.dtype == np.float32
        assert prediction.index == int(np.argmax(row))
        assert prediction.label == LETTERS[prediction.index]
        assert prediction.confidence == pytest.approx(float(row.max()), abs=1e-5)
        assert predictor.predict(image[..., None]).index == prediction.index  # (28, 28, 1) too


def test_prediction_is_read_only_and_input_unchanged(predictor):
    image = _images(1)[0]
    before = image.copy()
    prediction = predictor.predict(image)
    np.testing.assert_array_equal(image, before)
    with pytest.raises(ValueError):
        prediction.probabilities[0] = 1.0


def test_predict_uint8_is_scaled(predictor):
    image = _images(1)[0]
    as_uint8 = np.round(image * 255).astype(np.uint8)
    np.testing.assert_allclose(
        predictor.predict(as_uint8).probabilities,
        predictor.predict(as_uint8 / np.float32(255)).probabilities,
        atol=1e-6,
    )


@pytest.mark.parametrize("shape", [(28,), (28, 27), (28, 28, 3), (1, 28, 28), (32, 32)])
def test_predict_rejects_bad_shapes(predictor, shape):
    with pytest.raises(ValueError, match=rf"got {tuple(shape)!r}".replace("(", r"\(").replace(")", r"\)")):
        predictor.predict(np.zeros(shape, np.float32))


def test_predict_rejects_bad_values(predictor):
    with pytest.raises(ValueError, match=r"\[0, 1\].*255.*divide by 255"):
        predictor.predict(np.full((28, 28), 255.0, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        predictor.predict(np.full((28, 28), np.nan, np.float32))
    with pytest.raises(ValueError, match="dtype int64"):
        predictor.predict(np.zeros((28, 28), np.int64))


def test_top_k(predictor):
    prediction = predictor.predict(_images(1, seed=3)[0])
    top = prediction.top_k(3)
    assert len(top) == 3
    assert top[0] == (prediction.label, pytest.approx(prediction.confidence))
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert {label for label, _ in prediction.top_k(50)} == set(LETTERS)
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        prediction.top_k(0)


@pytest.mark.parametrize("n", [1, 7, 10])
def test_predict_proba_batches(predictor, n):
    images = _images(n, seed=2)
    expected = predictor.model.predict(images[..., None], verbose=0)
    for batch in (images, images[..., None]):
        probabilities = predictor.predict_proba(batch, batch_size=4)
        assert probabilities.shape == (n, 10) and probabilities.dtype == np.float32
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_predict_proba_empty_and_uint8(predictor):
    assert predictor.predict_proba(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)
    images = np.round(_images(3) * 255).astype(np.uint8)
    np.testing.assert_allclose(
        predictor.predict_proba(images), predictor.predict_proba(images.astype(np.float32) / 255), atol=1e-6
    )


@pytest.mark.parametrize("shape", [(28, 28), (2, 32, 32), (2, 28, 28, 3), (2, 1, 28, 28)])
def test_predict_proba_rejects_bad_shapes(predictor, shape):
    with pytest.raises(ValueError, match=r"\(N, 28, 28\).*got"):
        predictor.predict_proba(np.zeros(shape, np.float32))


def test_predict_proba_rejects_bad_batch_size(predictor):
    with pytest.raises(ValueError, match="batch_size"):
        predictor.predict_proba(_images(2), batch_size=0)


def test_logit_model_gets_softmax():
    model = _cnn(4, softmax=False, seed=5)
    predictor = inference.Predictor(model)
    images = _images(3)
    logits = model.predict(images[..., None], verbose=0)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(predictor.predict_proba(images), expected, atol=1e-5)
    np.testing.assert_allclose(predictor.predict(images[0]).probabilities, expected[0], atol=1e-5)
    assert predictor.class_names == ("0", "1", "2", "3")


def test_unbuilt_sequential_model():
    model = keras.Sequential([layers.Flatten(), layers.Dense(3, activation="softmax")])
    predictor = inference.Predictor(model, ["x", "y", "z"])
    assert predictor.predict(_images(1)[0]).label in {"x", "y", "z"}


def test_class_names_must_match_outputs(tmp_path):
    with pytest.raises(ModelError, match="3 class names.*10 outputs"):
        inference.Predictor(_cnn(), ["a", "b", "c"], warmup=False)
    path = _save(_cnn(), tmp_path / "m.keras", {"name": "m", "file": "m.keras", "class_names": ["a", "b"]})
    with pytest.raises(ModelError, match="card.*2 class names.*10 outputs"):
        inference.Predictor.from_path(path)


def test_class_names_default_without_card(tmp_path, saved):
    path = tmp_path / "nocard.keras"
    path.write_bytes(saved.read_bytes())
    assert inference.Predictor.from_path(path).class_names == tuple(str(i) for i in range(10))


# --- shipped models ---------------------------------------------------------------------------------------


def test_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert inference.models_dir() == tmp_path
    monkeypatch.setenv(MODELS_DIR_ENV, "")
    assert inference.models_dir() == Path(inference.__file__).resolve().parent.parent / "models"


def test_shipped_models_default_first(monkeypatch, tmp_path, saved):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert inference.shipped_models() == []
    data = saved.read_bytes()
    for stem in ("aaa", DEFAULT_MODEL_NAME, "zzz"):
        (tmp_path / f"{stem}.keras").write_bytes(data)
    (tmp_path / "aaa.json").write_text(json.dumps({"name": "aaa", "file": "aaa.keras", "class_names": list(LETTERS),
                                                  "dataset": "mnist", "test_accuracy": 0.99}))
    default_card = {"name": DEFAULT_MODEL_NAME, "file": f"{DEFAULT_MODEL_NAME}.keras"}  # optional keys missing
    (tmp_path / f"{DEFAULT_MODEL_NAME}.json").write_text(json.dumps(default_card))
    (tmp_path / "zzz.json").write_text(json.dumps({"file": "zzz.keras"}))  # no name: the stem is used
    (tmp_path / "ghost.json").write_text(json.dumps({"name": "ghost", "file": "ghost.keras"}))  # file missing
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.warns(UserWarning) as record:
        models = inference.shipped_models()
    assert {"ghost", "bad"} <= {w for r in record for w in ("ghost", "bad") if w in str(r.message)}
    assert [m.name for m in models] == [DEFAULT_MODEL_NAME, "aaa", "zzz"]
    assert models[0].is_default and models[0].class_names is None
    assert models[1].class_names == LETTERS and models[1].card["test_accuracy"] == 0.99
    assert models[2].path == tmp_path / "zzz.keras"
    assert inference.default_model_path() == tmp_path / f"{DEFAULT_MODEL_NAME}.keras"


def test_default_model_path_when_missing(monkeypatch, tmp_path):
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path / "empty"))
    path = inference.default_model_path()
    assert path == tmp_path / "empty" / f"{DEFAULT_MODEL_NAME}.keras"
    with pytest.raises(ModelError, match="not found"):
        inference.Predictor.from_path()


def test_read_card_by_file_field(tmp_path, saved):
    (tmp_path / "weights-v2.keras").write_bytes(saved.read_bytes())
    card = {"name": "v2", "file": "weights-v2.keras", "class_names": list(LETTERS)}
    (tmp_path / "card.json").write_text(json.dumps(card))
    assert inference.read_card(tmp_path / "weights-v2.keras")["name"] == "v2"
    assert inference.Predictor.from_path(tmp_path / "weights-v2.keras").class_names == LETTERS
