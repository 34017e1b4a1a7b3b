"""Training the digit check (``digit_check.py``): the digit network's own features, digits against non-digits.

The check does not learn to see from scratch. It reads what the default digit network computes inside
itself (the averaged maps of its last two 3x3 convolution blocks, its final 192 features and its ten
probabilities), frozen, and learns one small layer on top that tells MNIST's digits from ``non_digits``
drawings. A network trained only on digits describes real handwriting well (it reads real-dev at 97-98%),
so a digit from another writer lands where MNIST's digits land; a cross or a smiley lands elsewhere. A
small convolutional network trained from scratch on the same pictures flagged 6-16% of real-dev digits:
it learnt MNIST's writers, not digits.

Positives: MNIST's 60,000 training digits as they are, plus a varied copy of each (``augment``: slant,
size, stroke width, blur, wobble, re-rendered as the preprocessing renders photos). Negatives: generated
drawings run through the preprocessing the pages run. The flag threshold is chosen on MNIST's *test*
digits, which the check never saw: the highest that flags at most ``max_digits_flagged`` of them.
A tenth of the drawings is held out for the card's figures. One command reproduces it::

    HDR_DATA_DIR=../shared/data python -m hdr_core train-digit-check

Imports TensorFlow (Keras); the pages only ever load the LiteRT file it writes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import non_digits
from .augment import Augmentation, augment_batch
from .constants import IMAGE_SIZE
from .digit_check import CHECK_NAME, CLASS_NAMES, check_dir

POSITIVE_AUGMENTATION = Augmentation(rotation=12, shift=0.03, zoom=0.1, thickness=0.4, blur=0.2, slant=0.3,
                                     style=0.15, elastic=0.3, renormalize=0.6)
# The digit network's layers the check reads (maps are averaged over positions). Earlier layers describe
# strokes and rendering rather than digits: with them the check flagged 2% of real-dev digits.
FEATURE_LAYERS = ("conv_5_relu", "conv_6_relu", "flatten", "probabilities")


@dataclass(frozen=True)
class CheckTrainConfig:
    """How the digit check is trained (all recorded in its card)."""

    negatives: int = 60_000  # generated drawings that are not digits
    epochs: int = 8
    batch_size: int = 256
    learning_rate: float = 1e-3
    hidden: int = 64  # units of the one hidden layer on top of the features
    seed: int = 0
    held_out: float = 0.1  # share of the drawings kept back for the card's figures
    max_digits_flagged: float = 0.001  # at most this share of MNIST's test digits may be flagged
    families: tuple[str, ...] | None = None  # non_digits families (None: all)
    positives_limit: int | None = None  # MNIST training digits used (None: all 60,000)
    feature_layers: tuple[str, ...] = FEATURE_LAYERS


def _preprocessed(args: tuple[int, int, int, tuple[str, ...] | None]) -> tuple[list[str], np.ndarray]:
    """Drawings ``[start, start + n)`` of the seeded stream, preprocessed: (families, (k, 28, 28) float32)."""
    from . import preprocess
    from .errors import HdrError

    seed, start, n, families = args
    rng = np.random.default_rng([seed, start])
    names, images = non_digits.drawings(n, rng, families)
    kept_names, kept = [], []
    for name, image in zip(names, images):
        try:
            kept.append(preprocess.preprocess(image).model_input)
            kept_names.append(name)
        except HdrError:
            continue  # refused as blank by the pipeline: never reaches the network anyway
    stacked = np.stack(kept) if kept else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)
    return kept_names, stacked.astype(np.float32)


def negative_inputs(n: int, seed: int, families: tuple[str, ...] | None = None, *, workers: int | None = None
                    ) -> tuple[list[str], np.ndarray]:
    """``n`` non-digit drawings as the digit network would see them: (family names, (k, 28, 28) float32).

    ``k <= n``: drawings the preprocessing refuses (blank) are left out. Runs on ``workers`` processes
    (spawned: a script calling this needs the ``if __name__ == "__main__"`` guard).
    """
    chunk = 2000
    jobs = [(seed, start, min(chunk, n - start), families) for start in range(0, n, chunk)]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    if workers > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = pool.map(_preprocessed, jobs)
    else:
        parts = [_preprocessed(job) for job in jobs]
    names = [name for part in parts for name in part[0]]
    return names, np.concatenate([part[1] for part in parts])


def positive_inputs(images: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """MNIST digits (N, 28, 28) uint8: themselves and a varied copy, (2N, 28, 28) float32 in [0, 1]."""
    rng = np.random.default_rng([seed, 1])
    varied = augment_batch(images, POSITIVE_AUGMENTATION, rng, labels=labels)
    return np.concatenate([images, varied]).astype(np.float32) / 255.0


def feature_model(digit_model, layers: tuple[str, ...] = FEATURE_LAYERS):
    """(N, 28, 28, 1) -> (N, F) float32: the named layers' outputs, maps averaged over positions, side by side."""
    import keras

    outputs = []
    for name in layers:
        out = digit_model.get_layer(name).output
        outputs.append(keras.layers.GlobalAveragePooling2D(name=f"{name}_mean")(out) if len(out.shape) == 4 else out)
    joined = keras.layers.Concatenate(name="features")(outputs) if len(outputs) > 1 else outputs[0]
    features = keras.Model(digit_model.inputs, joined, name="digit_network_features")
    features.trainable = False
    return features


def build_head(n_features: int, mean: np.ndarray, variance: np.ndarray, hidden: int, seed: int):
    """The check's own layers: standardise the features, one hidden layer, two softmax outputs."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((n_features,)),
        layers.Normalization(mean=mean, variance=variance, name="standardise"),
        layers.Dense(hidden, activation="relu", name="hidden"),
        layers.Dropout(0.3),
        layers.Dense(len(CLASS_NAMES), activation="softmax", name="digit_or_not"),
    ], name="digit_check_head")


def assemble(features, head):
    """One model, picture to (not a digit, digit) probabilities: what the LiteRT file holds."""
    import keras

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 1))
    return keras.Model(inputs, head(features(inputs)), name="digit_check")


def choose_threshold(digit_p: np.ndarray, max_flagged: float, cap: float = 0.5) -> float:
    """The highest threshold (at most ``cap``) that flags no more than ``max_flagged`` of these digits.

    Parameters
    ----------
    digit_p : (N,) float ndarray
        The check's probability of "digit" for digits it was not trained on.
    """
    allowed = int(np.floor(max_flagged * len(digit_p)))
    ordered = np.sort(np.asarray(digit_p, np.float64))
    # Flag p < t: at most `allowed` digits may lie below t, so t can rise to the (allowed+1)-th smallest.
    limit = ordered[allowed] if allowed < len(ordered) else 1.0
    return float(min(cap, max(limit, 1e-4)))


def train_check(config: CheckTrainConfig, dataset, digit_model_path: str | os.PathLike, *,
                log: Callable[[str], None] = print):
    """Train the digit check on top of the digit network at ``digit_model_path``.

    ``dataset`` is ``hdr_core.data.load_dataset("mnist")``'s result. Returns ``(keras model, card dict)``.
    """
    import keras

    from .inference import load_model
    from .lite import file_sha256

    start = time.perf_counter()
    log(f"drawing and preprocessing {config.negatives:,} drawings that are not digits")
    families, negatives = negative_inputs(config.negatives, config.seed, config.families)
    families = np.array(families, dtype=object)
    x_train, y_train = dataset.x_train, dataset.y_train
    if config.positives_limit is not None:
        x_train, y_train = x_train[: config.positives_limit], y_train[: config.positives_limit]
    log(f"varying {len(x_train):,} MNIST digits")
    positives = positive_inputs(x_train, y_train, config.seed)

    digit_model = load_model(digit_model_path)
    features = feature_model(digit_model, config.feature_layers)

    def describe(images: np.ndarray) -> np.ndarray:
        return features.predict(images[..., None], batch_size=512, verbose=0)

    log("reading the digit network's features")
    f_pos, f_neg, f_test = describe(positives), describe(negatives), describe(dataset.x_test.astype(np.float32) / 255)
    order = np.random.default_rng([config.seed, 2]).permutation(len(f_neg))
    n_held = int(round(len(f_neg) * config.held_out))
    held, fit = order[:n_held], order[n_held:]
    x = np.concatenate([f_pos, f_neg[fit]])
    y = np.concatenate([np.ones(len(f_pos), np.int32), np.zeros(len(fit), np.int32)])
    head = build_head(x.shape[1], x.mean(axis=0), x.var(axis=0) + 1e-6, config.hidden, config.seed)
    head.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    weights = {0: len(y) / (2 * int((y == 0).sum())), 1: len(y) / (2 * int((y == 1).sum()))}
    log(f"training on {len(x):,} pictures' features, {config.epochs} epochs")
    head.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, class_weight=weights, verbose=0,
             shuffle=True, callbacks=[keras.callbacks.LambdaCallback(
                 on_epoch_end=lambda epoch, logs: log(f"epoch {epoch + 1}: accuracy {logs['accuracy']:.4f}"))])

    p_test = head.predict(f_test, batch_size=2048, verbose=0)[:, 1]
    threshold = choose_threshold(p_test, config.max_digits_flagged)
    p_held = head.predict(f_neg[held], batch_size=2048, verbose=0)[:, 1]
    held_families = families[held]
    card = {
        "name": CHECK_NAME,
        "what": "probability that a 28x28 picture, as the digit network sees it, is a digit at all",
        "classes": list(CLASS_NAMES),
        "flag_below": round(threshold, 5),
        "threshold_chosen_on": f"MNIST test digits: the highest flagging at most {config.max_digits_flagged:.2%}",
        "mnist_test_flagged": round(float((p_test < threshold).mean()), 5),
        "held_out_not_digits": {"n": int(n_held), "flagged": round(float((p_held < threshold).mean()), 4),
                                "flagged_by_family": {str(name): round(float((p_held[held_families == name]
                                                                                 < threshold).mean()), 4)
                                                      for name in sorted(set(held_families))}},
        "trained_on": {"digits": int(len(f_pos)), "not_digits": int(len(fit)),
                       "families": sorted(set(str(f) for f in families))},
        "digit_network": {"file": Path(digit_model_path).name, "keras_sha256": file_sha256(digit_model_path),
                          "feature_layers": list(config.feature_layers), "features": int(x.shape[1])},
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "trainable_parameters": int(head.count_params()),
        "seconds": round(time.perf_counter() - start, 1),
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    return assemble(features, head), card


def save_check(model, card: dict, folder: str | os.PathLike | None = None, *, command: str | None = None) -> Path:
    """Write ``digit-check.tflite`` (checked against the Keras model) and ``card.json`` into ``folder``.

    Only the LiteRT file is kept: the pages read nothing else, and the command above rebuilds the rest.
    Returns the folder.
    """
    from .lite import convert

    folder = check_dir() if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{CHECK_NAME}.tflite").write_bytes(convert(model))
    card = dict(card, command=command) if command else dict(card)
    (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    return folder
