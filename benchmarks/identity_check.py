"""Whether two versions of the preprocessing give the model exactly the same inputs.

A restructuring of ``hdr_core.preprocess`` must not change what it reads. This script runs every
``real-dev`` file (``preprocess``, or ``segment`` for the photos of whole numbers) and every picture
``benchmarks/photo_conditions.py`` makes, and saves each 28x28 model input (or the error message of a
rejected picture) to one ``.npz``. Run it at the old commit with ``--save``, at the new one with
``--against``; it prints how many arrays differ, and which::

    git worktree add /tmp/hdr-before <old commit>
    HDR_DATA_DIR=../shared/data PYTHONPATH=/tmp/hdr-before python benchmarks/identity_check.py --save /tmp/before.npz
    HDR_DATA_DIR=../shared/data python benchmarks/identity_check.py --against /tmp/before.npz

Both sides can also run at once, each with ``--save``, and be compared with ``--against OLD --saved NEW``.
Only the public API is used (``load_image``, ``preprocess``, ``segment``), so the same file runs on both
sides. ``--every N`` uses every Nth real-dev digit for the photo conditions (default all: about 20 minutes
on 2 cores). This is a measurement, not a test: it needs ``HDR_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(REPO))


def _conditions() -> dict:
    spec = importlib.util.spec_from_file_location("photo_conditions", REPO / "benchmarks" / "photo_conditions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.conditions()


def _read(function, image) -> np.ndarray | str:
    """The (k, 28, 28) float32 model inputs for ``image``, or the error's message."""
    from hdr_core.errors import HdrError

    try:
        result = function(image)
    except HdrError as error:
        return f"{type(error).__name__}: {error}"
    digits = getattr(result, "digits", None)
    if digits:
        return np.stack([d.model_input for d in digits])
    return result.model_input[None]


def collect(every: int, conditions: list[str] | None) -> dict[str, np.ndarray | str]:
    """key -> model inputs or error message, for real-dev as it is and under each photo condition."""
    from hdr_core import preprocess, realdev

    samples = realdev.load_real_dev()
    folder = realdev.real_dev_dir()
    out: dict[str, np.ndarray | str] = {}
    images = {}
    for sample in samples:
        image = preprocess.load_image(sample.path)
        function = preprocess.segment if sample.kind == "multi" else preprocess.preprocess
        name = sample.path.relative_to(folder).as_posix()  # file names repeat across the set's folders
        out[f"real-dev/{name}"] = _read(function, image)
        if sample.kind != "multi":
            images[name] = image
    table = _conditions()
    names = list(images)[::every]
    for condition in conditions or list(table):
        started = time.perf_counter()
        rng = np.random.default_rng(0)  # as photo_conditions.py seeds each condition
        for name in names:
            out[f"{condition}/{name}"] = _read(preprocess.preprocess, table[condition](images[name], rng))
        print(f"{condition}: {len(names)} pictures in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    side = parser.add_mutually_exclusive_group(required=True)
    side.add_argument("--save", type=Path, help="write the model inputs here (.npz)")
    side.add_argument("--against", type=Path, help="compare with the model inputs saved here")
    parser.add_argument("--saved", type=Path, help="with --against: compare these saved inputs instead of running")
    parser.add_argument("--every", type=int, default=1, help="every Nth real-dev digit for the photo conditions")
    parser.add_argument("--conditions", nargs="+", help="only these photo conditions (default all)")
    args = parser.parse_args()

    if args.saved:
        with np.load(args.saved) as saved:
            arrays = {key.replace("|", "/"): saved[key] for key in saved.files}
    else:
        found = collect(args.every, args.conditions)
        arrays = {key: (np.array(value) if isinstance(value, str) else value) for key, value in found.items()}
    if args.save:
        np.savez_compressed(args.save, **{key.replace("/", "|"): value for key, value in arrays.items()})
        print(json.dumps({"saved": str(args.save), "pictures": len(arrays)}))
        return
    with np.load(args.against) as before:
        old = {key.replace("|", "/"): before[key] for key in before.files}
    missing = sorted(set(old) ^ set(arrays))
    differ = [key for key in sorted(set(old) & set(arrays))
              if old[key].dtype != arrays[key].dtype or old[key].shape != arrays[key].shape
              or not np.array_equal(old[key], arrays[key])]
    print(json.dumps({"pictures": len(arrays), "identical": len(arrays) - len(differ) - len(missing),
                      "different": len(differ), "only_on_one_side": len(missing),
                      "examples": (differ + missing)[:20]}, indent=1))
    sys.exit(1 if differ or missing else 0)


if __name__ == "__main__":
    main()
