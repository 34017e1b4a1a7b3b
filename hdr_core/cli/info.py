"""``bench`` (speed figures beside their baselines) and ``info`` (models, datasets, versions)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from hdr_core import __version__
from hdr_core.constants import DATA_DIR_ENV, MODELS_DIR_ENV
from hdr_core.errors import HdrError

from .common import EXIT_BAD_INPUT, EXIT_OK, INPUT_ERRORS, Output, error_message, log_progress
from .options import REAL_DEV


def cmd_bench(args: argparse.Namespace, out: Output) -> int:
    """Speed figures with their baselines (see hdr_core.bench)."""
    from hdr_core import bench

    try:
        report = bench.run_all(quick=args.quick, model_path=args.model, repeats=args.repeats, progress=log_progress)
    except INPUT_ERRORS as error:
        return out.error(error_message(error))
    failed = [name for name, section in report.items() if isinstance(section, dict) and "error" in section]
    if out.json:
        out.document(report)
    else:
        for line in bench.describe(report):
            out.text(line)
    return EXIT_BAD_INPUT if failed else EXIT_OK



_CARD_FIGURES = ("title", "dataset", "architecture", "params", "epochs", "test_accuracy", "real_dev_accuracy",
                 "val_accuracy", "train_seconds", "date", "training_command")


def _versions() -> dict[str, str | None]:
    import importlib.metadata as metadata
    import platform

    versions: dict[str, str | None] = {"python": platform.python_version(), "hdr_core": __version__}
    for label, dists in (("numpy", ("numpy",)), ("tensorflow", ("tensorflow", "tensorflow-cpu")),
                         ("keras", ("keras",)), ("opencv", ("opencv-python-headless", "opencv-python")),
                         ("pillow", ("pillow",)), ("streamlit", ("streamlit",))):
        versions[label] = None
        for dist in dists:
            try:
                versions[label] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def info_report() -> dict[str, Any]:
    """What ``info`` prints: shipped models and their key figures, datasets, data folders, versions.

    Cheap: reads model cards and checks that files exist; imports no TensorFlow.
    """
    from hdr_core import data, inference, realdev

    models = []
    for model in inference.shipped_models():
        card = model.card
        entry = {"name": model.name, "path": str(model.path), "default": model.is_default,
                 "size_bytes": model.path.stat().st_size,
                 "n_classes": len(model.class_names) if model.class_names else None}
        entry.update({key: card[key] for key in _CARD_FIGURES if key in card})
        real = card.get("real_dev")  # written by evaluate --dataset real-dev --update-card
        real_accuracy = realdev.recorded_accuracy(real)
        if real_accuracy is not None:
            entry["real_dev_accuracy"] = real_accuracy
            entry["real_dev_by_kind"] = {kind: realdev.recorded_accuracy(f)
                                         for kind, f in (real.get("by_kind") or {}).items()}
        models.append(entry)
    try:
        real_dev: str | None = str(realdev.real_dev_dir())
    except HdrError:
        real_dev = None
    return {
        "models": models,
        "default_model": str(inference.default_model_path()),
        "models_dir": str(inference.models_dir()),
        "datasets": data.available_datasets(),
        "real_dev": real_dev,
        "data_dirs": [str(d) for d in data.data_dirs()],
        DATA_DIR_ENV: os.environ.get(DATA_DIR_ENV) or None,
        MODELS_DIR_ENV: os.environ.get(MODELS_DIR_ENV) or None,
        "versions": _versions(),
    }


def cmd_info(args: argparse.Namespace, out: Output) -> int:
    report = info_report()
    if out.json:
        out.document(report)
        return EXIT_OK
    out.text(f"models ({report['models_dir']}):")
    if not report["models"]:
        out.text("  none")
    for m in report["models"]:
        figures = [f"{m['params']:,} params" if isinstance(m.get("params"), int) else None,
                   f"test {m['test_accuracy']:.2%}" if isinstance(m.get("test_accuracy"), float) else None,
                   f"real-dev {m['real_dev_accuracy']:.2%}" if isinstance(m.get("real_dev_accuracy"), float) else None,
                   f"{m['size_bytes'] / 1e6:.1f} MB"]
        out.text(f"  {m['name']}{' (default)' if m['default'] else ''}: {m.get('title', '')}, "
                 f"{m.get('dataset', '?')}; " + ", ".join(f for f in figures if f))
    out.text(f"{DATA_DIR_ENV}={report[DATA_DIR_ENV] or '(not set)'}")
    out.text("data is looked for in: " + ", ".join(report["data_dirs"]))
    out.text("datasets:")
    for name, where in report["datasets"].items():
        out.text(f"  {name:16s} {where or 'missing'}")
    out.text(f"  {REAL_DEV:16s} {report['real_dev'] or 'missing'}")
    out.text("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v))
    return EXIT_OK
