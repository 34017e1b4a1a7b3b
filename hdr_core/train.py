"""One training function for the CLI, the Train page and the benchmarks.

``train(TrainConfig(...), progress=...)`` loads the dataset, builds the architecture, fits it with
validation data held out of the training split, keeps the weights of the best validation epoch, and
returns the model with its history, test metrics and a model card. The progress object is told about
every batch and epoch and is asked after every batch whether to stop, so a page can draw live curves
and offer a Stop button that keeps the model trained so far.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shlex
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .augment import Augmentation, augment_batch
from .calibration import Calibration, expected_calibration_error, fit_temperature, with_temperature
from .constants import IMAGE_SIZE
from .models import PRESETS, ArchSpec, arch_from_json, arch_to_json, build_model, describe_arch

OPTIMIZERS = ("adam", "rmsprop", "sgd")
LR_SCHEDULES = ("constant", "exponential", "onecycle")
PRECISIONS = ("float32", "bfloat16")


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved in the model card so the run can be repeated."""

    dataset: str = "mnist"  # a name from hdr_core.data.DATASET_NAMES
    arch: str | ArchSpec = "fast"  # a preset name or a custom ArchSpec
    epochs: int = 5  # upper bound; early stopping or Stop may end sooner
    batch_size: int = 128  # 128 keeps two CPU cores busy without hurting accuracy
    learning_rate: float = 1e-3  # peak learning rate
    optimizer: str = "adam"  # one of OPTIMIZERS
    beta_1: float = 0.9  # Adam's decay of its running mean of gradients (lower: shorter memory, for high rates)
    beta_2: float = 0.999  # Adam's decay of its running mean of squared gradients
    lr_schedule: str = "constant"  # constant | exponential (x0.95 per epoch) | onecycle (warm-up, cosine decay)
    l2: float = 0.0  # extra L2 penalty on every kernel
    label_smoothing: float = 0.0  # 0.05 softens over-confident outputs a little
    rotation: float = 0.0  # augmentation: degrees
    shift: float = 0.0  # augmentation: fraction of the image
    zoom: float = 0.0  # augmentation: relative size change
    thickness: float = 0.0  # augmentation: probability of thinner/thicker strokes
    blur: float = 0.0  # augmentation: probability of a slight blur
    style: float = 0.0  # augmentation: probability of a continental 7 (crossed) or 1 (up-stroke); digits only
    slant: float = 0.0  # augmentation: largest horizontal shear (italic slant), e.g. 0.3
    elastic: float = 0.0  # augmentation: probability of an elastic (wobbly-stroke) distortion
    renormalize: float = 0.0  # augmentation: probability of rendering a digit as preprocessing renders real input
    init_from: str | None = None  # start from this .keras model's weights (fine-tuning) instead of random ones
    early_stopping_patience: int = 0  # epochs without a better validation accuracy before stopping; 0 = off
    validation_fraction: float = 0.1  # share of the training split held out (to pick the best epoch)
    keep_best: bool = True  # keep the best validation epoch's weights; False keeps the last (the references)
    train_limit: int | None = None  # use only this many training images (quick classroom runs)
    track_test_accuracy: bool = False  # measure test accuracy after every epoch (benchmarks; not for model choice)
    seed: int = 0  # seeds the split, shuffling, augmentation, weights and dropout
    precision: str = "float32"  # bfloat16: compute in bfloat16 while training (faster on CPUs with AVX512-BF16)

    def __post_init__(self) -> None:
        if isinstance(self.arch, str) and self.arch not in PRESETS:
            raise ValueError(f"unknown architecture {self.arch!r}; choose one of {', '.join(PRESETS)}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if not (0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1):
            raise ValueError(f"beta_1 and beta_2 must be in [0, 1), got {self.beta_1}, {self.beta_2}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not 0 <= self.validation_fraction < 0.5:
            raise ValueError(f"validation_fraction must be in [0, 0.5), got {self.validation_fraction}")
        if self.train_limit is not None and self.train_limit < 10:
            raise ValueError(f"train_limit must be at least 10 images, got {self.train_limit}")
        if not 0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        self.augmentation  # validates the augmentation fields

    @property
    def augmentation(self) -> Augmentation:
        return Augmentation(**{f.name: getattr(self, f.name) for f in fields(Augmentation)})

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> "TrainConfig":
        """The preset's reference recipe, with any field overridden."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        return cls(**{"arch": preset, **PRESETS[preset].recipe, **overrides})

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["arch"] = arch_to_json(self.arch)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["arch"] = arch_from_json(values.get("arch", "fast"))
        return cls(**values)

    def to_command(self, out: str | None = None) -> str:
        """The ``python -m hdr_core train`` command line that repeats this run."""
        if isinstance(self.arch, ArchSpec):
            args = ["--arch", "custom", "--spec", json.dumps(asdict(self.arch), separators=(",", ":"))]
            base = TrainConfig()
        elif self.arch in PRESETS:
            args = ["--preset", self.arch]  # the preset's recipe; only what differs from it follows
            base = TrainConfig.from_preset(self.arch)
        else:
            args, base = ["--arch", self.arch], TrainConfig()
        for f in fields(self):
            if f.name in ("arch", "track_test_accuracy"):
                continue
            value = getattr(self, f.name)
            if f.name != "dataset" and value == getattr(base, f.name):
                continue
            args += [f"--{f.name.replace('_', '-')}", str(value)]
        if out:
            args += ["--out", out]
        return "python -m hdr_core train " + " ".join(shlex.quote(a) for a in args)


class ProgressCallback(Protocol):
    """What ``train`` reports to; every method is optional."""

    def on_train_begin(self, total_epochs: int, batches_per_epoch: int) -> None: ...
    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None: ...
    def should_stop(self) -> bool: ...


@dataclass
class TrainResult:
    model: Any  # the trained keras.Model (best validation epoch's weights)
    history: dict[str, list[float]]  # per epoch: loss, accuracy, val_loss, val_accuracy, seconds[, test_accuracy]
    test_loss: float
    test_accuracy: float
    per_class: list[float]  # test accuracy of each class
    confusion: np.ndarray  # (n_classes, n_classes) int64; rows are true classes, columns predictions
    epochs_run: int
    best_epoch: int  # 1-based epoch whose weights were kept (the last one unless ``config.keep_best``)
    train_seconds: float  # time spent fitting (not loading or testing)
    stopped: bool  # the user (or early stopping) ended training before the last epoch
    class_names: tuple[str, ...]
    config: TrainConfig
    card: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None  # the temperature fitted on the validation split (None without one)
    test_ece: float | None = None  # expected calibration error on the test split, calibrated


class _Batches:
    """Feeds shuffled, augmented uint8 digits to Keras one batch at a time, as float32 (N, 28, 28, 1)."""

    def __init__(self, images, labels, config: TrainConfig, digit_labels=None):
        self.images, self.labels = images, labels
        self.digit_labels = digit_labels  # (N,) ints 0-9 for the style variants; None for other class sets
        self.batch_size = config.batch_size
        self.augmentation = config.augmentation
        self.seed = config.seed
        self.epoch = 0
        self._order = self._shuffle()

    def _shuffle(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch, 1]).permutation(len(self.images))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index: int):
        take = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        batch = self.images[take]
        if self.augmentation.active:
            batch = augment_batch(batch, self.augmentation, np.random.default_rng([self.seed, self.epoch, 2, index]),
                                  None if self.digit_labels is None else self.digit_labels[take])
        x = batch.astype(np.float32)[..., None] / 255.0  # (B, 28, 28, 1)
        return x, self.labels[take]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._order = self._shuffle()


def _as_keras_dataset(batches: _Batches):
    import keras

    class _PyDataset(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)

        def __len__(self):
            return len(batches)

        def __getitem__(self, index):
            return batches[index]

        def on_epoch_end(self):
            batches.on_epoch_end()

    return _PyDataset()


def _optimizer(config: TrainConfig):
    import keras

    if config.optimizer == "adam":
        return keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(config.learning_rate)
    return keras.optimizers.SGD(config.learning_rate, momentum=0.9, nesterov=True)


def _learning_rate_at(config: TrainConfig, step: int, total_steps: int, epoch: int) -> float:
    """Learning rate for a step under the configured schedule."""
    peak = config.learning_rate
    if config.lr_schedule == "exponential":
        return peak * 0.95**epoch
    if config.lr_schedule == "onecycle":
        warmup = max(1, int(0.2 * total_steps))
        if step < warmup:
            return peak * (0.1 + 0.9 * step / warmup)
        progress = (step - warmup) / max(1, total_steps - warmup)
        return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
    return peak


def probabilities(model, images: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Class probabilities of uint8 or float digits.

    Parameters
    ----------
    images : (N, 28, 28) uint8 (0..255) or float32 (0..1) ndarray

    Returns
    -------
    probabilities : (N, n_classes) float32 ndarray
    """
    out = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        x = chunk.astype(np.float32) / 255.0 if chunk.dtype == np.uint8 else chunk.astype(np.float32)
        out.append(np.asarray(model.predict_on_batch(x.reshape(-1, IMAGE_SIZE, IMAGE_SIZE, 1))))
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


@dataclass(frozen=True)
class Evaluation:
    n: int
    accuracy: float
    loss: float  # mean cross-entropy
    per_class: list[float]
    confusion: np.ndarray  # (n_classes, n_classes) int64
    predictions: np.ndarray  # (N,) int64
    ece: float = 0.0  # expected calibration error of the top probability (hdr_core.calibration)


def evaluate_model(model, images: np.ndarray, labels: np.ndarray, n_classes: int, *,
                   temperature: float = 1.0) -> Evaluation:
    """Accuracy, loss, per-class accuracy, confusion matrix and calibration error of ``model`` on
    ``(N, 28, 28)`` digits, its probabilities scaled by ``temperature`` (the model card's calibration)."""
    probs = with_temperature(probabilities(model, images), temperature)
    if probs.shape[1] != n_classes:
        raise ValueError(f"the model has {probs.shape[1]} outputs but the dataset has {n_classes} classes")
    labels = np.asarray(labels, dtype=np.int64)
    predictions = probs.argmax(axis=1)
    confusion = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    totals = confusion.sum(axis=1)
    per_class = [float(confusion[c, c] / totals[c]) if totals[c] else float("nan") for c in range(n_classes)]
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0))))
    return Evaluation(len(labels), float(np.mean(predictions == labels)), loss, per_class, confusion, predictions,
                      expected_calibration_error(probs, labels))


def calibrate(model, images: np.ndarray, labels: np.ndarray) -> Calibration:
    """The temperature that calibrates ``model``'s probabilities on (N, 28, 28) ``images`` (its validation
    split), with the calibration error before and after (``hdr_core.calibration``)."""
    return fit_temperature(probabilities(model, images), np.asarray(labels, np.int64))


def _keras_callback(config, progress, batches_per_epoch, val, test, timer):
    import keras

    total_steps = config.epochs * batches_per_epoch

    class _Bridge(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.best = (-1.0, -math.inf)  # (val_accuracy, -val_loss)
            self.best_weights = None
            self.best_epoch = 0
            self.epochs_without_gain = 0
            self.epoch = 0
            self.stopped = False
            self.history: dict[str, list[float]] = {}

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_begin(self, batch, logs=None):
            if config.lr_schedule != "constant":
                step = self.epoch * batches_per_epoch + batch
                self.model.optimizer.learning_rate.assign(_learning_rate_at(config, step, total_steps, self.epoch))

        def on_train_batch_end(self, batch, logs=None):
            if progress is not None and hasattr(progress, "on_batch_end"):
                progress.on_batch_end(self.epoch, batch, {k: float(v) for k, v in (logs or {}).items()})
            if progress is not None and hasattr(progress, "should_stop") and progress.should_stop():
                self.stopped = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            timer.pause()
            kept = ("loss", "accuracy", "val_loss", "val_accuracy")
            logs = {k: float(v) for k, v in (logs or {}).items() if k in kept}
            logs["seconds"] = timer.elapsed
            if test is not None:
                logs["test_accuracy"] = evaluate_model(self.model, *test).accuracy
            for key, value in logs.items():
                self.history.setdefault(key, []).append(value)
            score = (logs.get("val_accuracy", logs.get("accuracy", 0.0)), -logs.get("val_loss", logs.get("loss", 0.0)))
            if score > self.best:
                self.best, self.best_epoch, self.epochs_without_gain = score, epoch + 1, 0
                self.best_weights = [w.copy() for w in self.model.get_weights()] if val and config.keep_best else None
            else:
                self.epochs_without_gain += 1
                if config.early_stopping_patience and self.epochs_without_gain >= config.early_stopping_patience:
                    self.stopped = True
                    self.model.stop_training = True
            if progress is not None and hasattr(progress, "on_epoch_end"):
                progress.on_epoch_end(epoch, dict(logs))
            timer.resume()

    return _Bridge()


class _Timer:
    """Wall-clock time of fitting, with evaluation pauses left out."""

    def __init__(self):
        self.elapsed = 0.0
        self._since: float | None = None

    def resume(self):
        self._since = time.perf_counter()

    def pause(self):
        if self._since is not None:
            self.elapsed += time.perf_counter() - self._since
            self._since = None


def _load_initial_weights(model, path: str) -> None:
    """Copy the weights of the model saved at ``path`` into ``model`` (same architecture required)."""
    from .errors import ModelError
    from .inference import load_model

    source = load_model(path)
    try:
        model.set_weights(source.get_weights())
    except ValueError as error:
        raise ModelError(f"cannot start from {path}: its layers do not match the chosen architecture "
                         f"({error})") from None


def _build_for_training(config: TrainConfig, n_classes: int):
    """The untrained model, computing in ``config.precision``.

    For bfloat16 the layers are built under Keras's ``mixed_bfloat16`` policy: weights stay float32,
    convolutions run in bfloat16 and the softmax output stays float32 (see ``models._output``). The
    policy is global in Keras, so it is set only while the layers are created; the Train page always
    trains in float32 and never sees it.
    """
    import keras

    if config.precision == "float32":
        return build_model(config.arch, n_classes=n_classes, l2=config.l2)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{config.precision}")
    try:
        return build_model(config.arch, n_classes=n_classes, l2=config.l2)
    finally:
        keras.config.set_dtype_policy(previous)


def _as_float32(model, config: TrainConfig, n_classes: int):
    """A float32 copy of a model trained in mixed precision (its weights are float32 already), so the
    saved file predicts the same way, and as fast, on any CPU."""
    copy = build_model(config.arch, n_classes=n_classes, l2=config.l2)
    copy.set_weights(model.get_weights())
    return copy


def split_validation(n: int, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation parts of a training split of ``n`` images (seeded)."""
    order = np.random.default_rng([config.seed, 0, 0]).permutation(n)
    n_val = int(round(n * config.validation_fraction))
    val, rest = order[:n_val], order[n_val:]
    if config.train_limit is not None:
        rest = rest[: config.train_limit]
        val = val[: max(1, min(len(val), config.train_limit // 5))] if n_val else val
    return np.sort(rest), np.sort(val)


def train(config: TrainConfig, *, progress: ProgressCallback | None = None, dataset=None) -> TrainResult:
    """Train a model as configured.

    Parameters
    ----------
    config : TrainConfig
        Dataset, architecture, recipe and seed.
    progress : ProgressCallback, optional
        Told about every batch and epoch; ``should_stop()`` is asked after every batch.
    dataset : hdr_core.data.Dataset, optional
        Already-loaded data (the app shares one read-only copy); loaded by name when omitted.

    Returns
    -------
    TrainResult
        The model holds the weights of the epoch with the best validation accuracy.
    """
    import keras

    if dataset is None:
        from .data import load_dataset

        dataset = load_dataset(config.dataset)
    data = dataset
    n_classes = len(data.class_names)
    train_idx, val_idx = split_validation(len(data.x_train), config)
    x_train, y_train = data.x_train[train_idx], data.y_train[train_idx].astype(np.int64)
    val = None
    if len(val_idx):
        val = (data.x_train[val_idx].astype(np.float32)[..., None] / 255.0,  # (V, 28, 28, 1)
               data.y_train[val_idx].astype(np.int64))

    keras.utils.set_random_seed(config.seed)
    model = _build_for_training(config, n_classes)
    if config.init_from:
        _load_initial_weights(model, config.init_from)
    model.compile(
        optimizer=_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        if config.label_smoothing else "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    is_digits = tuple(data.class_names) == tuple(str(d) for d in range(10))
    batches = _Batches(x_train, y_train if not config.label_smoothing else np.eye(n_classes, dtype=np.float32)[y_train],
                       config, digit_labels=y_train if is_digits else None)
    if val is not None and config.label_smoothing:
        val = (val[0], np.eye(n_classes, dtype=np.float32)[val[1]])
    timer = _Timer()
    test = (data.x_test, data.y_test, n_classes) if config.track_test_accuracy else None
    bridge = _keras_callback(config, progress, len(batches), val is not None, test, timer)
    if progress is not None and hasattr(progress, "on_train_begin"):
        progress.on_train_begin(config.epochs, len(batches))

    timer.resume()
    model.fit(_as_keras_dataset(batches), epochs=config.epochs, validation_data=val,
              batch_size=None if val is None else 1024, callbacks=[bridge], verbose=0)
    timer.pause()
    if bridge.best_weights is not None:
        model.set_weights(bridge.best_weights)
    if config.precision != "float32":
        model = _as_float32(model, config, n_classes)

    calibration = calibrate(model, data.x_train[val_idx], data.y_train[val_idx]) if len(val_idx) else None
    evaluation = evaluate_model(model, data.x_test, data.y_test, n_classes,
                                temperature=calibration.temperature if calibration else 1.0)
    epochs_run = len(bridge.history.get("loss", []))
    result = TrainResult(
        model=model, history=bridge.history, test_loss=evaluation.loss, test_accuracy=evaluation.accuracy,
        per_class=evaluation.per_class, confusion=evaluation.confusion, epochs_run=epochs_run,
        best_epoch=(bridge.best_epoch if bridge.best_weights is not None else 0) or epochs_run,
        train_seconds=timer.elapsed,
        stopped=bridge.stopped, class_names=tuple(data.class_names), config=config,
        calibration=calibration, test_ece=evaluation.ece,
    )
    result.card = model_card(result, n_train=len(train_idx), n_val=len(val_idx))
    return result


def model_card(result: TrainResult, *, name: str | None = None, n_train: int | None = None,
               n_val: int | None = None, command: str | None = None) -> dict[str, Any]:
    """The facts about a trained model that its ``.json`` card records."""
    import keras
    import tensorflow as tf

    config = result.config
    return {
        "name": name,
        "file": f"{name}.keras" if name else None,
        "title": describe_arch(config.arch),
        "dataset": config.dataset,
        "class_names": list(result.class_names),
        "architecture": arch_to_json(config.arch),
        "params": int(result.model.count_params()),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_seconds": round(result.train_seconds, 1),
        "test_accuracy": round(result.test_accuracy, 5),
        "test_loss": round(result.test_loss, 5),
        "test_ece": None if result.test_ece is None else round(result.test_ece, 5),
        "calibration": result.calibration.as_card() if result.calibration else None,
        "val_accuracy": round(max(result.history.get("val_accuracy", [float("nan")])), 5)
        if result.history.get("val_accuracy") else None,
        "per_class_accuracy": [round(a, 5) for a in result.per_class],
        "n_train": n_train,
        "n_validation": n_val,
        "training_command": command or config.to_command(),
        "config": config.to_json(),
        "date": _dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__},
    }


def save_model(result: TrainResult, path: str | os.PathLike, *, command: str | None = None) -> Path:
    """Write the model to ``PATH.keras`` (without optimizer state) and its card to ``PATH.json``.

    Returns the path of the ``.keras`` file.
    """
    import keras

    path = Path(path)
    stem = path.with_suffix("") if path.suffix == ".keras" else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    keras_path = stem.with_suffix(".keras")
    # A copy rebuilt from the config is uncompiled (clone_model would carry the optimizer over), so the
    # file holds the weights alone: about a third of the size, and nothing a user's Keras must rebuild.
    clean = keras.Model.from_config(result.model.get_config())
    clean.set_weights(result.model.get_weights())
    clean.save(keras_path)
    card = dict(result.card)
    card.update(name=stem.name, file=keras_path.name)
    if command:
        card["training_command"] = command
    stem.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    return keras_path
