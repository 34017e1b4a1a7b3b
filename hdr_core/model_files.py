"""Model files from strangers: everything checked before Keras reads a byte of them.

A hosted class loads ``.keras`` files that students bring. A ``.keras`` file is a zip archive holding
``config.json`` (the layers), ``metadata.json`` and ``model.weights.h5`` (HDF5). ``inspect_model_file``
refuses, with a message naming the reason, anything that is not such an archive or that could hurt the
server while Keras loads it:

- not a zip (a legacy HDF5 ``.h5``, a text file, an empty file, a truncated download);
- members whose names leave the archive (an absolute path, ``..``), too many members;
- members whose declared sizes, or their total, exceed ``FileLimits`` (a zip bomb: a few megabytes that
  inflate to gigabytes). Python's zipfile never inflates a member past its declared size, so the declared
  sizes bound what loading can take;
- a ``config.json`` that is not JSON, or that names a layer class outside ``SUPPORTED_LAYERS`` (a Lambda
  layer carries Python code; a custom class is code the app does not have);
- weights whose HDF5 datasets declare more numbers than ``FileLimits.max_weights`` (read from the HDF5
  metadata only, no weights are read).

Only then does ``inference.load_model`` (or ``inference.load_model_bytes``) hand the file to Keras, with ``safe_mode``.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from .constants import MODEL_SUFFIX, MODELS_DIR_ENV
from .errors import ModelError

#: Layer classes a model of this app may use: every layer the presets, the custom builder and ordinary Keras
#: image classifiers are made of. Anything else (Lambda, TFSMLayer, custom classes) is refused by name.
SUPPORTED_LAYERS = frozenset({
    "Functional", "Sequential", "Model", "InputLayer",
    "Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense", "EinsumDense",
    "Flatten", "Reshape", "Permute", "RepeatVector", "ZeroPadding2D", "Cropping2D", "UpSampling2D",
    "MaxPooling2D", "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
    "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D",
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization", "Normalization",
    "Rescaling", "Resizing", "CenterCrop",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization",
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "RandomRotation", "RandomTranslation", "RandomZoom", "RandomFlip", "RandomContrast", "RandomBrightness",
    "RandomCrop",
})
# Keras modules a supported class may come from (``module`` in the config); custom classes name their own.
_KERAS_MODULES = ("keras.layers", "keras.src.layers", "keras.models", "keras.src.models", "keras.src.engine",
                  "keras.engine", "keras")


@dataclass(frozen=True)
class FileLimits:
    """What an untrusted model file may declare; far above any model of this app (the shipped ones are 2-3 MB
    with under a million weights), far below a class server's memory."""

    max_file_bytes: int = 100_000_000  # the archive itself
    max_members: int = 16  # a .keras archive has three
    max_member_bytes: int = 64_000_000  # any one member, inflated
    max_total_bytes: int = 96_000_000  # all members together, inflated
    max_config_bytes: int = 2_000_000  # config.json (the shipped models' are 23 kB)
    max_weights: int = 10_000_000  # numbers in the HDF5 weights (40 MB of float32)


DEFAULT_LIMITS = FileLimits()


def inspect_model_file(path: str | Path, *, limits: FileLimits = DEFAULT_LIMITS, layers: bool = True) -> None:
    """Refuse an untrusted ``.keras`` file before Keras opens it.

    Parameters
    ----------
    path : str or Path
    limits : FileLimits, keyword-only
    layers : bool, keyword-only
        Check the layer classes against ``SUPPORTED_LAYERS`` (default). False only for a file its owner made
        (``load_model(..., trusted=True)``); the archive's names and sizes are checked either way.

    Raises
    ------
    ModelError
        The file is missing, a folder, empty, HDF5, not a zip, damaged, misnamed, or declares something
        outside ``limits`` or ``SUPPORTED_LAYERS``; the message names which.
    """
    path = Path(path)
    _check_container(path, limits)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_members(path, members, limits)
            config = _read_config(path, archive, limits)
            if layers:
                _check_layers(path, config)
            if "model.weights.h5" in archive.namelist():
                _check_weights(path, archive, limits)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelError(f"{path.name} is a damaged .keras archive ({exc}); save or upload it again.") from exc


def _check_container(path: Path, limits: FileLimits) -> None:
    if not path.exists():
        from .catalog import models_dir

        raise ModelError(
            f"Model file not found: {path}. Check the path; shipped models live in {models_dir()} "
            f"(set {MODELS_DIR_ENV} to use another folder)."
        )
    if not path.is_file():
        raise ModelError(f"{path} is a folder, not a model file: choose a .keras file.")
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path.name} is empty (0 bytes): the file was not saved or uploaded completely.")
    if size > limits.max_file_bytes:
        raise ModelError(f"{path.name} is {size / 1e6:.0f} MB: far larger than any model of this app "
                         f"(at most {limits.max_file_bytes / 1e6:.0f} MB is accepted).")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x89HDF"):
        raise ModelError(
            f"{path.name} is a legacy HDF5 (.h5) Keras file, which this app does not load. "
            "Re-save the model in the Keras 3 format with model.save('model.keras')."
        )
    if not zipfile.is_zipfile(path):
        if head.startswith(b"PK"):
            raise ModelError(f"{path.name} looks like a damaged or truncated .keras archive; save or upload it again.")
        raise ModelError(
            f"{path.name} is not a Keras model: a .keras file is a zip archive, and this file is not one "
            "(it may be a different format renamed to .keras). Save the model with model.save('model.keras')."
        )


def _check_members(path: Path, members: list[zipfile.ZipInfo], limits: FileLimits) -> None:
    if len(members) > limits.max_members:
        raise ModelError(f"{path.name} holds {len(members)} files; a .keras model holds three. Refused.")
    for info in members:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise ModelError(f"{path.name} holds a file named {name!r}, which points outside the archive "
                             "(a path-traversal attack). Refused.")
        if info.file_size > limits.max_member_bytes:
            raise ModelError(
                f"{path.name}: its member {name!r} inflates to {info.file_size / 1e6:,.0f} MB "
                f"(from {info.compress_size / 1e6:,.1f} MB in the file), over the "
                f"{limits.max_member_bytes / 1e6:.0f} MB a model of this app can need: a zip bomb, or not a model "
                "for this app. Refused."
            )
    total = sum(info.file_size for info in members)
    if total > limits.max_total_bytes:
        raise ModelError(f"{path.name} inflates to {total / 1e6:,.0f} MB in all, over the "
                         f"{limits.max_total_bytes / 1e6:.0f} MB a model of this app can need. Refused.")
    names = {info.filename for info in members}
    if "config.json" not in names:
        raise ModelError(
            f"{path.name} is a zip archive but not a Keras model (it has no config.json). "
            "Save the model with model.save('model.keras')."
        )
    if path.suffix != MODEL_SUFFIX:
        raise ModelError(f"{path.name} looks like a Keras model but its name does not end in .keras; rename it to "
                         f"{path.stem}.keras.")


def _read_config(path: Path, archive: zipfile.ZipFile, limits: FileLimits) -> dict[str, Any]:
    if archive.getinfo("config.json").file_size > limits.max_config_bytes:
        raise ModelError(f"{path.name}: its config.json is larger than any model's description. Refused.")
    try:
        config = json.loads(archive.read("config.json"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path.name}: its config.json is not valid JSON ({exc}); save the model again.") from exc
    if not isinstance(config, dict):
        raise ModelError(f"{path.name}: its config.json does not describe a model; save the model again.")
    return config


def _layer_classes(config: Any) -> Iterator[tuple[str, str]]:
    """``(class_name, module)`` of the model and of every layer nested in its config."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict) and (
            "module" in config or "layers" in config["config"] or "name" in config["config"]
        ):
            yield str(config["class_name"]), str(config.get("module") or "")
        for key, value in config.items():
            if key in ("layers", "config", "layer"):
                yield from _layer_classes(value)
    elif isinstance(config, list):
        for item in config:
            yield from _layer_classes(item)


def _check_layers(path: Path, config: dict[str, Any]) -> None:
    for class_name, module in _layer_classes(config):
        if class_name == "Lambda":
            raise ModelError(
                f"{path.name}: this model contains Python code (a Lambda layer), which is not loaded for safety: it "
                "could run anything on this computer. Rebuild the model without Lambda layers, or load it with "
                "trusted=True only if you made it yourself."
            )
        if class_name not in SUPPORTED_LAYERS or (module and not module.startswith(_KERAS_MODULES)):
            where = f" from {module}" if module else ""
            raise ModelError(
                f"{path.name} uses a layer this app does not support: {class_name}{where}. Models here are built "
                "from standard Keras layers (convolutions, pooling, dense, normalisation, dropout)."
            )


def _check_weights(path: Path, archive: zipfile.ZipFile, limits: FileLimits) -> None:
    """Count the numbers the HDF5 weights declare, from their metadata (no weights are read)."""
    import h5py

    total = 0
    try:
        with archive.open("model.weights.h5") as member, h5py.File(member, "r") as weights:
            def visit(name, item):
                nonlocal total
                if isinstance(item, h5py.Dataset):
                    total += int(item.size)

            weights.visititems(visit)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path.name}: its weights (model.weights.h5) are damaged ({exc}); save the model again."
                         ) from exc
    if total > limits.max_weights:
        raise ModelError(f"{path.name} declares {total:,} weights, over the {limits.max_weights:,} a model of this "
                         "app can have. Refused.")
