"""The shipped models and their cards: which models there are, where, which is the default, what each card says.

Reads only JSON and the file system (no TensorFlow), so the app lists its models before TensorFlow starts.
Each shipped model ``models/NAME.keras`` has a model card ``models/NAME.json`` (at least ``name``, ``file``,
``class_names``; often ``dataset``, ``architecture``, ``params``, ``test_accuracy``, ``real_dev``, and
``calibration``).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdr_core.constants import DEFAULT_MODEL_NAME, MODEL_SUFFIX, MODELS_DIR_ENV

__all__ = ["ModelInfo", "default_model_path", "models_dir", "read_card", "shipped_models"]

_CARD_SUFFIX = ".json"


def models_dir() -> Path:
    """Folder of the shipped models.

    Returns
    -------
    path : Path
        ``$HDR_MODELS_DIR`` when that environment variable is set and not empty, else the ``models/``
        folder of the repository (beside the ``hdr_core`` package). The folder may not exist.
    """
    override = os.environ.get(MODELS_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class ModelInfo:
    """One shipped model: its name, its ``.keras`` file and its model card.

    Attributes
    ----------
    name : str
        The card's ``name`` (the file stem when the card has none).
    path : Path
        The ``.keras`` file.
    card : dict
        The model card as read from JSON (a copy; optional keys may be missing).
    """

    name: str
    path: Path
    card: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """Class names from the card, or None when the card lists none."""
        return _card_class_names(self.card)

    @property
    def is_default(self) -> bool:
        """True for the model that commands and pages use when none is chosen."""
        return self.name == DEFAULT_MODEL_NAME or self.path.stem == DEFAULT_MODEL_NAME


def _card_class_names(card: dict[str, Any] | None) -> tuple[str, ...] | None:
    names = (card or {}).get("class_names")
    if isinstance(names, (list, tuple)) and names and all(isinstance(n, (str, int)) for n in names):
        return tuple(str(n) for n in names)
    return None


def _read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        card = json.load(f)
    if not isinstance(card, dict):
        raise ValueError(f"expected a JSON object, got {type(card).__name__}")
    return card


def read_card(model_path: str | os.PathLike) -> dict[str, Any] | None:
    """Model card of a ``.keras`` file, if there is one.

    Parameters
    ----------
    model_path : str or PathLike
        The ``.keras`` file. Its card is ``<same folder>/<same stem>.json``, or any ``*.json`` card in
        the same folder whose ``file`` names it.

    Returns
    -------
    card : dict or None
        The parsed card, or None when no readable card exists (an unreadable card is ignored with a
        warning: a model is usable without its card).
    """
    path = Path(model_path)
    candidates = [path.with_suffix(_CARD_SUFFIX)]
    if path.parent.is_dir():
        candidates += sorted(p for p in path.parent.glob(f"*{_CARD_SUFFIX}") if p != candidates[0])
    for i, card_path in enumerate(candidates):
        if not card_path.is_file():
            continue
        try:
            card = _read_json(card_path)
        except (OSError, ValueError) as exc:
            if i == 0:
                warnings.warn(f"ignoring unreadable model card {card_path}: {exc}", stacklevel=2)
            continue
        if i == 0 or card.get("file") == path.name:
            return card
    return None


def shipped_models() -> list[ModelInfo]:
    """The models in :func:`models_dir`, read from their ``*.json`` model cards.

    Returns
    -------
    models : list of ModelInfo
        The default model (``constants.DEFAULT_MODEL_NAME``) first, then the others by name. Cards
        that cannot be read, or whose ``.keras`` file is missing, are skipped with a warning; an
        absent folder gives an empty list.
    """
    return _scan_models(warn=True)


def _scan_models(*, warn: bool) -> list[ModelInfo]:
    folder = models_dir()
    if not folder.is_dir():
        return []
    found: list[ModelInfo] = []
    for card_path in sorted(folder.glob(f"*{_CARD_SUFFIX}")):
        try:
            card = _read_json(card_path)
        except (OSError, ValueError) as exc:
            if warn:
                warnings.warn(f"skipping unreadable model card {card_path}: {exc}", stacklevel=3)
            continue
        file_name = str(card.get("file") or f"{card_path.stem}{MODEL_SUFFIX}")
        if Path(file_name).name != file_name or file_name in (".", ".."):
            if warn:
                warnings.warn(
                    f"skipping model card {card_path.name}: its file {file_name!r} must be a file name "
                    "in the same folder",
                    stacklevel=3,
                )
            continue
        model_path = folder / file_name
        if not model_path.is_file():
            if warn:
                warnings.warn(
                    f"skipping model card {card_path.name}: its model file {model_path} is missing",
                    stacklevel=3,
                )
            continue
        name = str(card.get("name") or card_path.stem)
        found.append(ModelInfo(name=name, path=model_path, card=dict(card)))
    found.sort(key=lambda info: (not info.is_default, info.name))
    return found


def default_model_path() -> Path:
    """The ``.keras`` file of the default shipped model.

    Returns
    -------
    path : Path
        The file named by the default model's card, else ``models_dir() / "<DEFAULT_MODEL_NAME>.keras"``.
        The path is returned even when the file is missing; :func:`load_model` then says so.
    """
    for info in _scan_models(warn=False):
        if info.is_default:
            return info.path
    return models_dir() / f"{DEFAULT_MODEL_NAME}{MODEL_SUFFIX}"
