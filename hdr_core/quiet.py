"""TensorFlow without its start-up chatter, for the CLI, the benchmarks and the app alike.

On a machine without a GPU, TensorFlow prints oneDNN and CUDA lines ("failed call to cuInit...") while it
loads; they read like failures to a teacher starting the app. ``import_tensorflow_quietly`` hides them and
replays them only if the import itself fails, so real errors still show.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator

__all__ = ["import_tensorflow_quietly", "quiet_tensorflow", "stderr_held_back"]


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras with their start-up logs hidden.

    TensorFlow 2.21 writes a few C++ log lines (oneDNN, CUDA) on stderr while it loads, before absl
    logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` cannot hide them: stderr is pointed at a
    temporary file during the import, and that file is replayed only if the import fails.
    """
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    quiet_tensorflow()
    with stderr_held_back():
        import keras  # noqa: F401  (imports TensorFlow, its backend)
        import tensorflow  # noqa: F401


@contextlib.contextmanager
def stderr_held_back() -> Iterator[None]:
    """Hold back what C++ libraries write on stderr (file descriptor 2) inside the block.

    Replayed only if the block raises, so real errors still show. Used for TensorFlow's import, the
    LiteRT converter and LiteRT's "Created TensorFlow Lite XNNPACK delegate" line. Brief: other threads'
    stderr in the same moment is held back too.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded interpreter): run as is
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> None:
    """Silence TensorFlow's and absl's start-up chatter before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(tensorflow|keras|absl|google|tf_keras)(\.|$)")
