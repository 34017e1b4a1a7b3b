"""Hostile model files through the CLI: how long each takes to be refused, and the whole process's peak memory.

Writes, in a temporary folder, the files an attacker would upload to a class server (a zip bomb whose weights
inflate to 3 GB, a member named outside the archive, an unknown layer class, a Lambda layer, a legacy HDF5
file, a truncated archive, a text file and an empty file, all named ``.keras``), and runs for each::

    python -m hdr_core predict --model FILE digit.png

in its own process, printing one JSON line per file: the exit status, the first line of the message, the
wall-clock seconds (most of it starting Python and TensorFlow) and the process's peak RSS. A shipped model
runs last, as the reference::

    python benchmarks/hostile_models.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "models" / "hdr-fast.keras"


def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(SHIPPED) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_layer(members: dict[str, bytes], layer: dict) -> dict[str, bytes]:
    config = json.loads(members["config.json"])
    config["config"]["layers"].insert(1, layer)
    return {**members, "config.json": json.dumps(config).encode()}


def hostile_files(folder: Path) -> dict[str, Path]:
    """name -> path of each hostile file, written into ``folder``."""
    members = _members()
    files = {}
    bomb = folder / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", members["config.json"])
        archive.writestr("metadata.json", members["metadata.json"])
        zeros = bytes(1 << 24)
        with archive.open("model.weights.h5", "w", force_zip64=True) as weights:
            for _ in range(3 * 1024 // 16):  # 3 GiB of zeros, about 3 MB once deflated
                weights.write(zeros)
    files["zip bomb (3 GiB of zeros)"] = bomb
    files["member named ../../escape"] = _zip(folder / "traversal.keras", {**members, "../../escape.txt": b"x"})
    files["unknown layer class"] = _zip(folder / "unknown.keras", _with_layer(
        members, {"module": "evil.layers", "class_name": "StealCookies", "config": {"name": "steal"}}))
    files["Lambda layer"] = _zip(folder / "lambda.keras", _with_layer(
        members, {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "code", "function": "x"}}))
    (folder / "legacy.keras").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(4096))
    files["legacy HDF5"] = folder / "legacy.keras"
    data = SHIPPED.read_bytes()
    (folder / "truncated.keras").write_bytes(data[: len(data) // 2])
    files["truncated archive"] = folder / "truncated.keras"
    (folder / "text.keras").write_text("not a model\n")
    files["text file"] = folder / "text.keras"
    (folder / "empty.keras").write_bytes(b"")
    files["empty file"] = folder / "empty.keras"
    files["shipped model (reference)"] = SHIPPED
    return files


def run(model: Path, image: Path) -> dict:
    """Run ``predict --model model image`` in a child process: status, message, seconds, peak RSS (MiB)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "hdr_core", "predict", "--model", str(model), str(image)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    err = child.stderr.read().decode(errors="replace").strip().splitlines()
    out = child.stdout.read().decode(errors="replace").strip().splitlines()
    message = next((line for line in err if "Error" in line or "refused" in line.lower() or ":" in line), "")
    return {"exit": os.waitstatus_to_exitcode(status), "seconds": round(seconds, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 0), "message": (message or (out[0] if out else ""))[:160]}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hdr-hostile-") as folder:
        folder = Path(folder)
        image = folder / "seven.png"
        canvas = np.full((120, 120), 255, np.uint8)
        cv2.putText(canvas, "7", (25, 100), cv2.FONT_HERSHEY_SIMPLEX, 3.5, 0, 9)
        cv2.imwrite(str(image), canvas)
        for name, path in hostile_files(folder).items():
            figures = run(path, image)
            print(json.dumps({"file": name, "bytes": path.stat().st_size, **figures}), flush=True)


if __name__ == "__main__":
    main()
