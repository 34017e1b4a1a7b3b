"""The one training function: progress, Stop, best-epoch choice, cards, saving, reproducibility.

These tests train on a small generated dataset (Hershey-font digits), never on MNIST, so they take
seconds on two cores.
"""

import json

import cv2
import numpy as np
import pytest

from hdr_core.calibration import with_temperature
from hdr_core.data import Dataset
from hdr_core.models import ArchSpec
from hdr_core.train import TrainConfig, evaluate_model, save_model, split_validation, train

TINY = ArchSpec(conv_blocks=1, filters=8, dense_units=32, dropout=0.0)
FONTS = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX]


def _font_digits(n_per_class: int, seed: int):
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for digit in range(10):
        for _ in range(n_per_class):
            image = np.zeros((28, 28), np.uint8)
            x, y = rng.integers(5, 9), rng.integers(20, 24)
            cv2.putText(image, str(digit), (int(x), int(y)), FONTS[rng.integers(len(FONTS))], 0.75, 255,
                        int(rng.integers(1, 3)), cv2.LINE_AA)
            images.append(image)
            labels.append(digit)
    return np.stack(images), np.array(labels, np.uint8)


@pytest.fixture(scope="module")
def fonts() -> Dataset:
    x_train, y_train = _font_digits(40, seed=0)
    x_test, y_test = _font_digits(10, seed=1)
    return Dataset("mnist", x_train, y_train, x_test, y_test, tuple("0123456789"), "generated")


class Recorder:
    def __init__(self, stop_after_batches=None):
        self.begin, self.batches, self.epochs = None, [], []
        self.stop_after = stop_after_batches

    def on_train_begin(self, total_epochs, batches_per_epoch):
        self.begin = (total_epochs, batches_per_epoch)

    def on_batch_end(self, epoch, batch, logs):
        self.batches.append((epoch, batch))

    def on_epoch_end(self, epoch, logs):
        self.epochs.append((epoch, logs))

    def should_stop(self):
        return self.stop_after is not None and len(self.batches) >= self.stop_after


def test_training_learns_and_reports_every_batch_and_epoch(fonts):
    recorder = Recorder()
    config = TrainConfig(arch=TINY, epochs=3, batch_size=32, learning_rate=3e-3)
    result = train(config, progress=recorder, dataset=fonts)
    assert recorder.begin == (3, 12)  # 360 training images after a 10% validation split, batches of 32
    assert len(recorder.batches) == 36 and len(recorder.epochs) == 3
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert result.test_accuracy > 0.5  # fonts are easy; chance is 0.1
    assert result.confusion.sum() == len(fonts.y_test) and result.confusion.shape == (10, 10)
    assert len(result.per_class) == 10
    assert 1 <= result.best_epoch <= 3 and result.epochs_run == 3 and not result.stopped
    assert result.card["params"] == result.model.count_params()
    assert result.card["training_command"].startswith("python -m hdr_core train --arch custom")


def test_stop_keeps_the_model_trained_so_far(fonts):
    recorder = Recorder(stop_after_batches=5)
    result = train(TrainConfig(arch=TINY, epochs=5, batch_size=32), progress=recorder, dataset=fonts)
    assert result.stopped
    assert len(recorder.batches) == 5  # stopped within the first epoch, not at its end
    probs = np.asarray(result.model(np.zeros((1, 28, 28, 1), np.float32)))
    assert probs.shape == (1, 10)


def test_best_validation_epoch_is_kept(fonts):
    result = train(TrainConfig(arch=TINY, epochs=4, batch_size=32, learning_rate=3e-3), dataset=fonts)
    best = int(np.argmax(result.history["val_accuracy"]))
    val_idx = split_validation(len(fonts.x_train), result.config)[1]
    kept = evaluate_model(result.model, fonts.x_train[val_idx], fonts.y_train[val_idx], 10).accuracy
    assert kept == pytest.approx(result.history["val_accuracy"][best], abs=1e-6)


def test_keep_best_false_keeps_the_last_epoch_as_the_references_do(fonts):
    result = train(TrainConfig(arch=TINY, epochs=3, batch_size=32, learning_rate=3e-3, keep_best=False), dataset=fonts)
    val_idx = split_validation(len(fonts.x_train), result.config)[1]
    kept = evaluate_model(result.model, fonts.x_train[val_idx], fonts.y_train[val_idx], 10).accuracy
    assert result.best_epoch == result.epochs_run == 3
    assert kept == pytest.approx(result.history["val_accuracy"][-1], abs=1e-6)


def test_early_stopping_ends_when_validation_stalls(fonts):
    config = TrainConfig(arch=TINY, epochs=30, batch_size=32, learning_rate=1e-2, early_stopping_patience=1)
    result = train(config, dataset=fonts)
    assert result.epochs_run < 30 and result.stopped


def test_same_seed_same_run(fonts):
    config = TrainConfig(arch=TINY, epochs=1, batch_size=32, rotation=10, shift=0.1, seed=5)
    a, b = train(config, dataset=fonts), train(config, dataset=fonts)
    assert a.history["loss"] == pytest.approx(b.history["loss"], rel=1e-4)
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        np.testing.assert_allclose(wa, wb, atol=1e-5)


def test_train_limit_uses_that_many_images(fonts):
    recorder = Recorder()
    train(TrainConfig(arch=TINY, epochs=1, batch_size=10, train_limit=50), progress=recorder, dataset=fonts)
    assert recorder.begin == (1, 5)


def test_label_smoothing_and_schedules_train(fonts):
    for schedule in ("exponential", "onecycle"):
        result = train(TrainConfig(arch=TINY, epochs=1, batch_size=32, lr_schedule=schedule, label_smoothing=0.1),
                       dataset=fonts)
        assert np.isfinite(result.test_loss)


def test_save_writes_a_small_keras_file_and_a_card(fonts, tmp_path):
    from hdr_core.inference import Predictor

    result = train(TrainConfig(arch=TINY, epochs=1, batch_size=32), dataset=fonts)
    path = save_model(result, tmp_path / "tiny", command="python -m hdr_core train --arch custom")
    assert path == tmp_path / "tiny.keras"
    assert path.stat().st_size < 4 * result.model.count_params() + 50_000  # weights only, no optimizer state
    card = json.loads((tmp_path / "tiny.json").read_text())
    assert card["name"] == "tiny" and card["file"] == "tiny.keras"
    assert card["training_command"] == "python -m hdr_core train --arch custom"
    assert TrainConfig.from_json(card["config"]) == result.config
    predictor = Predictor.from_path(path)
    x = fonts.x_test[:4].astype(np.float32) / 255
    # The saved model predicts as the trained one, calibrated with the temperature its card records.
    temperature = card["calibration"]["temperature"]
    assert temperature == result.calibration.as_card()["temperature"]
    assert predictor.temperature == pytest.approx(temperature)
    expected = with_temperature(np.asarray(result.model(x[..., None])), temperature)
    np.testing.assert_allclose(predictor.predict_proba(x), expected, atol=1e-5)


@pytest.mark.parametrize("config", [
    TrainConfig.from_preset("accurate"),
    TrainConfig.from_preset("fast", epochs=3, seed=2),
    TrainConfig(arch="emnist-cnn", dataset="emnist-digits", rotation=10.0),
    TrainConfig(arch=ArchSpec(conv_blocks=2, filters=16), train_limit=1000),
])
def test_config_round_trips_through_its_card(config):
    assert TrainConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    assert config.to_command().startswith("python -m hdr_core train ")


def test_every_augmentation_setting_reaches_the_augmentation_it_names():
    # Distinct values, so a setting passed to the wrong field cannot go unnoticed.
    values = dict(rotation=11.0, shift=0.12, zoom=0.13, thickness=0.14, blur=0.15, slant=0.16, style=0.17,
                  elastic=0.18, renormalize=0.19)
    augmentation = TrainConfig(**values).augmentation
    assert {name: getattr(augmentation, name) for name in values} == values


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "epochs"), (dict(arch="vgg"), "vgg"), (dict(optimizer="adagrad"), "optimizer"),
    (dict(learning_rate=2.0), "learning_rate"), (dict(rotation=-5), "rotation"), (dict(train_limit=3), "train_limit"),
    (dict(precision="float16"), "precision"), (dict(beta_1=1.0), "beta_1")])
def test_bad_config_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_bfloat16_training_learns_and_saves_a_float32_model(fonts, tmp_path):
    import keras

    from hdr_core.inference import load_model

    config = TrainConfig(arch=TINY, epochs=3, batch_size=32, learning_rate=3e-3, precision="bfloat16")
    result = train(config, dataset=fonts)
    assert result.test_accuracy > 0.5
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    assert {layer.dtype_policy.name for layer in result.model.layers} == {"float32"}
    assert "--precision bfloat16" in config.to_command()
    saved = load_model(save_model(result, tmp_path / "bf16"))
    assert {layer.dtype_policy.name for layer in saved.layers} == {"float32"}
    x = fonts.x_test[:8, ..., None].astype(np.float32) / 255
    np.testing.assert_allclose(np.asarray(saved(x)), np.asarray(result.model(x)), atol=1e-6)


def test_fine_tuning_starts_from_the_saved_weights(fonts, tmp_path):
    first = train(TrainConfig(arch=TINY, epochs=2, batch_size=32, learning_rate=3e-3), dataset=fonts)
    path = save_model(first, tmp_path / "base")
    recorder = Recorder(stop_after_batches=1)
    tuned = train(TrainConfig(arch=TINY, epochs=1, batch_size=32, learning_rate=1e-6, init_from=str(path)),
                  progress=recorder, dataset=fonts)
    assert tuned.test_accuracy == pytest.approx(first.test_accuracy, abs=0.02)  # one tiny step from the same place


def test_fine_tuning_from_another_architecture_is_refused(fonts, tmp_path):
    from hdr_core.errors import ModelError

    base = train(TrainConfig(arch=TINY, epochs=1, batch_size=32), dataset=fonts)
    path = save_model(base, tmp_path / "tiny")
    with pytest.raises(ModelError, match="do not match"):
        train(TrainConfig(arch=ArchSpec(conv_blocks=2, filters=4), epochs=1, init_from=str(path)), dataset=fonts)
