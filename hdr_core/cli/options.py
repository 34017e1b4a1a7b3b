"""The command line's grammar: usage errors, value parsers, and the training options (one per TrainConfig field)."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any, Callable

from hdr_core.models import ArchSpec
from hdr_core.train import LR_SCHEDULES, OPTIMIZERS, PRECISIONS, TrainConfig

from .common import PROG

TRAIN_COMMAND_PREFIX = f"{PROG} train"
THRESHOLD_METHODS = ("mean", "otsu", "adaptive")  # = hdr_core.preprocess.THRESHOLD_METHODS (checked by tests)
REAL_DEV = "real-dev"  # evaluate --dataset real-dev: the real handwriting set in HDR_DATA_DIR
RUNS_DIR = Path("runs")  # where `train` saves without --out (relative to the working directory)


class UsageError(Exception):
    """A command line that does not parse; ``parser`` is the (sub)parser whose usage applies."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(message)
        self.parser = parser
        self.message = message


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but usage errors raise :class:`UsageError` (``main`` prints them and returns 2)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(self, message)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def optional_int(text: str) -> int | None:
    if text.strip().lower() in ("none", ""):
        return None
    return whole_number(text)


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def boolean(text: str) -> bool:
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
        return "bool", boolean
    if isinstance(default, int) or annotation == "int":
        return "int", whole_number
    if isinstance(default, float) or annotation == "float":
        return "float", finite_float
    if default is None and "int" in annotation:
        return "optional int", optional_int
    if default is None and "float" in annotation:
        return "optional float", lambda text: None if text.strip().lower() == "none" else finite_float(text)
    return "str", str


def config_fields() -> list[Field]:
    """The TrainConfig fields that are command-line options (all but ``arch``, which is --preset/--arch)."""
    return [f for f in fields(TrainConfig) if f.name != "arch"]


def add_train_config_options(parser: argparse.ArgumentParser) -> None:
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



def config_from_args(args: argparse.Namespace) -> TrainConfig:
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
