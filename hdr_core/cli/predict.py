"""``predict``: image files read as the Upload page reads them, with the digit check's verdict."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from hdr_core.quiet import import_tensorflow_quietly

from .common import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    INPUT_ERRORS,
    Output,
    check_image_path,
    error_message,
    inspect_model,
    is_digit_set,
    load_predictor,
    log_progress,
    model_path_of,
)


def _predict_one(predictor, path: str, threshold: str) -> dict[str, Any]:
    from hdr_core import preprocess

    check_image_path(path)
    prepared = preprocess.preprocess(preprocess.load_image(path), threshold=threshold)
    prediction = predictor.predict(prepared.model_input)
    record: dict[str, Any] = {"path": path, "digit": prediction.index}
    if not is_digit_set(predictor.class_names):
        record["label"] = prediction.label
    record.update(
        confidence=round(prediction.confidence, 6),
        probabilities=[round(float(p), 6) for p in prediction.probabilities],
        **_digit_check_fields(predictor, prepared.model_input[None])[0],
        box=prepared.box.as_list(),
        steps=[stage.as_dict() for stage in prepared.trace],
        reading=prepared.reading,
    )
    return record


def _predict_multi(predictor, path: str, threshold: str) -> dict[str, Any]:
    from hdr_core import preprocess
    from hdr_core.errors import BlankImageError
    from hdr_core.piece_reader import default_reader

    check_image_path(path)
    segmented = preprocess.segment(preprocess.load_image(path), threshold=threshold, reader=default_reader())
    if not segmented.digits:
        raise BlankImageError(f"{path}: no digits found in the image.")
    probabilities = predictor.predict_proba(np.stack([d.model_input for d in segmented.digits]))  # (D, n)
    indices = probabilities.argmax(axis=1)
    labels = [predictor.class_names[i] for i in indices]
    digit_set = is_digit_set(predictor.class_names)
    checks = _digit_check_fields(predictor, np.stack([d.model_input for d in segmented.digits]))
    digits = []
    for crop, index, label, row, check in zip(segmented.digits, indices, labels, probabilities, checks):
        entry: dict[str, Any] = {"digit": int(index)}
        if not digit_set:
            entry["label"] = label
        entry.update(confidence=round(float(row[index]), 6), **check, box=crop.box.as_list())
        digits.append(entry)
    number = segmented.number(labels)
    steps = [stage.as_dict() for stage in segmented.trace]
    return {"path": path, "number": number, "digits": digits, "steps": steps, "reading": segmented.reading}


def _digit_check_fields(predictor, images: np.ndarray) -> list[dict[str, Any]]:
    """For each (28, 28) image, ``{"may_not_be_a_digit", "digit_probability"}`` from the digit check, or ``{}``
    (a model of other classes, or no digit check shipped)."""
    from hdr_core.digit_check import default_checker, verdict

    checker = default_checker() if is_digit_set(predictor.class_names) else None
    if checker is None:
        return [{} for _ in images]
    out = []
    for p in checker.digit_probabilities(images):
        check = verdict(float(p), checker.params)
        out.append({"may_not_be_a_digit": check.flagged, "digit_probability": round(check.digit_probability, 4)})
    return out


def _doubt(entry: dict[str, Any]) -> str:
    return ", may not be a digit" if entry.get("may_not_be_a_digit") else ""


def _describe_prediction(record: dict[str, Any]) -> str:
    if "number" in record:
        parts = ", ".join(f"{d.get('label', d['digit'])} {d['confidence']:.0%}{_doubt(d)}" for d in record["digits"])
        return f"{record['path']}: {record['number']}  ({parts})"
    return f"{record['path']}: {record.get('label', record['digit'])}  ({record['confidence']:.1%}{_doubt(record)})"


def cmd_predict(args: argparse.Namespace, out: Output) -> int:
    """Predict every image; a bad image is reported and the others still run (exit 2 if any failed)."""
    model_path = model_path_of(args.model)
    try:
        inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        predictor = load_predictor(args.model, trusted=args.trusted)
    except INPUT_ERRORS as error:
        return out.error(error_message(error), model=str(model_path))
    predict = _predict_multi if args.multi else _predict_one
    failed = 0
    for path in args.images:
        try:
            record = predict(predictor, path, args.threshold)
        except INPUT_ERRORS as error:
            failed += 1
            record = {"path": path, "error": error_message(error)}
            if not out.json:
                print(f"{path}: error: {record['error']}", file=sys.stderr, flush=True)
                continue
        if out.json:
            out.record(record)
        else:
            out.text(_describe_prediction(record))
    if failed and not out.json:
        log_progress(f"{failed} of {len(args.images)} file(s) could not be read")
    return EXIT_BAD_INPUT if failed else EXIT_OK
