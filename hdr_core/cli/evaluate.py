"""``evaluate`` (a dataset split or real-dev), ``calibrate`` and ``export-lite``: a model's figures and files."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from hdr_core.calibration import card_temperature
from hdr_core.constants import DIGIT_CLASS_NAMES
from hdr_core.errors import ModelError
from hdr_core.quiet import import_tensorflow_quietly

from .common import (
    EXIT_OK,
    INPUT_ERRORS,
    Output,
    error_message,
    inspect_model,
    is_digit_set,
    load_predictor,
    model_path_of,
)
from .options import REAL_DEV

MAX_FAILURES_SHOWN = 20  # evaluate real-dev lists at most this many failures


def _class_count_error(model_path: Path, n_outputs: int, dataset: str, n_classes: int) -> ModelError:
    return ModelError(
        f"The model {model_path.name} has {n_outputs} outputs but {dataset} has {n_classes} classes: "
        f"evaluate it on a dataset with {n_outputs} classes, or choose a model trained on {dataset}."
    )


def cmd_evaluate(args: argparse.Namespace, out: Output) -> int:
    """Accuracy, loss and per-class accuracy of a model on a dataset split (or on real-dev)."""
    from hdr_core import data, inference, train

    name = args.dataset.strip().lower()
    model_path = model_path_of(args.model)
    context = {"model": str(model_path), "dataset": args.dataset}
    if name == REAL_DEV:
        return _evaluate_real_dev(args, out, model_path, context)
    if args.kind or args.update_card:
        return out.error(f"--kind and --update-card apply only to --dataset {REAL_DEV}", **context)
    try:
        try:
            class_names = data.class_names(name)
        except ValueError as error:
            raise ValueError(f"{error}, or {REAL_DEV} (the real handwriting set)") from None
        dataset = data.load_dataset(name)
        inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        model = inference.load_model(model_path, trusted=args.trusted)
        n_outputs = inference.check_model(model)
        if n_outputs != len(class_names):
            raise _class_count_error(model_path, n_outputs, name, len(class_names))
    except INPUT_ERRORS as error:
        return out.error(error_message(error), **context)
    images, labels = (dataset.x_test, dataset.y_test) if args.split == "test" else (dataset.x_train, dataset.y_train)
    if args.limit is not None:
        images, labels = images[: args.limit], labels[: args.limit]
    started = time.perf_counter()
    temperature = card_temperature(inference.read_card(model_path))
    evaluation = train.evaluate_model(model, images, labels, len(class_names), temperature=temperature)
    result = {
        "model": str(model_path),
        "dataset": name,
        "split": args.split,
        "n": evaluation.n,
        "accuracy": round(evaluation.accuracy, 5),
        "loss": round(evaluation.loss, 5),
        "ece": round(evaluation.ece, 5),
        "temperature": temperature,
        "per_class": [round(a, 5) for a in evaluation.per_class],
        "class_names": list(class_names),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if out.json:
        out.document(result)
    else:
        out.text(f"{model_path.name} on {name} {args.split} ({result['n']} images): "
                 f"accuracy {evaluation.accuracy:.2%}, loss {evaluation.loss:.4f}, calibration error (ECE) "
                 f"{evaluation.ece:.2%} (temperature {temperature:g})")
        out.text("per class: " + "  ".join(
            f"{c} {a:.1%}" if math.isfinite(a) else f"{c} -" for c, a in zip(class_names, evaluation.per_class)))
    return EXIT_OK


def cmd_export_lite(args: argparse.Namespace, out: Output) -> int:
    """Convert the model for LiteRT (checked against the model's own outputs) and record it in its card."""
    from hdr_core import inference, lite

    model_path = model_path_of(args.model)
    context = {"model": str(model_path)}
    try:
        inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        model = inference.load_model(model_path, trusted=args.trusted)
        lite_path = lite.export_lite(model_path, model)
    except INPUT_ERRORS as error:
        return out.error(error_message(error), **context)
    except OSError as error:
        return out.error(f"cannot write the LiteRT file: {error}", **context)
    result = {**context, "litert": str(lite_path), "bytes": lite_path.stat().st_size}
    if out.json:
        out.document(result)
    else:
        out.text(f"{model_path.name}: {lite_path.name} written ({result['bytes']:,} bytes), same answers as the "
                 "model (checked); the card records it.")
    return 0



def cmd_calibrate(args: argparse.Namespace, out: Output) -> int:
    """Fit the temperature on the validation split the card's training config held out; write it to the card."""
    from hdr_core import data, inference, train

    model_path = model_path_of(args.model)
    context = {"model": str(model_path)}
    card_path = model_path.with_suffix(".json")
    try:
        card = inference.read_card(model_path)
        if not card or "config" not in card:
            raise ModelError(f"{model_path.name} has no model card with its training config ({card_path.name}): "
                             "its validation split is unknown, so it cannot be calibrated here.")
        config = train.TrainConfig.from_json(card["config"])
        dataset = data.load_dataset(config.dataset)
        _, val_idx = train.split_validation(len(dataset.x_train), config)
        if not len(val_idx):
            raise ModelError(f"{model_path.name} was trained without a validation split: nothing to calibrate on.")
        inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        model = inference.load_model(model_path, trusted=args.trusted)
    except INPUT_ERRORS as error:
        return out.error(error_message(error), **context)
    calibration = train.calibrate(model, dataset.x_train[val_idx], dataset.y_train[val_idx])
    test = train.evaluate_model(model, dataset.x_test, dataset.y_test, len(dataset.class_names),
                                temperature=calibration.temperature)
    card["calibration"] = calibration.as_card()
    card["test_ece"] = round(test.ece, 5)
    try:
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    except OSError as error:
        return out.error(f"cannot update the model card: {error}", **context)
    result = {**context, **calibration.as_card(), "test_ece": card["test_ece"], "card": str(card_path)}
    if out.json:
        out.document(result)
    else:
        out.text(f"{model_path.name}: temperature {calibration.temperature:.3f} fitted on {calibration.n} validation "
                 f"images; calibration error (ECE) there {calibration.ece_before:.2%} -> {calibration.ece_after:.2%}, "
                 f"on the test split {test.ece:.2%}. Written to {card_path}.")
    return EXIT_OK


def _evaluate_real_dev(args: argparse.Namespace, out: Output, model_path: Path, context: dict) -> int:
    from hdr_core import realdev

    try:
        samples = realdev.load_real_dev(kinds=args.kind)
        inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        predictor = load_predictor(args.model, trusted=args.trusted)
        if predictor.n_classes != len(DIGIT_CLASS_NAMES):
            raise _class_count_error(model_path, predictor.n_classes, REAL_DEV, len(DIGIT_CLASS_NAMES))
        if not is_digit_set(predictor.class_names):
            raise ModelError(f"The model {model_path.name} predicts {', '.join(predictor.class_names)}, not the "
                             f"digits 0-9 that {REAL_DEV} is labelled with: choose a digit model.")
    except INPUT_ERRORS as error:
        return out.error(error_message(error), **context)
    if args.limit is not None:
        samples = samples[: args.limit]
    if not samples:
        return out.error(f"no {REAL_DEV} samples" + (f" of kind {', '.join(args.kind)}" if args.kind else ""),
                         **context)
    started = time.perf_counter()
    report = realdev.evaluate_real_dev(predictor.predict_proba, samples, threshold=args.threshold)
    summary = report.to_json()
    base = realdev.real_dev_dir()

    def short(path: str) -> str:
        try:
            return str(Path(path).relative_to(base))
        except ValueError:
            return path

    per_class = [None if a is None else round(a, 5) for a in realdev.per_class_accuracy(samples, report)]
    result = {
        "model": str(model_path),
        "dataset": REAL_DEV,
        "split": "dev",
        "threshold": args.threshold,
        "n": summary["n"],
        "accuracy": summary["accuracy"] if report.n else None,
        "loss": None,  # the real-dev evaluation reports only what was read
        "per_class": per_class,
        "class_names": list(DIGIT_CLASS_NAMES),
        "by_kind": summary["by_kind"],
        "by_source": summary["by_source"],
        "numbers": [{**n, "path": short(n["path"])} for n in summary["numbers"]],
        "numbers_exact": summary["numbers_exact"],
        "ece": summary["ece"],
        "temperature": predictor.temperature,
        "n_failures": len(report.failures),
        "failures": [{**f, "path": short(f["path"])} for f in report.failures[:MAX_FAILURES_SHOWN]],
        "folder": str(base),
        "seconds": round(time.perf_counter() - started, 2),
    }
    if args.update_card:
        try:
            realdev.record_in_card(model_path, report, threshold=args.threshold,
                                   command=f"python -m hdr_core evaluate --dataset {REAL_DEV} --model "
                                           f"{args.model or 'models/' + model_path.name} --update-card")
        except OSError as error:
            return out.error(f"cannot update the model card: {error}", **context)
    if out.json:
        out.document(result)
    else:
        accuracy = f"{report.accuracy:.2%}" if report.n else "-"
        calibration = "" if report.ece is None else f", calibration error (ECE) {report.ece:.2%}"
        out.text(f"{model_path.name} on {REAL_DEV} ({report.n} single digits, threshold {args.threshold}): "
                 f"accuracy {accuracy}{calibration}")
        for kind, figures in result["by_kind"].items():
            out.text(f"  {kind:8s} {figures['accuracy']:.2%} of {figures['n']}")
        if len(result["by_source"]) > 1:
            out.text("  by source (the project each digit came from, largest first):")
            for source, figures in result["by_source"].items():
                misses = round(figures["n"] * (1 - figures["accuracy"]))
                out.text(f"    {figures['accuracy']:7.2%} of {figures['n']:4d} ({misses} missed)  {source}")
        for number in result["numbers"]:
            out.text(f"  number {number['path']}: read {number['read']!r}, label {number['label']!r}")
        if report.failures:
            out.text(f"  {len(report.failures)} failure(s); --json lists the first {MAX_FAILURES_SHOWN}")
    return EXIT_OK
