"""``build_parser``: every command and its options; ``config_from_command`` reads a train command back."""

from __future__ import annotations

import argparse
import shlex
from typing import Sequence

from hdr_core import __version__
from hdr_core.models import PRESETS
from hdr_core.train import TrainConfig
from hdr_core.zoo import ZOO_DIR, ZOO_RUNS

from .common import PROG
from .evaluate import cmd_calibrate, cmd_evaluate, cmd_export_lite
from .info import cmd_bench, cmd_info
from .options import (
    REAL_DEV,
    RUNS_DIR,
    THRESHOLD_METHODS,
    TRAIN_COMMAND_PREFIX,
    ArgumentParser,
    UsageError,
    add_train_config_options,
    config_from_args,
    positive_int,
    whole_number,
)
from .predict import cmd_predict
from .train import cmd_train, cmd_train_digit_check, cmd_zoo


def _command(commands, name: str, help: str) -> argparse.ArgumentParser:
    """A sub-command with its help and the ``--json`` every command takes."""
    sub = commands.add_parser(name, help=help, description=help, allow_abbrev=False)
    sub.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    return sub


def _model_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--model", metavar="PATH", help="a .keras model file (default: the default shipped model)")
    sub.add_argument("--trusted", action="store_true",
                     help="load the model without Keras safe mode (only for files you made yourself)")


def _add_predict(commands) -> None:
    predict = _command(commands, "predict", "Predict the digit (or, with --multi, the whole number) in image files.")
    _model_options(predict)
    predict.add_argument("--threshold", choices=THRESHOLD_METHODS, default="mean",
                         help="binarisation used by the preprocessing (default mean)")
    predict.add_argument("--multi", action="store_true",
                         help="read a whole number: segment the image into digits (rows joined by '/')")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, WebP, BMP, TIFF or GIF files")
    predict.set_defaults(run=cmd_predict)



def _add_model_commands(commands) -> None:
    """evaluate, calibrate, export-lite: a model's figures and files."""
    evaluate = _command(commands, "evaluate", "Accuracy of a model on a dataset split, or on the real handwriting set.")
    _model_options(evaluate)
    evaluate.add_argument("--dataset", required=True, metavar="NAME",
                          help=f"a dataset name (see `info`), or {REAL_DEV} for the real handwriting photos")
    evaluate.add_argument("--split", choices=("test", "train"), default="test", help="split to evaluate (default test)")
    evaluate.add_argument("--limit", type=positive_int, metavar="N", help="evaluate only the first N images")
    evaluate.add_argument("--threshold", choices=THRESHOLD_METHODS, default="mean",
                          help=f"{REAL_DEV} only: binarisation used by the preprocessing (default mean)")
    evaluate.add_argument("--update-card", action="store_true",
                          help=f"with --dataset {REAL_DEV}: record the figures in the model's card (.json beside it)")
    evaluate.add_argument("--kind", action="append", metavar="KIND",
                          help=f"{REAL_DEV} only: evaluate only this kind (photo, scan, paint, unknown, multi); "
                               "repeatable")
    evaluate.set_defaults(run=cmd_evaluate)

    calibrate = _command(commands, "calibrate", "Fit a model's temperature on its own validation split so that its "
                                     "probabilities mean what they say; record it in the model card.")
    _model_options(calibrate)
    calibrate.set_defaults(run=cmd_calibrate)

    export = _command(commands, "export-lite", "Write the model's LiteRT flat buffer (.tflite) beside it and record it in "
                                    "its card: the app then answers drawings without TensorFlow.")
    _model_options(export)
    export.set_defaults(run=cmd_export_lite)



def _add_training_commands(commands) -> None:
    """train-digit-check, train, zoo."""
    check = _command(commands, "train-digit-check", "Train the digit check, which tells digits from other drawings (crosses, "
                                         "shapes, letters) by the digit network's own features; write it for the app.")
    check.add_argument("--out-dir", metavar="DIR", help="where it goes (default models/digit-check)")
    check.add_argument("--negatives", type=positive_int, default=60_000, metavar="N",
                       help="generated drawings that are not digits (default 60000)")
    check.add_argument("--epochs", type=positive_int, default=8, metavar="N", help="epochs (default 8)")
    check.add_argument("--digit-model", metavar="PATH",
                       help="the digit network whose features it reads (default: the default shipped model)")
    check.add_argument("--seed", type=whole_number, default=0, help="random seed (default 0)")
    check.add_argument("--train-limit", type=positive_int, metavar="N",
                       help="use only N MNIST digits (a quick check; default all 60000)")
    check.set_defaults(run=cmd_train_digit_check)

    train = _command(commands, "train", "Train a model like the Train page does, and save it with its model card.")
    arch = train.add_mutually_exclusive_group(required=True)
    arch.add_argument("--preset", choices=list(PRESETS), metavar="NAME",
                      help=f"architecture with its reference recipe: {', '.join(PRESETS)}")
    arch.add_argument("--arch", choices=[*PRESETS, "custom"], metavar="NAME",
                      help="architecture with TrainConfig's plain defaults: a preset name, or custom (with --spec)")
    train.add_argument("--spec", metavar="JSON",
                       help='with --arch custom: ArchSpec fields, e.g. \'{"conv_blocks":2,"filters":32}\'')
    train.add_argument("--out", metavar="PATH",
                       help=f"save PATH.keras and PATH.json (default {RUNS_DIR}/<arch>-<timestamp>)")
    add_train_config_options(train)
    train.set_defaults(run=cmd_train)

    zoo = _command(commands, "zoo", "Train every reference architecture with its reference recipe and write README's "
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
    zoo.add_argument("--epochs", type=positive_int, metavar="N",
                     help="override every recipe's epochs (a quick check; the README is then left alone)")
    zoo.add_argument("--train-limit", type=positive_int, metavar="N",
                     help="train on only N images (a quick check; the README is then left alone)")
    zoo.set_defaults(run=cmd_zoo)



def _add_info_commands(commands) -> None:
    """bench, info."""
    bench = _command(commands, "bench", "The project's speed figures, each beside its baseline.")
    bench.add_argument("--quick", action="store_true",
                       help="skip the training benchmark (minutes of full-MNIST training)")
    bench.add_argument("--model", metavar="PATH",
                       help="model for the prediction figures (default: the default shipped model)")
    bench.add_argument("--repeats", type=positive_int, default=300, metavar="N",
                       help="timed single-image predictions; slower figures scale from it (default 300)")
    bench.set_defaults(run=cmd_bench)

    info = _command(commands, "info", "Shipped models, datasets, where data is looked for, versions.")
    info.set_defaults(run=cmd_info)


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m hdr_core`` argument parser (usage errors raise :class:`UsageError`)."""
    parser = ArgumentParser(
        prog=PROG, allow_abbrev=False,
        description="Handwritten digit recognition: predict, evaluate, train, benchmark.",
        epilog="Every command takes --json to print machine-readable JSON on stdout.",
    )
    parser.add_argument("--version", action="version", version=f"hdr_core {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_predict, _add_model_commands, _add_training_commands, _add_info_commands):
        add(commands)
    return parser


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
    return config_from_args(args), args.out
