"""The command line: ``python -m hdr_core <command>``.

=========  =========================================================================================
command    does
=========  =========================================================================================
predict    read image files, preprocess them as the Upload page does, predict the digit (or a whole
           number with ``--multi``)
evaluate   accuracy of a model on a dataset split, or on the real handwriting set (``real-dev``)
calibrate  fit a model's temperature on its validation split (probabilities that mean what they say)
train      train like the Train page does and save the model with its card
zoo        train every reference architecture with its reference recipe; write README's zoo table
bench      the project's speed figures, each beside the baseline it is compared against
info       shipped models with their cards' key figures, datasets, where data is looked for, versions
=========  =========================================================================================

Every command takes ``--json`` and then prints machine-readable JSON on stdout (one object per line
for ``predict``); progress and warnings go to stderr. Bad input never prints a traceback: it is
reported (``{"error": "..."}`` with ``--json``) and the exit status is 2. An unexpected failure prints
one line on stderr and exits with 1 (set ``HDR_DEBUG=1`` to see the traceback). Usage errors exit
with 2, as argparse does.

Training options map one to one onto :class:`hdr_core.train.TrainConfig` fields (``--batch-size`` is
``batch_size``), so ``TrainConfig.to_command()`` run here rebuilds the same configuration;
:func:`config_from_command` does that parsing without running anything.
"""

from __future__ import annotations

import os

# TensorFlow reads this when it is first imported (lazily, by the commands that need it): without it,
# its C++ start-up logs would clutter the terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime as _dt  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from dataclasses import MISSING, Field, asdict, fields  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Iterator, Sequence  # noqa: E402

import numpy as np  # noqa: E402

from hdr_core import __version__  # noqa: E402
from hdr_core.constants import DATA_DIR_ENV, DIGIT_CLASS_NAMES, MODELS_DIR_ENV  # noqa: E402
from hdr_core.errors import HdrError, ModelError  # noqa: E402
from hdr_core.models import PRESETS, ArchSpec  # noqa: E402
from hdr_core.train import LR_SCHEDULES, OPTIMIZERS, PRECISIONS, TrainConfig  # noqa: E402
from hdr_core.calibration import card_temperature  # noqa: E402
from hdr_core.quiet import import_tensorflow_quietly  # noqa: E402,F401  (re-exported: cli.import_tensorflow_quietly)
from hdr_core.quiet import quiet_tensorflow as _quiet_tensorflow  # noqa: E402
from hdr_core.zoo import ZOO_DIR, ZOO_RUNS  # noqa: E402

__all__ = ["THRESHOLD_METHODS", "UsageError", "build_parser", "config_from_command", "main"]

PROG = "python -m hdr_core"
TRAIN_COMMAND_PREFIX = f"{PROG} train"
THRESHOLD_METHODS = ("mean", "otsu", "adaptive")  # = hdr_core.preprocess.THRESHOLD_METHODS (checked by tests)
REAL_DEV = "real-dev"  # evaluate --dataset real-dev: the real handwriting set in HDR_DATA_DIR
RUNS_DIR = Path("runs")  # where `train` saves without --out (relative to the working directory)
MAX_FAILURES_SHOWN = 20  # evaluate real-dev lists at most this many failures

EXIT_OK = 0
EXIT_UNEXPECTED = 1  # a bug: something other than bad input went wrong
EXIT_BAD_INPUT = 2  # bad input (and argparse usage errors)
EXIT_INTERRUPTED = 130  # Ctrl-C outside training (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # stdout closed by the reader (128 + SIGPIPE)

# What a bad input can raise while it is read or used; anything else is a bug.
INPUT_ERRORS = (HdrError, ValueError, OSError, MemoryError)


# ==================================================================================================
# Output
# ==================================================================================================


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types: NumPy scalars and arrays become numbers and lists, paths strings,
    NaN and infinities ``None`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(_plain(value), indent=indent, ensure_ascii=False, allow_nan=False)


class _Output:
    """Where a command's results go: JSON on stdout with ``--json``, readable text otherwise."""

    def __init__(self, json_mode: bool):
        self.json = json_mode

    def record(self, value: dict[str, Any]) -> None:
        """One JSON Lines record (``predict``)."""
        print(_dumps(value), flush=True)

    def document(self, value: dict[str, Any]) -> None:
        """The one JSON document of a command."""
        print(_dumps(value, indent=2), flush=True)

    def text(self, line: str = "") -> None:
        print(line, flush=True)

    def error(self, message: str, **context: Any) -> int:
        """Report bad input (as ``{..context, "error": message}`` with ``--json``); returns exit status 2."""
        if self.json:
            self.record({**context, "error": message})
        else:
            print(f"error: {message}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT


def _progress(message: str) -> None:
    """A progress line on stderr (never on stdout, which may be JSON)."""
    print(message, file=sys.stderr, flush=True)


def _message(error: BaseException) -> str:
    """The user-facing text of an input error."""
    if isinstance(error, HdrError):
        return str(error).replace("trusted=True", "--trusted")  # the library's words for the option
    if isinstance(error, MemoryError):
        return "not enough memory to process this input; use a smaller image or file"
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return str(error) or type(error).__name__


# ==================================================================================================
# Argument parsing
# ==================================================================================================


class UsageError(Exception):
    """A command line that does not parse; ``parser`` is the (sub)parser whose usage applies."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser
        self.message = message


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors raise :class:`UsageError` (``main`` prints them and returns 2)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self, message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _optional_int(text: str) -> int | None:
    if text.strip().lower() in ("none", ""):
        return None
    return _int(text)


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# Help for each TrainConfig field's option; a field missing here still gets an option (tests check
# that every field has one and that TrainConfig.to_command() round-trips).
_FIELD_HELP = {
    "dataset": "dataset to train on",
    "epochs": "most epochs to train (early stopping or Ctrl-C may end sooner)",
    "batch_size": "images per training step",
    "learning_rate": "peak learning rate",
    "optimizer": "optimizer",
    "beta_1": "Adam's decay of its running mean of gradients (lower: a shorter memory, for high learning rates)",
    "beta_2": "Adam's decay of its running mean of squared gradients",
    "lr_schedule": "learning-rate schedule: constant, exponential (x0.95 per epoch) or onecycle",
    "l2": "extra L2 penalty on every kernel",
    "label_smoothing": "label smoothing, e.g. 0.05",
    "rotation": "augmentation: largest random rotation in degrees",
    "shift": "augmentation: largest random shift, as a fraction of the image size",
    "zoom": "augmentation: largest random relative size change",
    "thickness": "augmentation: probability of thinner or thicker strokes",
    "blur": "augmentation: probability of a slight blur",
    "style": "augmentation: probability of writing a 7 crossed or a 1 with a long up-stroke (digits only)",
    "slant": "augmentation: largest horizontal shear (italic slant), e.g. 0.3",
    "elastic": "augmentation: probability of an elastic distortion that wobbles the strokes",
    "renormalize": "augmentation: probability of re-rendering a digit as the preprocessing renders real input",
    "init_from": "start from this .keras model's weights (fine-tuning)",
    "early_stopping_patience": "stop after this many epochs without a better validation accuracy; 0 = off",
    "validation_fraction": "share of the training split held out (to pick the best epoch); 0 = none",
    "keep_best": "keep the best validation epoch's weights (true) or the last epoch's (false, as the references do)",
    "train_limit": "use only this many training images (quick runs); None = all",
    "track_test_accuracy": "measure test accuracy after every epoch (benchmarks)",
    "seed": "seeds the split, shuffling, augmentation, weights and dropout",
    "precision": "arithmetic while training: bfloat16 is about twice as fast on CPUs with AVX512-BF16 (the saved "
                 "model is float32 either way)",
}
_FIELD_CHOICES = {"optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES, "precision": PRECISIONS}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_parser(field: Field) -> tuple[str, Callable[[str], Any]]:
    """``(kind, parse)`` for a TrainConfig field, from its default value (or its annotation)."""
    default = field.default if field.default is not MISSING else None
    annotation = str(field.type)
    if isinstance(default, bool) or annotation == "bool":
        return "bool", _bool
    if isinstance(default, int) or annotation == "int":
        return "int", _int
    if isinstance(default, float) or annotation == "float":
        return "float", _float
    if default is None and "int" in annotation:
        return "optional int", _optional_int
    if default is None and "float" in annotation:
        return "optional float", lambda text: None if text.strip().lower() == "none" else _float(text)
    return "str", str


def config_fields() -> list[Field]:
    """The TrainConfig fields that are command-line options (all but ``arch``, which is --preset/--arch)."""
    return [f for f in fields(TrainConfig) if f.name != "arch"]


def _add_train_config_options(parser: argparse.ArgumentParser) -> None:
    base = TrainConfig()
    group = parser.add_argument_group(
        "training options (TrainConfig fields; default: the preset's recipe with --preset, "
        "else TrainConfig's default shown here)"
    )
    for field in config_fields():
        kind, parse = _field_parser(field)
        default = getattr(base, field.name)
        kwargs: dict[str, Any] = dict(dest=field.name, default=argparse.SUPPRESS, type=parse,
                                      help=f"{_FIELD_HELP.get(field.name, field.name)} (default {default})")
        if field.name == "dataset":
            from hdr_core.data import DATASET_NAMES

            kwargs.update(metavar="NAME", help=f"dataset to train on: {', '.join(DATASET_NAMES)} (default {default})")
        elif field.name in _FIELD_CHOICES:
            kwargs.update(choices=_FIELD_CHOICES[field.name])
        elif kind == "bool":
            kwargs.update(nargs="?", const=True, metavar="BOOL")
        else:
            kwargs.update(metavar={"int": "N", "optional int": "N", "float": "X"}.get(kind, "VALUE"))
        group.add_argument(_option(field.name), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m hdr_core`` argument parser (usage errors raise :class:`UsageError`)."""
    parser = _ArgumentParser(
        prog=PROG, allow_abbrev=False,
        description="Handwritten digit recognition: predict, evaluate, train, benchmark.",
        epilog="Every command takes --json to print machine-readable JSON on stdout.",
    )
    parser.add_argument("--version", action="version", version=f"hdr_core {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help, allow_abbrev=False)
        sub.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
        return sub

    def model_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--model", metavar="PATH", help="a .keras model file (default: the default shipped model)")
        sub.add_argument("--trusted", action="store_true",
                         help="load the model without Keras safe mode (only for files you made yourself)")

    predict = command("predict", "Predict the digit (or, with --multi, the whole number) in image files.")
    model_options(predict)
    predict.add_argument("--threshold", choices=THRESHOLD_METHODS, default="mean",
                         help="binarisation used by the preprocessing (default mean)")
    predict.add_argument("--multi", action="store_true",
                         help="read a whole number: segment the image into digits (rows joined by '/')")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, WebP, BMP, TIFF or GIF files")
    predict.set_defaults(run=cmd_predict)

    evaluate = command("evaluate", "Accuracy of a model on a dataset split, or on the real handwriting set.")
    model_options(evaluate)
    evaluate.add_argument("--dataset", required=True, metavar="NAME",
                          help=f"a dataset name (see `info`), or {REAL_DEV} for the real handwriting photos")
    evaluate.add_argument("--split", choices=("test", "train"), default="test", help="split to evaluate (default test)")
    evaluate.add_argument("--limit", type=_positive_int, metavar="N", help="evaluate only the first N images")
    evaluate.add_argument("--threshold", choices=THRESHOLD_METHODS, default="mean",
                          help=f"{REAL_DEV} only: binarisation used by the preprocessing (default mean)")
    evaluate.add_argument("--update-card", action="store_true",
                          help=f"with --dataset {REAL_DEV}: record the figures in the model's card (.json beside it)")
    evaluate.add_argument("--kind", action="append", metavar="KIND",
                          help=f"{REAL_DEV} only: evaluate only this kind (photo, scan, paint, unknown, multi); "
                               "repeatable")
    evaluate.set_defaults(run=cmd_evaluate)

    calibrate = command("calibrate", "Fit a model's temperature on its own validation split so that its "
                                     "probabilities mean what they say; record it in the model card.")
    model_options(calibrate)
    calibrate.set_defaults(run=cmd_calibrate)

    export = command("export-lite", "Write the model's LiteRT flat buffer (.tflite) beside it and record it in "
                                    "its card: the app then answers drawings without TensorFlow.")
    model_options(export)
    export.set_defaults(run=cmd_export_lite)

    train = command("train", "Train a model like the Train page does, and save it with its model card.")
    arch = train.add_mutually_exclusive_group(required=True)
    arch.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                      help=f"architecture with its reference recipe: {', '.join(PRESETS)}")
    arch.add_argument("--arch", choices=[*PRESETS, "custom"], metavar="NAME",
                      help="architecture with TrainConfig's plain defaults: a preset name, or custom (with --spec)")
    train.add_argument("--spec", metavar="JSON",
                       help='with --arch custom: ArchSpec fields, e.g. \'{"conv_blocks":2,"filters":32}\'')
    train.add_argument("--out", metavar="PATH",
                       help=f"save PATH.keras and PATH.json (default {RUNS_DIR}/<arch>-<timestamp>)")
    _add_train_config_options(train)
    train.set_defaults(run=cmd_train)

    zoo = command("zoo", "Train every reference architecture with its reference recipe and write README's "
                         "model zoo table.")
    zoo.add_argument("--preset", action="append", choices=[*ZOO_RUNS, *(p for p in PRESETS if p not in ZOO_RUNS)],
                     metavar="NAME", help="train only this row or preset (repeatable; default every row: "
                                          f"{', '.join(ZOO_RUNS)})")
    zoo.add_argument("--out-dir", default=str(ZOO_DIR), metavar="DIR",
                     help=f"where the models and their cards go (default {ZOO_DIR})")
    zoo.add_argument("--readme", default="README.md", metavar="PATH",
                     help="write the table into this file between its zoo-table markers (default README.md)")
    zoo.add_argument("--no-readme", action="store_true", help="print the table only")
    zoo.add_argument("--retrain", action="store_true",
                     help="train again even where DIR holds a finished run of the same recipe "
                          "(by default those are reused, so an interrupted run resumes)")
    zoo.add_argument("--epochs", type=_positive_int, metavar="N",
                     help="override every recipe's epochs (a quick check; the README is then left alone)")
    zoo.add_argument("--train-limit", type=_positive_int, metavar="N",
                     help="train on only N images (a quick check; the README is then left alone)")
    zoo.set_defaults(run=cmd_zoo)

    bench = command("bench", "The project's speed figures, each beside its baseline.")
    bench.add_argument("--quick", action="store_true",
                       help="skip the training benchmark (minutes of full-MNIST training)")
    bench.add_argument("--model", metavar="PATH",
                       help="model for the prediction figures (default: the default shipped model)")
    bench.add_argument("--repeats", type=_positive_int, default=300, metavar="N",
                       help="timed single-image predictions; slower figures scale from it (default 300)")
    bench.set_defaults(run=cmd_bench)

    info = command("info", "Shipped models, datasets, where data is looked for, versions.")
    info.set_defaults(run=cmd_info)
    return parser


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig a parsed ``train`` command line describes.

    Raises
    ------
    ValueError
        A value TrainConfig or ArchSpec refuses, a bad --spec, or --spec without --arch custom.
    """
    overrides = {f.name: getattr(args, f.name) for f in config_fields() if hasattr(args, f.name)}
    if args.spec is not None and args.arch != "custom":
        raise ValueError("--spec describes a custom architecture: use it with --arch custom")
    if args.preset is not None:
        return TrainConfig.from_preset(args.preset, **overrides)
    if args.arch == "custom":
        return TrainConfig(arch=_arch_spec(args.spec), **overrides)
    return TrainConfig(arch=args.arch, **overrides)


def _arch_spec(text: str | None) -> ArchSpec:
    if text is None:
        return ArchSpec()
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--spec must be a JSON object such as '{{\"conv_blocks\":2}}': {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"--spec must be a JSON object such as '{{\"conv_blocks\":2}}', got {text!r}")
    known = [f.name for f in fields(ArchSpec)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"--spec has unknown field(s) {', '.join(unknown)}; ArchSpec fields: {', '.join(known)}")
    return ArchSpec(**values)


def config_from_command(command: str | Sequence[str]) -> tuple[TrainConfig, str | None]:
    """Parse a ``python -m hdr_core train ...`` command line into the TrainConfig it would train.

    Parameters
    ----------
    command : str or sequence of str
        The whole command (``TrainConfig.to_command()``, a model card's ``training_command``), or the
        arguments after ``train``.

    Returns
    -------
    config : TrainConfig
    out : str or None
        The ``--out`` path, if given.

    Raises
    ------
    ValueError
        Not a ``train`` command, or options that do not parse or that TrainConfig refuses.
    """
    tokens = shlex.split(command) if isinstance(command, str) else list(command)
    if "train" in tokens[:4] and (tokens[:1] == ["train"] or tokens[1:3] == ["-m", "hdr_core"]):
        tokens = tokens[tokens.index("train") + 1:]
    elif tokens[:1] and not tokens[0].startswith("-"):
        raise ValueError(f"not a `{TRAIN_COMMAND_PREFIX}` command: {shlex.join(tokens)[:200]}")
    try:
        args = build_parser().parse_args(["train", *tokens])
    except UsageError as error:
        raise ValueError(f"{TRAIN_COMMAND_PREFIX}: {error.message}") from None
    return _config_from_args(args), args.out


# ==================================================================================================
# predict
# ==================================================================================================


def _load_predictor(path: str | None, *, trusted: bool):
    from hdr_core import inference

    return inference.Predictor.from_path(None if path is None else Path(path), trusted=trusted)


def _inspect_model(path: Path, *, trusted: bool) -> None:
    """Refuse a hostile or broken model file before TensorFlow starts (a second, not several; no weights read)."""
    from hdr_core.model_files import inspect_model_file

    inspect_model_file(path, layers=not trusted)


def _model_path(path: str | None) -> Path:
    from hdr_core import inference

    return inference.default_model_path() if path is None else Path(path)


def _is_digit_set(class_names: Sequence[str]) -> bool:
    return tuple(class_names) == DIGIT_CLASS_NAMES


def _check_image_path(path: str) -> None:
    """Clear messages for the commonest mistakes, before the image loader sees the path."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{path} is a folder, not an image file: give image files (e.g. {Path(path) / '*.png'}).")
    if not p.exists():
        raise ValueError(f"{path}: file not found. Check the path and try again.")


def _predict_one(predictor, path: str, threshold: str) -> dict[str, Any]:
    from hdr_core import preprocess

    _check_image_path(path)
    prepared = preprocess.preprocess(preprocess.load_image(path), threshold=threshold)
    prediction = predictor.predict(prepared.model_input)
    record: dict[str, Any] = {"path": path, "digit": prediction.index}
    if not _is_digit_set(predictor.class_names):
        record["label"] = prediction.label
    record.update(
        confidence=round(prediction.confidence, 6),
        probabilities=[round(float(p), 6) for p in prediction.probabilities],
        box=prepared.box.as_list(),
        steps=[stage.as_dict() for stage in prepared.trace],
        reading=prepared.reading,
    )
    return record


def _predict_multi(predictor, path: str, threshold: str) -> dict[str, Any]:
    from hdr_core import preprocess
    from hdr_core.errors import BlankImageError

    _check_image_path(path)
    segmented = preprocess.segment(preprocess.load_image(path), threshold=threshold)
    if not segmented.digits:
        raise BlankImageError(f"{path}: no digits found in the image.")
    probabilities = predictor.predict_proba(np.stack([d.model_input for d in segmented.digits]))  # (D, n)
    indices = probabilities.argmax(axis=1)
    labels = [predictor.class_names[i] for i in indices]
    digit_set = _is_digit_set(predictor.class_names)
    digits = []
    for crop, index, label, row in zip(segmented.digits, indices, labels, probabilities):
        entry: dict[str, Any] = {"digit": int(index)}
        if not digit_set:
            entry["label"] = label
        entry.update(confidence=round(float(row[index]), 6), box=crop.box.as_list())
        digits.append(entry)
    number = "/".join("".join(labels[i] for i in row) for row in segmented.rows)
    steps = [stage.as_dict() for stage in segmented.trace]
    return {"path": path, "number": number, "digits": digits, "steps": steps, "reading": segmented.reading}


def _describe_prediction(record: dict[str, Any]) -> str:
    if "number" in record:
        parts = ", ".join(f"{d.get('label', d['digit'])} {d['confidence']:.0%}" for d in record["digits"])
        return f"{record['path']}: {record['number']}  ({parts})"
    return f"{record['path']}: {record.get('label', record['digit'])}  ({record['confidence']:.1%})"


def cmd_predict(args: argparse.Namespace, out: _Output) -> int:
    """Predict every image; a bad image is reported and the others still run (exit 2 if any failed)."""
    model_path = _model_path(args.model)
    try:
        _inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        predictor = _load_predictor(args.model, trusted=args.trusted)
    except INPUT_ERRORS as error:
        return out.error(_message(error), model=str(model_path))
    predict = _predict_multi if args.multi else _predict_one
    failed = 0
    for path in args.images:
        try:
            record = predict(predictor, path, args.threshold)
        except INPUT_ERRORS as error:
            failed += 1
            record = {"path": path, "error": _message(error)}
            if not out.json:
                print(f"{path}: error: {record['error']}", file=sys.stderr, flush=True)
                continue
        if out.json:
            out.record(record)
        else:
            out.text(_describe_prediction(record))
    if failed and not out.json:
        _progress(f"{failed} of {len(args.images)} file(s) could not be read")
    return EXIT_BAD_INPUT if failed else EXIT_OK


# ==================================================================================================
# evaluate
# ==================================================================================================


def _class_count_error(model_path: Path, n_outputs: int, dataset: str, n_classes: int) -> ModelError:
    return ModelError(
        f"The model {model_path.name} has {n_outputs} outputs but {dataset} has {n_classes} classes: "
        f"evaluate it on a dataset with {n_outputs} classes, or choose a model trained on {dataset}."
    )


def cmd_evaluate(args: argparse.Namespace, out: _Output) -> int:
    """Accuracy, loss and per-class accuracy of a model on a dataset split (or on real-dev)."""
    from hdr_core import data, inference, train

    name = args.dataset.strip().lower()
    model_path = _model_path(args.model)
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
        _inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        model = inference.load_model(model_path, trusted=args.trusted)
        n_outputs = inference.check_model(model)
        if n_outputs != len(class_names):
            raise _class_count_error(model_path, n_outputs, name, len(class_names))
    except INPUT_ERRORS as error:
        return out.error(_message(error), **context)
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


def cmd_export_lite(args: argparse.Namespace, out: _Output) -> int:
    """Convert the model for LiteRT (checked against the model's own outputs) and record it in its card."""
    from hdr_core import inference, lite

    model_path = _model_path(args.model)
    context = {"model": str(model_path)}
    try:
        _inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        model = inference.load_model(model_path, trusted=args.trusted)
        lite_path = lite.export_lite(model_path, model)
    except INPUT_ERRORS as error:
        return out.error(_message(error), **context)
    except OSError as error:
        return out.error(f"cannot write the LiteRT file: {error}", **context)
    result = {**context, "litert": str(lite_path), "bytes": lite_path.stat().st_size}
    if out.json:
        out.document(result)
    else:
        out.text(f"{model_path.name}: {lite_path.name} written ({result['bytes']:,} bytes), same answers as the "
                 "model (checked); the card records it.")
    return 0


def cmd_calibrate(args: argparse.Namespace, out: _Output) -> int:
    """Fit the temperature on the validation split the card's training config held out; write it to the card."""
    from hdr_core import data, inference, train

    model_path = _model_path(args.model)
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
        _inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        model = inference.load_model(model_path, trusted=args.trusted)
    except INPUT_ERRORS as error:
        return out.error(_message(error), **context)
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


def _evaluate_real_dev(args: argparse.Namespace, out: _Output, model_path: Path, context: dict) -> int:
    from hdr_core import realdev

    try:
        samples = realdev.load_real_dev(kinds=args.kind)
        _inspect_model(model_path, trusted=args.trusted)
        import_tensorflow_quietly()
        predictor = _load_predictor(args.model, trusted=args.trusted)
        if predictor.n_classes != len(DIGIT_CLASS_NAMES):
            raise _class_count_error(model_path, predictor.n_classes, REAL_DEV, len(DIGIT_CLASS_NAMES))
        if not _is_digit_set(predictor.class_names):
            raise ModelError(f"The model {model_path.name} predicts {', '.join(predictor.class_names)}, not the "
                             f"digits 0-9 that {REAL_DEV} is labelled with: choose a digit model.")
    except INPUT_ERRORS as error:
        return out.error(_message(error), **context)
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

    # Per-class accuracy over the single digits: wrong and unreadable files are both failures.
    totals = np.zeros(10, np.int64)
    wrong = np.zeros(10, np.int64)
    for sample in samples:
        if sample.kind != "multi" and sample.label.isdigit() and len(sample.label) == 1:
            totals[int(sample.label)] += 1
    for failure in report.failures:
        if failure["label"].isdigit() and len(failure["label"]) == 1:
            wrong[int(failure["label"])] += 1
    per_class = [round(float(1 - w / t), 5) if t else None for w, t in zip(wrong, totals)]
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


# ==================================================================================================
# train
# ==================================================================================================


class _TrainProgress:
    """Prints one line per epoch on stderr; ``should_stop`` turns True after Ctrl-C."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.total_epochs = 0

    def on_train_begin(self, total_epochs: int, batches_per_epoch: int) -> None:
        self.total_epochs = total_epochs
        _progress(f"training: up to {total_epochs} epoch(s) of {batches_per_epoch} batches "
                  "(Ctrl-C stops and keeps the model trained so far)")

    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        parts = [f"epoch {epoch + 1}/{self.total_epochs}"]
        for key, label, fmt in (("loss", "loss", ".4f"), ("accuracy", "acc", ".4f"), ("val_loss", "val_loss", ".4f"),
                                ("val_accuracy", "val_acc", ".4f"), ("test_accuracy", "test_acc", ".4f"),
                                ("seconds", "time", ".1f")):
            if key in logs:
                parts.append(f"{label} {logs[key]:{fmt}}" + ("s" if key == "seconds" else ""))
        _progress("  ".join(parts))

    def should_stop(self) -> bool:
        return self.stop_requested


@contextlib.contextmanager
def _stop_on_ctrl_c(progress: _TrainProgress) -> Iterator[None]:
    """While training, the first Ctrl-C asks ``progress`` to stop (the model so far is kept and saved);
    a second one aborts. A process started with SIGINT ignored (``nohup``, a background job of a
    non-interactive shell) keeps ignoring it."""

    def handler(signum, frame):  # noqa: ARG001 - signal handler signature
        if progress.stop_requested:
            raise KeyboardInterrupt
        progress.stop_requested = True
        _progress("stopping after this batch; the model trained so far will be saved (Ctrl-C again to abort)")

    previous = None
    try:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Ctrl-C cannot reach us anyway
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _arch_name(config: TrainConfig) -> str:
    return "custom" if isinstance(config.arch, ArchSpec) else str(config.arch)


def _train_out_path(out: str | None, config: TrainConfig) -> Path:
    default_name = f"{_arch_name(config)}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    if out is None:
        return RUNS_DIR / default_name
    path = Path(out).expanduser()
    if path.is_dir() or out.endswith(("/", os.sep)):
        return path / default_name
    return path.with_suffix("") if path.suffix == ".keras" else path  # the stem: NAME.keras and NAME.json


def _typed_train_command(argv: Sequence[str]) -> str:
    """The command line as typed, normalised to start with ``python -m hdr_core train``."""
    tokens = list(argv)
    rest = tokens[tokens.index("train") + 1:] if "train" in tokens else tokens
    return " ".join([TRAIN_COMMAND_PREFIX, *(shlex.quote(t) for t in rest)])


def cmd_train(args: argparse.Namespace, out: _Output, argv: Sequence[str] = ()) -> int:
    """Train as configured; print progress on stderr; save the model and its card."""
    from hdr_core import data, train

    try:
        config = _config_from_args(args)
        data.class_names(config.dataset)  # an unknown name: ValueError listing the names
        dataset = data.load_dataset(config.dataset)
    except INPUT_ERRORS as error:
        return out.error(_message(error))
    import_tensorflow_quietly()
    path = _train_out_path(args.out, config)
    command = _typed_train_command(argv)
    progress = _TrainProgress()
    _progress(f"{config.to_command()}  ->  {path}.keras")
    with _stop_on_ctrl_c(progress):
        result = train.train(config, progress=progress, dataset=dataset)
    try:
        model_path = train.save_model(result, path, command=command)
    except OSError as error:
        return out.error(f"could not save the model to {path}: {_message(error)}")
    summary = {
        "test_accuracy": round(result.test_accuracy, 5),
        "test_loss": round(result.test_loss, 5),
        "train_seconds": round(result.train_seconds, 2),
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "stopped": result.stopped,
        "interrupted": progress.stop_requested,
        "history": {k: [round(v, 5) for v in values] for k, values in result.history.items()},
        "model_path": str(model_path),
        "card_path": str(model_path.with_suffix(".json")),
        "params": int(result.model.count_params()),
        "dataset": config.dataset,
        "arch": _arch_name(config),
        "per_class": [round(a, 5) for a in result.per_class],
        "config": config.to_json(),
        "command": command,
    }
    if out.json:
        out.document(summary)
    else:
        if progress.stop_requested:
            out.text(f"stopped by Ctrl-C after {result.epochs_run} epoch(s)")
        out.text(f"test accuracy {result.test_accuracy:.2%} (loss {result.test_loss:.4f}) after "
                 f"{result.epochs_run} epoch(s), {result.train_seconds:.1f} s of training; "
                 f"best epoch {result.best_epoch}")
        out.text(f"saved {model_path} and {model_path.with_suffix('.json').name}")
    return EXIT_OK


# ==================================================================================================
# zoo
# ==================================================================================================


def cmd_zoo(args: argparse.Namespace, out: _Output) -> int:
    """Train the reference presets, score them, print the table and (unless told not to) write README's."""
    from hdr_core import bench, zoo

    overrides = {k: v for k, v in (("epochs", args.epochs), ("train_limit", args.train_limit)) if v is not None}
    readme = None if args.no_readme or overrides else Path(args.readme)
    if readme is not None and not readme.is_file():
        return out.error(f"no {readme} to write the table into (use --no-readme to print it only)")
    try:
        from hdr_core import data

        data.load_dataset("mnist")
    except INPUT_ERRORS as error:
        return out.error(_message(error))
    import_tensorflow_quietly()
    progress = _TrainProgress()
    with _stop_on_ctrl_c(progress):
        entries = zoo.run_zoo(args.preset or tuple(zoo.ZOO_RUNS), out_dir=args.out_dir, overrides=overrides,
                              retrain=args.retrain, progress=_progress, epoch_progress=progress)
    if progress.stop_requested:
        return out.error("stopped by Ctrl-C: the table was not written; run the same command again to resume")
    rows = zoo.shipped_entries() + entries
    info = bench.machine()
    table = zoo.markdown_table(rows, machine=f"{info['processor']}, {info['cpu_count']} cores, "
                                             f"TensorFlow {info['tensorflow']}")
    if readme is not None:
        try:
            zoo.write_table(readme, table)
        except (OSError, ValueError) as error:
            return out.error(_message(error))
    if out.json:
        out.document({"entries": [asdict(e) for e in rows], "table": table,
                      "readme": None if readme is None else str(readme)})
    else:
        out.text(table)
        if readme is not None:
            out.text(f"wrote the table into {readme}")
    return EXIT_OK


# ==================================================================================================
# bench
# ==================================================================================================


def cmd_bench(args: argparse.Namespace, out: _Output) -> int:
    """Speed figures with their baselines (see hdr_core.bench)."""
    from hdr_core import bench

    try:
        report = bench.run_all(quick=args.quick, model_path=args.model, repeats=args.repeats, progress=_progress)
    except INPUT_ERRORS as error:
        return out.error(_message(error))
    failed = [name for name, section in report.items() if isinstance(section, dict) and "error" in section]
    if out.json:
        out.document(report)
    else:
        for line in bench.describe(report):
            out.text(line)
    return EXIT_BAD_INPUT if failed else EXIT_OK


# ==================================================================================================
# info
# ==================================================================================================

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


def cmd_info(args: argparse.Namespace, out: _Output) -> int:
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


# ==================================================================================================
# main
# ==================================================================================================


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``python -m hdr_core`` (default ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 success; 2 bad input or usage; 1 unexpected failure; 130 interrupted.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        error.parser.print_usage(sys.stderr)
        print(f"{error.parser.prog}: error: {error.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SystemExit as exit_:  # --help, --version
        return exit_.code if isinstance(exit_.code, int) else EXIT_OK
    _quiet_tensorflow()
    out = _Output(args.json)
    try:
        if args.run is cmd_train:
            return cmd_train(args, out, argv)
        return args.run(args, out)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `... | head`: the reader left; stop quietly, as Unix tools do
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE
    except HdrError as error:  # bad input that a command did not catch itself
        return out.error(str(error))
    except Exception as error:  # noqa: BLE001 - the one place that turns a bug into one line
        if os.environ.get("HDR_DEBUG"):
            traceback.print_exc()
        else:
            print(f"{PROG} {args.command}: unexpected error: {type(error).__name__}: {error} "
                  "(set HDR_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_UNEXPECTED
