"""``train``, ``zoo`` and ``train-digit-check``: training from the command line, Ctrl-C keeping the best model."""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import os
import shlex
import signal
from dataclasses import asdict
from pathlib import Path
from typing import Iterator, Sequence

from hdr_core.models import ArchSpec
from hdr_core.quiet import import_tensorflow_quietly
from hdr_core.train import TrainConfig

from .common import EXIT_OK, INPUT_ERRORS, Output, error_message, inspect_model, log_progress, model_path_of
from .options import RUNS_DIR, TRAIN_COMMAND_PREFIX, config_from_args


class _TrainProgress:
    """Prints one line per epoch on stderr; ``should_stop`` turns True after Ctrl-C."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.total_epochs = 0

    def on_train_begin(self, total_epochs: int, batches_per_epoch: int) -> None:
        self.total_epochs = total_epochs
        log_progress(f"training: up to {total_epochs} epoch(s) of {batches_per_epoch} batches "
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
        log_progress("  ".join(parts))

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
        log_progress("stopping after this batch; the model trained so far will be saved (Ctrl-C again to abort)")

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


def cmd_train(args: argparse.Namespace, out: Output, argv: Sequence[str] = ()) -> int:
    """Train as configured; print progress on stderr; save the model and its card."""
    from hdr_core import data, train

    try:
        config = config_from_args(args)
        data.class_names(config.dataset)  # an unknown name: ValueError listing the names
        dataset = data.load_dataset(config.dataset)
    except INPUT_ERRORS as error:
        return out.error(error_message(error))
    import_tensorflow_quietly()
    path = _train_out_path(args.out, config)
    command = _typed_train_command(argv)
    progress = _TrainProgress()
    log_progress(f"{config.to_command()}  ->  {path}.keras")
    with _stop_on_ctrl_c(progress):
        result = train.train(config, progress=progress, dataset=dataset)
    try:
        model_path = train.save_model(result, path, command=command)
    except OSError as error:
        return out.error(f"could not save the model to {path}: {error_message(error)}")
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



def cmd_train_digit_check(args: argparse.Namespace, out: Output) -> int:
    """Train the digit check on the digit network's features; write its .keras, .tflite and card."""
    from hdr_core.data import load_dataset
    from hdr_core.digit_check_training import CheckTrainConfig, save_check, train_check

    defaults = CheckTrainConfig()
    config = CheckTrainConfig(negatives=args.negatives, epochs=args.epochs, seed=args.seed,
                              positives_limit=args.train_limit)
    digit_model = model_path_of(args.digit_model)
    try:
        inspect_model(digit_model, trusted=False)
        dataset = load_dataset("mnist")
    except INPUT_ERRORS as error:
        return out.error(error_message(error))
    import_tensorflow_quietly()
    try:
        model, card = train_check(config, dataset, digit_model, log=log_progress)
    except INPUT_ERRORS as error:
        return out.error(error_message(error))
    given = {"negatives": args.negatives, "epochs": args.epochs, "seed": args.seed, "train-limit": args.train_limit}
    usual = {"negatives": defaults.negatives, "epochs": defaults.epochs, "seed": defaults.seed, "train-limit": None}
    command = "python -m hdr_core train-digit-check" + "".join(
        f" --{name} {value}" for name, value in given.items() if value != usual[name])
    if args.digit_model:
        command += f" --digit-model {args.digit_model}"
    try:
        folder = save_check(model, card, args.out_dir, command=command)
    except OSError as error:
        return out.error(f"cannot write the digit check: {error}")
    held = card["held_out_not_digits"]
    if out.json:
        out.document({"folder": str(folder), **card})
    else:
        out.text(f"digit check written to {folder}: flags below {card['flag_below']:.4f}, which flags "
                 f"{card['mnist_test_flagged']:.2%} of MNIST's test digits and {held['flagged']:.1%} of "
                 f"{held['n']:,} held-out drawings that are not digits.")
    return EXIT_OK


def cmd_zoo(args: argparse.Namespace, out: Output) -> int:
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
        return out.error(error_message(error))
    import_tensorflow_quietly()
    progress = _TrainProgress()
    with _stop_on_ctrl_c(progress):
        entries = zoo.run_zoo(args.preset or tuple(zoo.ZOO_RUNS), out_dir=args.out_dir, overrides=overrides,
                              retrain=args.retrain, progress=log_progress, epoch_progress=progress)
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
            return out.error(error_message(error))
    if out.json:
        out.document({"entries": [asdict(e) for e in rows], "table": table,
                      "readme": None if readme is None else str(readme)})
    else:
        out.text(table)
        if readme is not None:
            out.text(f"wrote the table into {readme}")
    return EXIT_OK
