"""Clean digit pictures, saved the way people save them, read by the project beside the textbook pipeline.

MNIST test digits are written to a temporary folder as a person saves a clean digit: cropped tight to the
ink (0-3 px of margin, so the digit touches the picture's edge) or with a thin frame of margin, dark on
light or light on dark, upscaled 2-8x, some faint (ink 10-40 grey levels from the paper), some JPEG. Each
file is read back and run through

- the project: ``hdr_core.preprocess.preprocess`` (the Upload page's and ``predict``'s path), and
- the textbook pipeline: Otsu's threshold, the ink as the minority, cropped to the ink's box, fit into
  20x20 keeping its aspect ratio, centre of mass at (14, 14) (``textbook`` below, about 30 lines),

both fed to the same model, in the same run. One JSON line per kind, then the totals::

    HDR_DATA_DIR=../shared/data python benchmarks/clean_inputs.py [--n 2000] [--model models/hdr-accurate.keras]

Kinds: ``tight`` (PNG, either polarity), ``faint``, ``jpeg`` (quality 40-90), ``margin`` (a frame of 4-20%
of the digit's size round it), each of ``--n`` digits in turn; and ``small``: another ``n / 4`` digits
cropped tight and saved *smaller* than MNIST's own 28 px, 14-24 px on the long side, as postal digits
and thumbnails are (drawn from their own digits and seed, so adding the kind left the other four's
pictures as they were). A picture the project rejects counts as wrong. Every picture is seeded, so two
runs print the same figures. This is a measurement, not a test: it reads MNIST through
``HDR_DATA_DIR``; ``tests/hdr_core/preprocess/test_clean_inputs.py`` checks a small sample of the same kinds.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

UPSCALED = ("tight", "faint", "jpeg", "margin")
KINDS = (*UPSCALED, "small")


def clean_picture(digit: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[bytes, str]:
    """One (28, 28) uint8 MNIST digit (ink bright) saved as a person would save it: ``(file bytes, suffix)``.

    ``kind`` is one of ``KINDS``. The polarity (dark ink on light paper, or light on dark) is drawn at random.
    """
    rows, cols = np.flatnonzero(digit.max(axis=1) > 0), np.flatnonzero(digit.max(axis=0) > 0)
    margin = int(rng.integers(0, 4))
    crop = np.pad(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], margin).astype(np.float32) / 255
    if kind == "small":
        factor = float(rng.uniform(14, 24)) / max(crop.shape)
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        big = np.clip(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), 0, 1)
    else:
        factor = float(rng.uniform(2, 8))
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        big = np.clip(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC), 0, 1)
    if kind == "margin":
        frame = max(1, round(float(rng.uniform(0.04, 0.2)) * max(big.shape)))
        big = np.pad(big, frame)
    if kind == "faint":
        paper = float(rng.uniform(170, 250))
        ink = paper - float(rng.uniform(10, 40))
    else:
        paper, ink = float(rng.uniform(225, 255)), float(rng.uniform(0, 50))
    if rng.random() < 0.5:  # light ink on a dark background
        paper, ink = 255 - paper, 255 - ink
    picture = np.clip(np.rint(paper + (ink - paper) * big), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    if kind == "jpeg":
        Image.fromarray(picture).save(buffer, "JPEG", quality=int(rng.integers(40, 91)))
        return buffer.getvalue(), ".jpg"
    Image.fromarray(picture).save(buffer, "PNG")
    return buffer.getvalue(), ".png"


def textbook(gray: np.ndarray) -> np.ndarray:
    """The textbook pipeline: (H, W) uint8 -> (28, 28) float32 in [0, 1], ink bright.

    Otsu's threshold; the ink is the minority class; crop to the ink's box; fit into 20x20 keeping the
    aspect ratio (area-averaged, so the edges come out grey); centre of mass moved to (14, 14).
    """
    _, bright = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = bright if bright.mean() < 0.5 else 1 - bright
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return np.zeros((28, 28), np.float32)
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32)
    scale = 20 / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    out = np.zeros((28, 28), np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    out[top:top + size[1], left:left + size[0]] = small
    ys, xs = np.indices(out.shape)
    total = out.sum()
    shift = np.float32([[1, 0, 14 - (xs * out).sum() / total], [0, 1, 14 - (ys * out).sum() / total]])
    return np.clip(cv2.warpAffine(out, shift, (28, 28)), 0, 1)


def pictures(n: int, seed: int = 0) -> list[tuple[str, int, bytes, str]]:
    """``n`` MNIST test digits (evenly spread over the set), the ``UPSCALED`` kinds in turn, then ``n // 4``
    other digits (half way between those) saved ``small``: ``(kind, label, bytes, suffix)``."""
    from hdr_core.data import load_dataset

    mnist = load_dataset("mnist")
    rng = np.random.default_rng(seed)
    step = max(1, len(mnist.x_test) // n)
    out = []
    for k, index in enumerate(range(0, step * n, step)):
        kind = UPSCALED[k % len(UPSCALED)]
        data, suffix = clean_picture(mnist.x_test[index], kind, rng)
        out.append((kind, int(mnist.y_test[index]), data, suffix))
    small_rng = np.random.default_rng(seed + 1)
    small_step = max(1, len(mnist.x_test) // max(1, n // 4))
    for index in range(small_step // 2, len(mnist.x_test), small_step)[: n // 4]:
        data, suffix = clean_picture(mnist.x_test[index], "small", small_rng)
        out.append(("small", int(mnist.y_test[index]), data, suffix))
    return out


def read_all(items, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write every picture to ``folder``, read it back both ways: (project inputs, textbook inputs, rejected)."""
    from hdr_core import preprocess
    from hdr_core.errors import HdrError

    ours, theirs, rejected = [], [], []
    for k, (kind, label, data, suffix) in enumerate(items):
        path = folder / f"{k:05d}-{kind}-{label}{suffix}"
        path.write_bytes(data)
        try:
            image = preprocess.load_image(path)
        except HdrError:  # refused (too small...): wrong for the project; the textbook reads the raw file
            theirs.append(textbook(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)))
            ours.append(np.zeros((28, 28), np.float32))
            rejected.append(True)
            continue
        theirs.append(textbook(preprocess.to_grayscale(image)))
        try:
            ours.append(preprocess.preprocess(image).model_input)
            rejected.append(False)
        except HdrError:  # found blank: counts as wrong
            ours.append(np.zeros((28, 28), np.float32))
            rejected.append(True)
    return np.stack(ours), np.stack(theirs), np.array(rejected)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="how many MNIST test digits (default 2000)")
    parser.add_argument("--model", default="models/hdr-accurate.keras")
    args = parser.parse_args()

    from hdr_core.inference import Predictor

    predictor = Predictor.from_path(REPO / args.model)
    items = pictures(args.n)
    with tempfile.TemporaryDirectory(prefix="hdr-clean-") as folder:
        ours, theirs, rejected = read_all(items, Path(folder))
    labels = np.array([label for _, label, _, _ in items])
    right = (predictor.predict_proba(ours).argmax(axis=1) == labels) & ~rejected
    right_textbook = predictor.predict_proba(theirs).argmax(axis=1) == labels
    groups = defaultdict(list)
    for k, (kind, _, _, _) in enumerate(items):
        groups[kind].append(k)
    for kind in (*KINDS, "all"):
        index = np.array(groups[kind] if kind != "all" else range(len(items)))
        print(json.dumps({"kind": kind, "n": int(index.size), "model": args.model,
                          "project": round(float(right[index].mean()), 4),
                          "textbook": round(float(right_textbook[index].mean()), 4),
                          "project_rejected": int(rejected[index].sum())}), flush=True)


if __name__ == "__main__":
    main()
