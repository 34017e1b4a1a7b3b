"""The command line: ``python -m hdr_core <command>``.

=========  =========================================================================================
command    does
=========  =========================================================================================
predict    read image files, preprocess them as the Upload page does, predict the digit (or a whole
           number with ``--multi``)
evaluate   accuracy of a model on a dataset split, or on the real handwriting set (``real-dev``)
calibrate  fit a model's temperature on its validation split (probabilities that mean what they say)
export-lite
           write a model's LiteRT file beside it, so the app answers drawings without TensorFlow
train      train like the Train page does and save the model with its card
train-digit-check
           train the digit check (digits against other drawings) the pages use to say "may not be a digit"
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

One module per concern: ``common`` (output, exit statuses, messages), ``options`` (value parsers and the
training options), ``parser`` (every command's options), then one module per group of commands
(``predict``, ``evaluate``, ``train``, ``info``).
"""

from __future__ import annotations

import os

# TensorFlow reads this when it is first imported (lazily, by the commands that need it): without it,
# its C++ start-up logs would clutter the terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from typing import Sequence  # noqa: E402

from hdr_core.errors import HdrError  # noqa: E402
from hdr_core.quiet import quiet_tensorflow  # noqa: E402

from .common import (  # noqa: E402
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNEXPECTED,
    PROG,
    Output,
)
from .options import THRESHOLD_METHODS, UsageError, config_fields  # noqa: E402
from .parser import build_parser, config_from_command  # noqa: E402
from .train import cmd_train  # noqa: E402

__all__ = ["THRESHOLD_METHODS", "UsageError", "build_parser", "config_fields", "config_from_command", "main"]


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
    quiet_tensorflow()
    out = Output(args.json)
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
