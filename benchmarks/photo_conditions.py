"""How the reading of real handwriting holds up when the photo is worse than the one in real-dev.

Each real-dev single digit is degraded the way a phone or a careless scan degrades a picture, run
through the default preprocessing and a model, and the accuracy printed as one JSON line per
condition (overall and by kind; a file the preprocessing rejects counts as wrong):

- ``none``: the files as they are (the reference line);
- ``jpeg20``: saved again as JPEG at quality 20;
- ``small40``: shrunk to 40 pixels on the long side;
- ``noise``: Gaussian sensor noise, sigma 12 grey levels;
- ``blur``: out of focus (Gaussian, sigma 1/150 of the long side);
- ``low_contrast``: grey levels squeezed to 35% about mid-grey (faint pencil, dim light);
- ``blue_ink``: the strokes in blue ballpoint colour;
- ``gradient``: light falling off across the page to 45% on one side (a lamp, a hand's shadow);
- ``hard_shadow``: a sharp-edged shadow at 55% brightness over a third of the picture, through
  the digit (the phone's own shadow);
- ``rotated``: turned 15 degrees, half of them each way;
- ``perspective``: photographed at an angle (a keystone warp);
- ``far``: the digit a third of the picture's width and height, on more paper (with noise);
- ``desk``: the page did not fill the frame: a dark desk along the left side and the bottom, a
  twelfth of the picture deep (with noise);
- ``on_desk``: a small sheet lying on the dark desk, which shows all round it (half the sheet's
  long side on every side, with noise): the sheet is the bright part of the picture;
- ``on_gray_desk``: the same on a mid-grey desk (a grey table, a lab bench), closer to the paper's
  brightness;
- ``lamp_gray_desk``: that grey desk lit from one side, the light falling to half across the picture
  (the lit desk as bright as the paper in the shade);
- ``combined``: rotated 8 degrees, a gradient, noise and JPEG quality 40 together;
- ``answer_box``, ``circled``, ``underlined``: the picture on more paper (a third of its long side all
  round, with noise) with a mark in the ink's own colour round the digit, as worksheets print answer
  boxes and students circle or underline an answer: a box, an oval, or a line under the picture.

Every condition is seeded, so two runs print the same figures. Run from the repository root (about
25 minutes for every condition on 2 cores, the three marked ones a third of that; ``--every 4`` takes
a quarter)::

    HDR_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/photo_conditions.py [--conditions gradient far]

This is a measurement, not a test: it reads the data through ``HDR_DATA_DIR`` and a shipped model.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _shrink(image: np.ndarray, side: int) -> np.ndarray:
    height, width = image.shape[:2]
    factor = side / max(height, width)
    if factor >= 1:
        return image
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    noisy = image + rng.normal(0, sigma, image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), max(image.shape[:2]) / 150)


def _low_contrast(image: np.ndarray) -> np.ndarray:
    return (128 + (image.astype(np.float32) - 128) * 0.35).astype(np.uint8)


def _blue_ink(image: np.ndarray) -> np.ndarray:
    darkness = 1 - cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)[..., None] / 255
    ink = np.array([40, 60, 200], np.float32)
    return (255 - (255 - ink) * darkness).astype(np.uint8)


def _gradient(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    light = np.linspace(0.45, 1.0, width)[None, :, None] * np.linspace(1.0, 0.8, height)[:, None, None]
    return (image * light).astype(np.uint8)


def _hard_shadow(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    shadow = (xs + 0.5 * ys) < 0.55 * width
    out = image.astype(np.float32)
    out[shadow] *= 0.55
    return out.astype(np.uint8)


def _rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _perspective(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    seen = np.float32([[width * 0.08, 0], [width * 0.92, height * 0.05], [width, height], [0, height * 0.95]])
    matrix = cv2.getPerspectiveTransform(corners, seen)
    return cv2.warpPerspective(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _paper_and_ink(image: np.ndarray) -> tuple[list[int], list[int]]:
    """The paper's colour (the median of the picture's edge) and the ink's (the pixel farthest from it)."""
    channels = image.shape[2] if image.ndim == 3 else 1
    pixels = image.reshape(-1, channels).astype(np.float32)
    edge = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).reshape(-1, channels)
    paper = np.median(edge, axis=0)
    ink = pixels[np.argmax(np.abs(pixels - paper).sum(axis=1))]
    return [int(v) for v in paper], [int(v) for v in ink]


def _far(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    paper, _ = _paper_and_ink(image)
    framed = cv2.copyMakeBorder(image, height, height, width, width, cv2.BORDER_CONSTANT, value=paper)
    return _noise(framed, rng, 4)


DESK_RGB = (62, 46, 36)  # dark wood


def _desk(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    colour = DESK_RGB if image.ndim == 3 else int(np.mean(DESK_RGB))
    framed = cv2.copyMakeBorder(image, 0, height // 12, width // 12, 0, cv2.BORDER_CONSTANT, value=colour)
    return _noise(framed, rng, 4)


GRAY_DESK_RGB = (128, 128, 128)


def _on_desk(image: np.ndarray, rng: np.random.Generator, desk: tuple[int, int, int] = DESK_RGB) -> np.ndarray:
    margin = max(image.shape[:2]) // 2
    colour = desk if image.ndim == 3 else int(np.mean(desk))
    framed = cv2.copyMakeBorder(image, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=colour)
    return _noise(framed, rng, 4)


def _lamp(image: np.ndarray) -> np.ndarray:
    light = np.linspace(1.0, 0.5, image.shape[1])[None, :, None]
    return (image * light).astype(np.uint8)


def _marked(image: np.ndarray, rng: np.random.Generator, mark: str) -> np.ndarray:
    height, width = image.shape[:2]
    paper, ink = _paper_and_ink(image)
    margin = max(height, width) // 3
    framed = cv2.copyMakeBorder(image, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=paper)
    big_height, big_width = framed.shape[:2]
    thickness = max(2, round(max(height, width) * 0.012))
    if mark == "box":
        inset = margin // 2
        cv2.rectangle(framed, (inset, inset), (big_width - inset, big_height - inset), ink, thickness)
    elif mark == "circle":
        axes = (big_width // 2 - margin // 4, big_height // 2 - margin // 4)
        cv2.ellipse(framed, (big_width // 2, big_height // 2), axes, 0, 0, 360, ink, thickness)
    else:  # a little slanted, half the margin under the picture
        y = big_height - margin // 2
        cv2.line(framed, (margin // 2, y), (big_width - margin // 2, y - margin // 8), ink, thickness)
    return _noise(framed, rng, 4)  # a flawless margin would be one flat grey: a digital drawing's background


def conditions() -> dict:
    """name -> (image, rng) -> degraded image; each (H, W, 3) uint8 RGB."""
    return {
        "none": lambda image, rng: image,
        "jpeg20": lambda image, rng: _jpeg(image, 20),
        "small40": lambda image, rng: _shrink(image, 40),
        "noise": lambda image, rng: _noise(image, rng, 12),
        "blur": lambda image, rng: _blur(image),
        "low_contrast": lambda image, rng: _low_contrast(image),
        "blue_ink": lambda image, rng: _blue_ink(image),
        "gradient": lambda image, rng: _gradient(image),
        "hard_shadow": lambda image, rng: _hard_shadow(image),
        "rotated": lambda image, rng: _rotate(image, 15 if rng.random() < 0.5 else -15),
        "perspective": lambda image, rng: _perspective(image),
        "far": _far,
        "desk": _desk,
        "on_desk": _on_desk,
        "on_gray_desk": lambda image, rng: _on_desk(image, rng, GRAY_DESK_RGB),
        "lamp_gray_desk": lambda image, rng: _lamp(_on_desk(image, rng, GRAY_DESK_RGB)),
        "combined": lambda image, rng: _jpeg(_noise(_gradient(_rotate(image, 8)), rng, 12), 40),
        "answer_box": lambda image, rng: _marked(image, rng, "box"),
        "circled": lambda image, rng: _marked(image, rng, "circle"),
        "underlined": lambda image, rng: _marked(image, rng, "underline"),
    }


def main() -> None:
    table = conditions()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conditions", nargs="+", choices=list(table), default=list(table))
    parser.add_argument("--model", default="models/hdr-accurate.keras")
    parser.add_argument("--every", type=int, default=1, help="use every Nth real-dev digit (default all)")
    args = parser.parse_args()

    from hdr_core import preprocess, realdev
    from hdr_core.errors import HdrError
    from hdr_core.inference import Predictor

    predictor = Predictor.from_path(REPO / args.model)
    samples = [s for s in realdev.load_real_dev() if s.kind != "multi"][:: args.every]
    images = [preprocess.load_image(s.path) for s in samples]
    labels = np.array([int(s.label) for s in samples])
    for name in args.conditions:
        rng = np.random.default_rng(0)
        inputs, failed = [], np.zeros(len(samples), bool)
        for i, image in enumerate(images):
            try:
                inputs.append(preprocess.preprocess(table[name](image, rng)).model_input)
            except HdrError:
                inputs.append(np.zeros((28, 28), np.float32))
                failed[i] = True
        right = (predictor.predict_proba(np.stack(inputs)).argmax(axis=1) == labels) & ~failed
        by_kind = defaultdict(list)
        for sample, ok in zip(samples, right):
            by_kind[sample.kind].append(ok)
        print(json.dumps({
            "condition": name, "model": args.model, "n": len(samples),
            "accuracy": round(float(right.mean()), 4), "rejected": int(failed.sum()),
            "by_kind": {kind: round(float(np.mean(oks)), 4) for kind, oks in sorted(by_kind.items())},
        }), flush=True)


if __name__ == "__main__":
    main()
