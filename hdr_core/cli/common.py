"""What every command shares: exit statuses, JSON or text output, error messages, the model and image paths."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hdr_core.constants import DIGIT_CLASS_NAMES
from hdr_core.errors import HdrError

PROG = "python -m hdr_core"

EXIT_OK = 0
EXIT_UNEXPECTED = 1  # a bug: something other than bad input went wrong
EXIT_BAD_INPUT = 2  # bad input (and argparse usage errors)
EXIT_INTERRUPTED = 130  # Ctrl-C outside training (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # stdout closed by the reader (128 + SIGPIPE)

# What a bad input can raise while it is read or used; anything else is a bug.
INPUT_ERRORS = (HdrError, ValueError, OSError, MemoryError)


def plain(value: Any) -> Any:
    """``value`` as plain JSON types: NumPy scalars and arrays become numbers and lists, paths strings,
    NaN and infinities ``None`` (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
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


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(plain(value), indent=indent, ensure_ascii=False, allow_nan=False)


class Output:
    """Where a command's results go: JSON on stdout with ``--json``, readable text otherwise."""

    def __init__(self, json_mode: bool):
        self.json = json_mode

    def record(self, value: dict[str, Any]) -> None:
        """One JSON Lines record (``predict``)."""
        print(dumps(value), flush=True)

    def document(self, value: dict[str, Any]) -> None:
        """The one JSON document of a command."""
        print(dumps(value, indent=2), flush=True)

    def text(self, line: str = "") -> None:
        print(line, flush=True)

    def error(self, message: str, **context: Any) -> int:
        """Report bad input (as ``{..context, "error": message}`` with ``--json``); returns exit status 2."""
        if self.json:
            self.record({**context, "error": message})
        else:
            print(f"error: {message}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT


def log_progress(message: str) -> None:
    """A progress line on stderr (never on stdout, which may be JSON)."""
    print(message, file=sys.stderr, flush=True)


def error_message(error: BaseException) -> str:
    """The user-facing text of an input error."""
    if isinstance(error, HdrError):
        return str(error).replace("trusted=True", "--trusted")  # the library's words for the option
    if isinstance(error, MemoryError):
        return "not enough memory to process this input; use a smaller image or file"
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror}"
    return str(error) or type(error).__name__


def load_predictor(path: str | None, *, trusted: bool):
    from hdr_core import inference

    return inference.Predictor.from_path(None if path is None else Path(path), trusted=trusted)


def inspect_model(path: Path, *, trusted: bool) -> None:
    """Refuse a hostile or broken model file before TensorFlow starts (a second, not several; no weights read)."""
    from hdr_core.model_files import inspect_model_file

    inspect_model_file(path, layers=not trusted)


def model_path_of(path: str | None) -> Path:
    from hdr_core import inference

    return inference.default_model_path() if path is None else Path(path)


def is_digit_set(class_names: Sequence[str]) -> bool:
    return tuple(class_names) == DIGIT_CLASS_NAMES


def check_image_path(path: str) -> None:
    """Clear messages for the commonest mistakes, before the image loader sees the path."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{path} is a folder, not an image file: give image files (e.g. {Path(path) / '*.png'}).")
    if not p.exists():
        raise ValueError(f"{path}: file not found. Check the path and try again.")
