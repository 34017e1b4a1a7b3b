"""Whole numbers written on paper, read by ``segment``: how often every digit comes out, in the right order.

Each number is 2-6 MNIST *test* digits (writers the model never trained on, pictures the preprocessing was
never tuned on) written side by side as a person writes a number: each digit's own size and height on the
line varying a little, gaps from a hair to half a digit, dark ink on off-white paper. Each number is then
put in one setting:

- ``plain``: on plain paper, scanned (a little noise);
- ``lined``: on ruled paper, the digits sitting on a printed line, the line above out of reach;
- ``squared``: on squared paper (a maths exercise book), squares about half a digit high;
- ``boxes``: one printed box per digit, as on a form;
- ``underlined``: the number underlined in its own ink, as a student marks an answer;
- ``on_desk``: the sheet lying on a dark desk that shows all round it;
- ``photo``: photographed: turned up to 6 degrees, light falling off across the page, noise, JPEG;
- ``lined_photo``: ruled paper, photographed so;
- ``touching``: on plain paper, written close, the digits' boxes overlapping up to a tenth of the line's
  height, so that many touch their neighbours.

One JSON line per setting: the share of numbers read exactly, the share whose digits were counted right,
and the share of digits right among those. Seeded, so two runs print the same figures::

    HDR_DATA_DIR=../shared/data python benchmarks/whole_numbers.py [--n 200] [--settings lined boxes] [--seed 0]

``segment`` reads the parts of a wide piece with the shipped network and digit check, as the Upload page and
``predict --multi`` do (``hdr_core.piece_reader``); ``--width-only`` cuts by width alone, the baseline.

This is a measurement, not a test: it reads MNIST through ``HDR_DATA_DIR``. ``tests/hdr_core/preprocess/
test_segment.py`` checks numbers drawn at test time in the same settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from photo_conditions import _gradient, _jpeg, _noise, _on_desk, _rotate

LINE_RGB = (150, 180, 220)  # a ruled line's pale blue
GRID_RGB = (170, 190, 200)


def written_number(digits: list[np.ndarray], rng: np.random.Generator, *, cells: bool = False,
                   gaps: tuple[float, float] = (0.08, 0.5)) -> tuple[np.ndarray, list[tuple[int, int, int, int]], int]:
    """Digits (each (28, 28) uint8, ink bright) written side by side: (ink (H, W) float32 in [0, 1], boxes,
    the line's height). The digits keep MNIST's sizes (each fit into 20x20, so a flat 0 is low, not wide)
    scaled to a line ``height`` high, each a little bigger or smaller, sitting on one baseline with gaps
    from a hair to half a digit (``gaps``, shares of the line's height; negative ones overlap the digits'
    boxes, so that their ink may touch). With ``cells`` they are written one per square cell of a form, centred
    in it, and ``boxes`` are the cells; else the digits' own boxes. A margin of a line's height all round."""
    height = int(rng.integers(40, 90))
    crops = []
    for digit in digits:
        rows, cols = np.flatnonzero(digit.max(axis=1) > 0), np.flatnonzero(digit.max(axis=0) > 0)
        crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32) / 255
        scale = height / 20 * float(rng.uniform(0.9, 1.1))
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crops.append(np.clip(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC), 0, 1))
    margin = height
    cell = int(height * 1.5)
    width = 2 * margin + sum(max(c.shape[1], cell) for c in crops) + int(height * 0.6 * len(crops))
    ink = np.zeros((4 * height, width), np.float32)
    baseline = margin + int(height * 1.1)
    x, boxes = margin, []
    for crop in crops:
        h, w = crop.shape
        if cells:  # centred in its cell; the cells touch, a form's row of boxes
            top = baseline - int(height * 1.25)
            y, left = top + (cell - h) // 2, x + (cell - w) // 2
            boxes.append((x, top, cell, cell))
            x += cell
        else:
            y, left = baseline - h + int(rng.integers(-height // 12, height // 12 + 1)), x
            boxes.append((left, y, w, h))
            x += w + int(height * float(rng.uniform(*gaps)))
        ink[y:y + h, left:left + w] = np.maximum(ink[y:y + h, left:left + w], crop)
    return ink[:, : x + margin], boxes, height


def on_paper(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink (H, W) float in [0, 1] on off-white paper: (H, W, 3) uint8 RGB."""
    paper = np.array([rng.uniform(225, 250)] * 3, np.float32) - np.array([0, 3, 10], np.float32)
    pen = np.array([rng.uniform(10, 70)] * 3, np.float32) + np.array([0, 0, rng.uniform(0, 60)], np.float32)
    picture = paper + (pen - paper) * ink[..., None]
    return np.clip(picture, 0, 255).astype(np.uint8)


def _ruled(picture: np.ndarray, boxes, height: int, grid: bool, rng: np.random.Generator) -> np.ndarray:
    """Printed lines under the ink (the ink is darker: where both are, the ink shows)."""
    out = picture.copy()
    lines = np.zeros(picture.shape[:2], np.uint8)
    thickness = max(1, round(height / 40))
    base = max(y + h for _, y, _, h in boxes)
    step = height * 0.55 if grid else height * float(rng.uniform(1.3, 1.6))
    y = base % step
    while y < picture.shape[0]:
        cv2.line(lines, (0, int(y)), (picture.shape[1], int(y)), 1, thickness)
        y += step
    if grid:
        x = float(rng.uniform(0, step))
        while x < picture.shape[1]:
            cv2.line(lines, (int(x), 0), (int(x), picture.shape[0]), 1, thickness)
            x += step
    colour = np.array(GRID_RGB if grid else LINE_RGB, np.uint8)
    drawn = lines.astype(bool)
    out[drawn] = np.minimum(out[drawn], colour)
    return out


def _boxed(picture: np.ndarray, cells, height: int) -> np.ndarray:
    """The form's printed row of boxes, one round each digit's cell."""
    out = picture.copy()
    thickness = max(1, round(height / 35))
    for x, y, w, h in cells:
        cv2.rectangle(out, (x, y), (x + w, y + h), (90, 90, 90), thickness)
    return out


def _underlined(picture: np.ndarray, boxes, height: int, rng: np.random.Generator) -> np.ndarray:
    out = picture.copy()
    ink = tuple(int(v) for v in picture.reshape(-1, 3)[np.argmin(picture.reshape(-1, 3).sum(axis=1))])
    base = max(y + h for _, y, _, h in boxes) + height // 5
    left, right = boxes[0][0] - height // 5, boxes[-1][0] + boxes[-1][2] + height // 5
    tilt = int(rng.integers(-height // 10, height // 10 + 1))
    cv2.line(out, (left, base), (right, base + tilt), ink, max(2, round(height / 18)))
    return out


def _photo(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    turned = _rotate(picture, float(rng.uniform(-6, 6)))
    return _jpeg(_noise(_gradient(turned), rng, 8), 50)


def settings() -> dict:
    """name -> (picture, boxes, height, rng) -> (H, W, 3) uint8 RGB."""
    return {
        "plain": lambda p, b, h, rng: _noise(p, rng, 3),
        "lined": lambda p, b, h, rng: _noise(_ruled(p, b, h, False, rng), rng, 3),
        "squared": lambda p, b, h, rng: _noise(_ruled(p, b, h, True, rng), rng, 3),
        "boxes": lambda p, b, h, rng: _noise(_boxed(p, b, h), rng, 3),
        "underlined": lambda p, b, h, rng: _noise(_underlined(p, b, h, rng), rng, 3),
        "on_desk": lambda p, b, h, rng: _on_desk(p, rng),
        "photo": lambda p, b, h, rng: _photo(p, rng),
        "lined_photo": lambda p, b, h, rng: _photo(_ruled(p, b, h, False, rng), rng),
        "touching": lambda p, b, h, rng: _noise(p, rng, 3),
    }


GAPS = {"touching": (-0.1, 0.02)}  # between the digits, shares of the line's height; else a hair to half a digit


def numbers(name: str, seed: int, count: int, mnist):
    """The first ``count`` numbers of setting ``name`` (a key of ``settings()``) under ``seed``: ``(label, picture)``
    pairs, the picture (H, W, 3) uint8 RGB. Each setting draws its own numbers, the same in every run whichever
    settings are asked for. ``mnist``: ``hdr_core.data.load_dataset("mnist")``."""
    table = settings()
    rng = np.random.default_rng([list(table).index(name), seed])
    for _ in range(count):
        picks = rng.choice(len(mnist.x_test), int(rng.integers(2, 7)), replace=False)
        label = "".join(str(int(mnist.y_test[i])) for i in picks)
        ink, boxes, height = written_number([mnist.x_test[i] for i in picks], rng, cells=name == "boxes",
                                              gaps=GAPS.get(name, (0.08, 0.5)))
        yield label, table[name](on_paper(ink, rng), boxes, height, rng)


def main() -> None:
    table = settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="numbers per setting (default 200)")
    parser.add_argument("--settings", nargs="+", choices=list(table), default=list(table))
    parser.add_argument("--model", default="models/hdr-accurate.keras")
    parser.add_argument("--seed", type=int, default=0,
                        help="another seed writes other numbers: a check on numbers no rule was tuned on")
    parser.add_argument("--save-failures", metavar="DIR", help="write each number not read exactly as a PNG here")
    parser.add_argument("--width-only", action="store_true",
                        help="cut touching digits by width alone, without reading the parts (the baseline of "
                             "hdr_core.piece_reader)")
    args = parser.parse_args()

    from hdr_core import preprocess
    from hdr_core.data import load_dataset
    from hdr_core.errors import HdrError
    from hdr_core.inference import Predictor
    from hdr_core.piece_reader import default_reader

    predictor = Predictor.from_path(REPO / args.model)
    reader = None if args.width_only else default_reader()
    mnist = load_dataset("mnist")
    for name in args.settings:
        exact = counted = right = total = 0
        for k, (label, picture) in enumerate(numbers(name, args.seed, args.n, mnist)):
            try:
                multi = preprocess.segment(picture, reader=reader)
                probabilities = predictor.predict_proba(np.stack([d.model_input for d in multi.digits]))
                digits = probabilities.argmax(axis=1)
                read = multi.number([int(d) for d in digits])
            except HdrError as error:
                read = f"error: {error}"
            exact += read == label
            if len(read) == len(label):
                counted += 1
                right += sum(a == b for a, b in zip(read, label))
                total += len(label)
            if read != label and args.save_failures:
                folder = Path(args.save_failures)
                folder.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(folder / f"{name}-{k:03d}-{label}-read-{read[:12]}.png"), picture[..., ::-1])
        print(json.dumps({"setting": name, "n": args.n, "exact": round(exact / args.n, 4),
                          "counted": round(counted / args.n, 4),
                          "digits_right": round(right / max(total, 1), 4)}), flush=True)


if __name__ == "__main__":
    main()
