"""How much halving the slant (``NormalizeParams.straighten_share``) helps, and at what share.

For each share of the deskew shear (0 = off, 1 = full deskew), prints one JSON line per model with:

- ``real_dev_misses``: wrong digits on ``real-dev`` (default preprocessing otherwise), and by kind;
- ``mnist_redrawn``: accuracy on the MNIST test digits upscaled to 112 x 112, thresholded and run
  back through the normalisation, a stand-in for digits drawn on the Draw page's canvas.

Run from the repository root (about two minutes per share on 2 cores)::

    HDR_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/straighten.py [--shares 0 0.25 0.5 0.75 1]

This is a measurement, not a test: it reads the data through ``HDR_DATA_DIR`` and the shipped models.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.0, 0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--models", nargs="+", default=["models/hdr-accurate.keras", "models/hdr-fast.keras"])
    args = parser.parse_args()

    import cv2

    from hdr_core import preprocess, realdev
    from hdr_core.data import load_dataset
    from hdr_core.inference import Predictor

    predictors = {name: Predictor.from_path(REPO / name) for name in args.models}
    samples = realdev.load_real_dev()
    mnist = load_dataset("mnist")
    big = [cv2.resize(image, (112, 112), interpolation=cv2.INTER_LINEAR) >= 128 for image in mnist.x_test]
    whole = preprocess.Box(0, 0, 112, 112)
    for share in args.shares:
        params = preprocess.Params(normalize=replace(preprocess.NormalizeParams(), straighten_share=share))
        prepared = realdev.prepare_real_dev(samples, params=params)
        redrawn = np.stack([preprocess.normalize(mask.astype(np.uint8) * 255, mask, whole, params=params)
                            for mask in big])
        for name, predictor in predictors.items():
            report = realdev.score_real_dev(predictor.predict_proba, prepared)
            redrawn_acc = float((predictor.predict_proba(redrawn).argmax(axis=1) == mnist.y_test).mean())
            print(json.dumps({
                "share": share, "model": name,
                "real_dev_misses": report.n - report.correct, "real_dev_n": report.n,
                "misses_by_kind": {kind: total - right for kind, (right, total) in report.by_kind.items()},
                "mnist_redrawn": round(redrawn_acc, 4),
            }), flush=True)


if __name__ == "__main__":
    main()
