"""The model zoo: every reference architecture trained with its own recipe, compared in one table.

``run_zoo()`` trains each reference preset through the same ``hdr_core.train.train`` as the CLI and
the Train page, saves it with its card under ``runs/zoo/``, scores it on MNIST's test set and on the
real handwriting set, and returns one ``ZooEntry`` per model. The shipped models join the table from
their cards. ``markdown_table()`` renders the entries; ``write_table()`` puts them into README between
two marker comments, so ``python -m hdr_core zoo`` regenerates README's table in one command.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import realdev
from .models import EXPERIMENT_CASES, EXPERIMENT_EPOCHS, EXPERIMENT_REPORTED, PRESETS, reported_mnist_accuracy

ZOO_DIR = Path("runs") / "zoo"
TABLE_BEGIN = "<!-- zoo-table -->"
TABLE_END = "<!-- /zoo-table -->"

#: The presets that reproduce a reference project, in PRESETS order.
REFERENCE_PRESETS: tuple[str, ...] = tuple(name for name, preset in PRESETS.items() if preset.reference)


@dataclass(frozen=True)
class ZooRun:
    """One row the zoo trains: a preset's reference recipe (with ``overrides``), saved as ``name``."""

    name: str  # the row's name and the saved model's file stem
    preset: str
    overrides: dict[str, Any] = field(default_factory=dict)
    reported: str | None = None  # what the reference project reports for this recipe


def _zoo_runs() -> dict[str, ZooRun]:
    runs = [ZooRun(name, name, {}, PRESETS[name].reported) for name in REFERENCE_PRESETS
            if name not in EXPERIMENT_CASES[1:]]
    # The experiments' case 1 is the blog's network with the experiments' recipe (20 epochs, not the blog's 5).
    runs.append(ZooRun("blog-cnn-case-1", "blog-cnn", {"epochs": EXPERIMENT_EPOCHS}, EXPERIMENT_REPORTED["blog-cnn"]))
    runs += [ZooRun(name, name, {}, EXPERIMENT_REPORTED[name]) for name in EXPERIMENT_CASES[1:]]
    return {run.name: run for run in runs}


#: Every row ``python -m hdr_core zoo`` trains, in table order: the four reference projects, then the blog
#: experiments' eight cases.
ZOO_RUNS: dict[str, ZooRun] = _zoo_runs()


@dataclass(frozen=True)
class ZooEntry:
    """One row of the zoo table."""

    name: str  # preset name, or the shipped model's name
    title: str  # what the architecture is
    params: int
    epochs: int  # epochs trained
    train_seconds: float  # wall-clock seconds of fitting on the machine that trained it
    test_accuracy: float  # MNIST test split
    real_dev_accuracy: float | None  # single digits of real-dev; None when the set is not available
    command: str  # the command that trained it
    shipped: bool = False  # a model in models/, figures read from its card
    reported: str | None = None  # the reference project's own figure for the recipe

    @classmethod
    def from_card(cls, card: dict[str, Any], *, shipped: bool = False, reported: str | None = None) -> "ZooEntry":
        real_dev_accuracy = realdev.recorded_accuracy(card.get("real_dev"))
        stages = card.get("training_stages") or []
        return cls(
            name=str(card.get("name")),
            title=str(card.get("title") or card.get("architecture")),
            params=int(card["params"]),
            epochs=int(sum(s.get("epochs", 0) for s in stages) if stages else card["epochs"]),
            train_seconds=float(sum(s.get("train_seconds", 0) for s in stages) if stages else card["train_seconds"]),
            test_accuracy=float(card["test_accuracy"]),
            real_dev_accuracy=real_dev_accuracy,
            command=str(card.get("training_command", "")),
            shipped=shipped,
            reported=reported,
        )


def _preset_config(preset: str, overrides: dict[str, Any]):
    from .train import TrainConfig

    return TrainConfig.from_preset(preset, **overrides)


def _reusable(card_path: Path, config) -> bool:
    """Whether ``card_path`` records a finished run of exactly ``config`` with its real-dev figures."""
    try:
        card = json.loads(card_path.read_text())
        # Compared as TrainConfigs, so a card written before a field was added (it takes the default) still matches.
        recorded = type(config).from_json(card["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded == config and card_path.with_suffix(".keras").is_file() and "real_dev" in card


def run_zoo(presets: Iterable[str] = tuple(ZOO_RUNS), *, out_dir: str | os.PathLike = ZOO_DIR,
            overrides: dict[str, Any] | None = None, retrain: bool = False,
            progress: Callable[[str], None] | None = None, epoch_progress=None) -> list[ZooEntry]:
    """Train each preset with its reference recipe and score it on MNIST test and real-dev.

    Parameters
    ----------
    presets : iterable of str
        Rows of ``ZOO_RUNS`` (default: all of them), or any preset name (its recipe as it stands).
    out_dir : path
        Each model is saved as ``out_dir/<preset>.keras`` with its card ``<preset>.json``.
    overrides : dict, optional
        TrainConfig fields to change in every recipe (quick checks: ``epochs``, ``train_limit``).
    retrain : bool
        Train again even when ``out_dir`` already holds a finished run of the same recipe (the default
        reuses it, so an interrupted zoo run resumes where it stopped).
    progress : callable, optional
        Told one line per step.
    epoch_progress : hdr_core.train.ProgressCallback, optional
        Passed to ``train`` for per-epoch reports.

    Returns
    -------
    list of ZooEntry
        In the order of ``presets``. ``real_dev_accuracy`` is None when real-dev is not available.
    """
    from .errors import DatasetNotFoundError
    from .inference import Predictor
    from .train import save_model, train

    say = progress or (lambda message: None)
    names = list(presets)
    unknown = [name for name in names if name not in ZOO_RUNS and name not in PRESETS]
    if unknown:
        raise ValueError(f"unknown preset(s) {', '.join(unknown)}; choose from {', '.join(ZOO_RUNS)}")
    out = Path(out_dir)
    prepared = None
    try:
        samples = realdev.load_real_dev()
    except DatasetNotFoundError as error:
        say(f"real-dev not available, its column stays empty: {error}")
        samples = None

    entries = []
    for number, name in enumerate(names, 1):
        run = ZOO_RUNS.get(name) or ZooRun(name, name, {}, PRESETS[name].reported)
        config = _preset_config(run.preset, {**run.overrides, **(overrides or {})})
        stem = out / name
        card_path = stem.with_suffix(".json")
        if not retrain and _reusable(card_path, config):
            say(f"[{number}/{len(names)}] {name}: already trained with this recipe, reusing {card_path}")
        else:
            command = config.to_command(out=str(stem))
            say(f"[{number}/{len(names)}] {name}: {command}")
            result = train(config, progress=epoch_progress)
            save_model(result, stem, command=command)
            if samples is not None:
                if prepared is None:
                    say("preprocessing real-dev once for every model")
                    prepared = realdev.prepare_real_dev(samples)
                report = realdev.score_real_dev(Predictor.from_path(stem.with_suffix(".keras")).predict_proba,
                                                prepared)
                realdev.record_in_card(stem.with_suffix(".keras"), report, threshold="mean",
                                       command=f"python -m hdr_core evaluate --dataset real-dev --model "
                                               f"{stem.with_suffix('.keras')} --update-card")
            _release_keras_memory()
        entry = ZooEntry.from_card(json.loads(card_path.read_text()), reported=run.reported)
        entries.append(entry)
        real = "-" if entry.real_dev_accuracy is None else f"{entry.real_dev_accuracy:.2%}"
        say(f"    {name}: MNIST test {entry.test_accuracy:.2%}, real-dev {real}, "
            f"{entry.epochs} epochs in {entry.train_seconds:.0f} s")
    return entries


def _release_keras_memory() -> None:
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def shipped_entries(models_dir: str | os.PathLike | None = None) -> list[ZooEntry]:
    """Rows for the shipped models, read from their cards (default first)."""
    from .inference import default_model_path

    folder = Path(models_dir) if models_dir is not None else default_model_path().parent
    default = default_model_path().stem if models_dir is None else None
    entries = []
    for card_path in sorted(folder.glob("*.json")):
        try:
            card = json.loads(card_path.read_text())
            entries.append(ZooEntry.from_card(card, shipped=True))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(entries, key=lambda e: e.name != default)


def markdown_table(entries: list[ZooEntry], *, machine: str | None = None) -> str:
    """The zoo as a Markdown table, one row per entry, followed by how it was made."""
    lines = [
        "| model | architecture | parameters | epochs | seconds | MNIST test | real-dev | the reference reports |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for e in entries:
        name = f"**{e.name}** (shipped)" if e.shipped else f"`{e.name}`"
        real = "–" if e.real_dev_accuracy is None else f"{e.real_dev_accuracy:.2%}"
        reported = e.reported or "–"
        lines.append(f"| {name} | {e.title} | {e.params:,} | {e.epochs} | {e.train_seconds:,.0f} | "
                     f"{e.test_accuracy:.2%} | {real} | {reported} |")
    note = ("Reference rows: each preset's reference recipe trained by `python -m hdr_core zoo` "
            "(`blog-cnn-case-1` is the blog's network for the experiments' 20 epochs); shipped rows: figures from "
            "their model cards. The last column is the test accuracy each reference project reports for the same "
            "recipe (– where we hold no figure of its own). The EMNIST project's 99.4% is on EMNIST Digits' "
            "40,000 test digits, not MNIST's 10,000.")
    gaps = [100 * (e.test_accuracy - theirs) for e in entries
            if (theirs := reported_mnist_accuracy(e.reported)) is not None]
    if gaps:
        note += (f" Where a project reports an MNIST figure for the same recipe, ours is {min(gaps):+.2f} to "
                 f"{max(gaps):+.2f} points from it: single runs on both sides, and ours hold out the blog's 30% of "
                 "the training split, which the experiments' document does not say they did.")
    if machine:
        note += f" Seconds are wall-clock fitting time on {machine}."
    return "\n".join(lines) + "\n\n" + note + "\n"


def write_table(readme: str | os.PathLike, table: str) -> Path:
    """Replace the text between the zoo markers in ``readme`` with ``table``.

    Raises
    ------
    ValueError
        ``readme`` lacks the ``<!-- zoo-table -->`` / ``<!-- /zoo-table -->`` markers.
    """
    path = Path(readme)
    text = path.read_text()
    begin, end = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if begin < 0 or end < begin:
        raise ValueError(f"{path} has no {TABLE_BEGIN} ... {TABLE_END} markers to put the zoo table between")
    path.write_text(text[: begin + len(TABLE_BEGIN)] + "\n" + table + text[end:])
    return path
