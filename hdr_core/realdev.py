"""The development set of real handwriting (``real-dev/`` in ``HDR_DATA_DIR``) and its evaluation.

``real-dev/labels.csv`` lists ``path,label,source_repo,kind``; ``kind`` is ``photo``, ``scan``,
``paint``, ``unknown`` or ``multi`` (a whole number, digits as a string, ``/`` between rows). The
evaluation runs each file through the same preprocessing the Upload page and ``predict`` use, so its
figures are what a user gets.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .calibration import expected_calibration_error
from .constants import DATA_DIR_ENV
from .errors import DatasetNotFoundError, HdrError

REAL_DEV_DIR = "real-dev"
LABELS_FILE = "labels.csv"


@dataclass(frozen=True)
class RealSample:
    path: Path  # absolute path of the image file
    label: str  # one digit, or a digit string for kind "multi" ("/" separates rows)
    source: str  # the repository the image came from
    kind: str  # photo | scan | paint | unknown | multi


def real_dev_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The ``real-dev`` folder inside ``data_dir`` or ``$HDR_DATA_DIR``; DatasetNotFoundError if absent."""
    base = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not base:
        raise DatasetNotFoundError(
            f"The real handwriting set needs {DATA_DIR_ENV}: set it to the folder that holds "
            f"{REAL_DEV_DIR}/{LABELS_FILE}.")
    folder = Path(base).expanduser() / REAL_DEV_DIR
    if not (folder / LABELS_FILE).is_file():
        raise DatasetNotFoundError(f"No {REAL_DEV_DIR}/{LABELS_FILE} in {Path(base).expanduser()}.")
    return folder


def load_real_dev(data_dir: str | os.PathLike | None = None, *, kinds: Iterable[str] | None = None) -> list[RealSample]:
    """The samples listed in ``real-dev/labels.csv``, optionally only some kinds, in file order."""
    folder = real_dev_dir(data_dir)
    wanted = set(kinds) if kinds is not None else None
    samples = []
    with open(folder / LABELS_FILE, newline="") as handle:
        for row in csv.DictReader(handle):
            if wanted is not None and row["kind"] not in wanted:
                continue
            samples.append(RealSample(folder / row["path"], row["label"], row["source_repo"], row["kind"]))
    return samples


@dataclass
class RealDevReport:
    """Accuracy of single digits overall and by kind, and whole numbers read exactly."""

    n: int = 0
    correct: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # kind -> [correct, n]
    # source (labels.csv's source_repo) -> [correct, n]: each source is one project's writers and
    # devices, so a low figure here says which handwriting the model misses; by_kind mixes writers.
    by_source: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    numbers: list[dict] = field(default_factory=list)  # per multi-digit file: path, label, read, exact
    failures: list[dict] = field(default_factory=list)  # per wrong or failed single digit: path, label, predicted/error
    ece: float | None = None  # calibration error of the single digits that preprocessed (hdr_core.calibration)

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    def kind_accuracy(self) -> dict[str, float]:
        return {kind: c / n for kind, (c, n) in sorted(self.by_kind.items()) if n}

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 5),
            "by_kind": {kind: {"n": n, "accuracy": round(c / n, 5)} for kind, (c, n) in sorted(self.by_kind.items())},
            "by_source": {source: {"n": n, "accuracy": round(c / n, 5)}
                          for source, (c, n) in sorted(self.by_source.items(), key=lambda item: -item[1][1])},
            "numbers": self.numbers,
            "numbers_exact": sum(1 for r in self.numbers if r["exact"]),
            "ece": None if self.ece is None else round(self.ece, 5),
            "failures": self.failures,
        }


@dataclass
class PreparedRealDev:
    """Real-dev samples already run through the preprocessing, so several models can be scored on them."""

    singles: list[RealSample]  # single digits that preprocessed, in file order
    inputs: np.ndarray  # (len(singles), 28, 28) float32 model inputs
    errors: list[tuple[RealSample, str]]  # single digits that could not be preprocessed, with the message
    numbers: list[tuple[RealSample, object]]  # whole numbers: (sample, Segmentation or the error's message)


def prepare_real_dev(samples: list[RealSample], *, threshold: str = "mean", params=None) -> PreparedRealDev:
    """Run every sample through ``hdr_core.preprocess`` once.

    Parameters
    ----------
    samples : list of RealSample
    threshold : {'mean', 'otsu', 'adaptive'}
        Binarisation used by the preprocessing.
    params : hdr_core.preprocess.Params, optional
        The preprocessing's tuning values (default ``Params()``).

    Returns
    -------
    PreparedRealDev
        ``inputs`` is (N, 28, 28) float32 for the N single digits that preprocessed.
    """
    from . import preprocess
    from .piece_reader import default_reader

    reader = default_reader() if any(sample.kind == "multi" for sample in samples) else None
    singles, inputs, errors, numbers = [], [], [], []
    for sample in samples:
        try:
            image = preprocess.load_image(sample.path)
            if sample.kind == "multi":
                numbers.append((sample, preprocess.segment(image, threshold=threshold, params=params, reader=reader)))
            else:
                inputs.append(preprocess.preprocess(image, threshold=threshold, params=params).model_input)
                singles.append(sample)
        except HdrError as error:
            if sample.kind == "multi":
                numbers.append((sample, str(error)))
            else:
                errors.append((sample, str(error)))
    stacked = np.stack(inputs).astype(np.float32) if inputs else np.zeros((0, 28, 28), np.float32)
    return PreparedRealDev(singles, stacked, errors, numbers)


def score_real_dev(predict_proba: Callable[[np.ndarray], np.ndarray], prepared: PreparedRealDev) -> RealDevReport:
    """Score a model on samples prepared by :func:`prepare_real_dev`.

    A file that could not be preprocessed (no ink found, unreadable) counts as wrong.
    """
    report = RealDevReport()
    for sample, message in prepared.errors:
        report.n += 1
        report.by_kind[sample.kind][1] += 1
        report.by_source[sample.source][1] += 1
        report.failures.append({"path": str(sample.path), "label": sample.label, "error": message})
    if len(prepared.inputs):
        probabilities = np.asarray(predict_proba(prepared.inputs))
        predicted = probabilities.argmax(axis=1)
        labels = [int(s.label) if s.label.isdigit() and len(s.label) == 1 else -1 for s in prepared.singles]
        known = np.array([label >= 0 for label in labels])
        if known.any():
            report.ece = expected_calibration_error(probabilities[known], np.array(labels)[known])
        for sample, digit in zip(prepared.singles, predicted):
            ok = str(int(digit)) == sample.label
            report.n += 1
            report.correct += ok
            report.by_kind[sample.kind][0] += ok
            report.by_kind[sample.kind][1] += 1
            report.by_source[sample.source][0] += ok
            report.by_source[sample.source][1] += 1
            if not ok:
                report.failures.append({"path": str(sample.path), "label": sample.label, "predicted": str(int(digit))})
    for sample, multi in prepared.numbers:
        if isinstance(multi, str):
            read = f"error: {multi}"
        else:
            digits = np.asarray(predict_proba(np.stack([d.model_input for d in multi.digits]))).argmax(axis=1)
            read = multi.number([int(d) for d in digits])
        report.numbers.append({"path": str(sample.path), "label": sample.label, "read": read,
                               "exact": read == sample.label})
    return report


def evaluate_real_dev(predict_proba: Callable[[np.ndarray], np.ndarray], samples: list[RealSample], *,
                      threshold: str = "mean") -> RealDevReport:
    """Run every sample through ``hdr_core.preprocess`` and a model.

    Parameters
    ----------
    predict_proba : callable
        ``(N, 28, 28) float32 -> (N, 10) float32`` probabilities (``Predictor.predict_proba``).
    samples : list of RealSample
    threshold : {'mean', 'otsu', 'adaptive'}
        Binarisation used by the preprocessing.

    Returns
    -------
    RealDevReport
        A file that cannot be preprocessed (no ink found, unreadable) counts as wrong.
    """
    return score_real_dev(predict_proba, prepare_real_dev(samples, threshold=threshold))


def per_class_accuracy(samples: list[RealSample], report: RealDevReport) -> list[float | None]:
    """Accuracy on each digit 0-9 over the single digits of ``samples`` (None for a digit with no sample).

    A wrong reading and an unreadable file are both failures (``report.failures``).
    """
    totals = np.zeros(10, np.int64)
    wrong = np.zeros(10, np.int64)
    for sample in samples:
        if sample.kind != "multi" and sample.label.isdigit() and len(sample.label) == 1:
            totals[int(sample.label)] += 1
    for failure in report.failures:
        if failure["label"].isdigit() and len(failure["label"]) == 1:
            wrong[int(failure["label"])] += 1
    return [float(1 - w / t) if t else None for w, t in zip(wrong, totals)]


def recorded_accuracy(figures: object) -> float | None:
    """The accuracy that a card's ``real_dev`` entry (or one of its ``by_kind`` entries) records.

    Cards keep accuracies to 5 decimals, and a stored figure can sit on a half that rounding it again
    for display tips the wrong way: 2422 of 2485 is 97.4648%, stored as 0.97465, shown as 97.47%.
    With the count beside it the exact share is recovered, so every page and table shows what
    ``evaluate`` printed.

    Parameters
    ----------
    figures : dict
        ``{"accuracy": float, "n": int}``; ``n`` may be missing (older cards).

    Returns
    -------
    accuracy : float or None
        In [0, 1]; None when ``figures`` has no usable accuracy.
    """
    if not isinstance(figures, dict) or not isinstance(figures.get("accuracy"), (int, float)):
        return None
    accuracy = float(figures["accuracy"])
    n = figures.get("n")
    if isinstance(n, int) and n > 0:
        accuracy = round(accuracy * n) / n
    return accuracy


def record_in_card(model_path: str | os.PathLike, report: RealDevReport, *, threshold: str, command: str) -> Path:
    """Write the report's figures into the model card (``.json`` beside the ``.keras`` file) as ``real_dev``.

    Returns the card's path. Kinds with too few samples still appear, with their counts.
    """
    import json

    card_path = Path(model_path).with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.exists() else {"name": Path(model_path).stem}
    card["real_dev"] = {
        "accuracy": round(report.accuracy, 5),
        "n": report.n,
        "by_kind": {kind: {"n": n, "accuracy": round(c / n, 5)} for kind, (c, n) in sorted(report.by_kind.items())},
        "numbers_exact": f"{sum(1 for r in report.numbers if r['exact'])}/{len(report.numbers)}",
        "threshold": threshold,
        "command": command,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path
