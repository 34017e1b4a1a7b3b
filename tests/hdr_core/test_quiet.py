"""TensorFlow's start-up chatter stays out of the log; a failing import still shows its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


def test_importing_tensorflow_quietly_prints_nothing():
    loud = _run("import tensorflow")
    quiet = _run("from hdr_core.quiet import import_tensorflow_quietly; import_tensorflow_quietly(); "
                 "import tensorflow; print('ok')")
    assert quiet.returncode == 0 and quiet.stdout.strip() == "ok"
    assert quiet.stderr.strip() == "", quiet.stderr
    # The chatter it hides is real on this machine (oneDNN, CUDA lines), or there was nothing to hide.
    assert loud.returncode == 0


def test_a_failing_import_replays_what_it_printed():
    failing = _run("import builtins, sys\n"
                   "real = builtins.__import__\n"
                   "def broken(name, *args, **kwargs):\n"
                   "    if name == 'keras':\n"
                   "        sys.stderr.write('keras: something real went wrong\\n')\n"
                   "        raise ImportError('no keras')\n"
                   "    return real(name, *args, **kwargs)\n"
                   "builtins.__import__ = broken\n"
                   "from hdr_core.quiet import import_tensorflow_quietly\n"
                   "import_tensorflow_quietly()\n")
    assert failing.returncode != 0
    assert "something real went wrong" in failing.stderr and "no keras" in failing.stderr
