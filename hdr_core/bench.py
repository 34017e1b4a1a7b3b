"""The project's own speed figures, each measured beside the baseline it is compared against.

``python -m hdr_core bench [--quick]`` prints :func:`run_all`'s dict. Every figure is a dict with an
``ours`` and a ``baseline`` entry (each saying ``what`` was measured) and their ratio:

============  ==========================================================================================
figure        ours vs baseline
============  ==========================================================================================
predict       ``Predictor.predict`` (a traced ``tf.function``) vs ``model.predict`` on one 28x28 image
canvas        ``preprocess.from_canvas`` + ``preprocess.preprocess`` + ``Predictor.predict`` on a 280x280
              RGBA canvas vs the usual public pattern: whole-canvas ``cv2.resize`` to 28x28 +
              ``model.predict``
model_load    ``inference.load_model`` (checks + Keras safe mode) vs bare ``keras.models.load_model``,
              per shipped model, with file sizes
training      (not with ``--quick``) time until the ``fast`` preset first reaches 99.0% MNIST test accuracy
              vs the ``emnist-cnn`` reference recipe (the EMNIST Digits project's own network and
              recipe), and the peak RSS of each full-MNIST training
============  ==========================================================================================

Times are medians of repeated runs on this machine (``machine`` says which); compare figures only
between runs on the same machine. Each training runs in its own Python process, so its peak memory
(``ru_maxrss``) is its own and its timing is not disturbed by this one's state.

Importing this module is cheap; TensorFlow is imported by the functions that need it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .models import PRESETS

Progress = Callable[[str], None]

TARGET_ACCURACY = 0.99  # issue 6: time to first reach 99.0% MNIST test accuracy
# Our fast preset runs its own recipe (its one-cycle learning rate is planned over exactly these epochs,
# so a longer cap would slow its first epochs down).
FAST_EPOCHS = PRESETS["fast"].recipe["epochs"]
REFERENCE_PRESET = "emnist-cnn"  # the EMNIST Digits project's own network and recipe, which we compare with
REFERENCE_EPOCHS = PRESETS[REFERENCE_PRESET].recipe["epochs"]  # its own cap (it stops once at the target)
CANVAS_SIZE = 280  # streamlit-drawable-canvas's usual size in the reference apps
CANVAS_STROKE = 18  # stroke width in canvas pixels


def _quiet(message: str) -> None:
    pass


def _median_ms(function: Callable[[], Any], *, repeats: int, warmup: int = 3) -> float:
    """Median wall time of ``function()`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def _ratio(baseline: float | None, ours: float | None) -> float | None:
    """How many times smaller ``ours`` is than ``baseline`` (> 1: ours is faster / smaller)."""
    if baseline is None or ours is None or ours <= 0:
        return None
    return round(baseline / ours, 2)


def machine() -> dict[str, Any]:
    """The machine and library versions the figures were taken on."""
    import importlib.metadata as metadata

    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "tensorflow": version("tensorflow"),
        "keras": version("keras"),
        "numpy": version("numpy"),
    }


def _default_model(model_path: str | os.PathLike | None) -> Path:
    from hdr_core import inference

    return inference.default_model_path() if model_path is None else Path(model_path)


# --------------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------------


def predict_speed(model_path: str | os.PathLike | None = None, *, repeats: int = 300,
                  baseline_repeats: int = 30) -> dict[str, Any]:
    """Single-image prediction: ``Predictor.predict`` vs ``model.predict``.

    Parameters
    ----------
    model_path : path, optional
        A ``.keras`` file; default the default shipped model.
    repeats, baseline_repeats : int
        Timed calls of ours and of the baseline (``model.predict`` costs tens of ms per call).

    Returns
    -------
    figure : dict
        ``{"model", "ours": {"what", "median_ms"}, "baseline": {"what", "median_ms"}, "speedup",
        "max_abs_difference", "draw_page": {...}}``; ``max_abs_difference`` compares the two outputs'
        probabilities. ``draw_page`` times the Draw and Upload pages' one-image path, LiteRT
        (``hdr_core.lite``), beside the ``tf.lite.Interpreter`` it replaced (deprecated since TensorFlow
        2.19), both single-threaded on the same flat buffer.
    """
    from hdr_core import inference

    path = _default_model(model_path)
    predictor = inference.Predictor.from_path(path)
    model = predictor.model
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)  # (28, 28) float32 in [0, 1]
    batch = image.reshape(1, 28, 28, 1)
    ours = _median_ms(lambda: predictor.predict(image), repeats=repeats, warmup=10)
    baseline = _median_ms(lambda: model.predict(batch, verbose=0), repeats=baseline_repeats)
    difference = float(np.abs(predictor.predict(image).probabilities - model.predict(batch, verbose=0)[0]).max())
    return {
        "model": path.name,
        "ours": {"what": "Predictor.predict (traced tf.function), one 28x28 image", "median_ms": round(ours, 3)},
        "baseline": {"what": "model.predict, one 28x28 image", "median_ms": round(baseline, 3)},
        "speedup": _ratio(baseline, ours),
        "max_abs_difference": difference,
        "draw_page": _lite_speed(predictor, image, repeats=repeats),
    }


def _lite_speed(predictor, image: np.ndarray, *, repeats: int) -> dict[str, Any]:
    """The one-image path of the Draw page: LiteRT now, the deprecated ``tf.lite.Interpreter`` before it."""
    import warnings

    from hdr_core import lite

    flat = lite.convert(predictor.model)
    quick = lite.LitePredictor(flat, predictor.class_names, temperature=predictor.temperature)
    ours = _median_ms(lambda: quick.predict(image), repeats=repeats, warmup=10)
    figure: dict[str, Any] = {"litert": {"what": "hdr_core.lite.LitePredictor (ai-edge-litert, 1 thread)",
                                         "median_ms": round(ours, 3)}}
    try:
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old = tf.lite.Interpreter(model_content=flat, num_threads=1)
        detail = old.get_input_details()[0]
        old.resize_tensor_input(detail["index"], [1, *detail["shape"][1:]])
        old.allocate_tensors()
        detail, output = old.get_input_details()[0], old.get_output_details()[0]

        def before() -> None:
            old.set_tensor(detail["index"], image.reshape(detail["shape"]))
            old.invoke()
            old.get_tensor(output["index"])

        then = _median_ms(before, repeats=repeats, warmup=10)
        figure["tf_lite_interpreter"] = {"what": "tf.lite.Interpreter (before; deprecated), 1 thread",
                                         "median_ms": round(then, 3)}
        figure["speedup"] = _ratio(then, ours)
    except Exception as exc:  # noqa: BLE001 - a TensorFlow without tf.lite: LiteRT's figure alone
        figure["tf_lite_interpreter"] = {"error": f"{type(exc).__name__}: {exc}"}
    return figure


def synthetic_canvas(size: int = CANVAS_SIZE, *, stroke: int = CANVAS_STROKE) -> np.ndarray:
    """A drawable-canvas ``image_data`` with a "7": white strokes on a transparent background.

    Returns
    -------
    rgba : (size, size, 4) uint8 ndarray
    """
    import cv2

    canvas = np.zeros((size, size, 4), np.uint8)
    s = size / 280.0
    points = [(80, 70), (200, 70), (130, 220)]  # the 7's bar and its stem, in 280x280 coordinates
    for a, b in zip(points, points[1:]):
        cv2.line(canvas, (int(a[0] * s), int(a[1] * s)), (int(b[0] * s), int(b[1] * s)),
                 (255, 255, 255, 255), thickness=max(1, int(stroke * s)), lineType=cv2.LINE_AA)
    return canvas


def canvas_speed(model_path: str | os.PathLike | None = None, *, repeats: int = 100,
                 baseline_repeats: int = 30) -> dict[str, Any]:
    """Stroke-to-prediction on a 280x280 canvas: our preprocessing + fast path vs the usual pattern.

    The usual public pattern (the reference apps) resizes the whole canvas to 28x28, converts it to
    gray and calls ``model.predict``: no cropping, centring or inversion check.

    Returns
    -------
    figure : dict
        ``{"model", "canvas", "ours": {"what", "median_ms", "preprocess_ms", "predict_ms", "prediction"},
        "baseline": {"what", "median_ms", "prediction"}, "speedup"}``; ``prediction`` is what each read
        from the drawn "7".
    """
    import cv2

    from hdr_core import inference, preprocess

    path = _default_model(model_path)
    predictor = inference.Predictor.from_path(path)
    model = predictor.model
    canvas = synthetic_canvas()

    def ours_preprocess():
        return preprocess.preprocess(preprocess.from_canvas(canvas)).model_input

    def ours():
        return predictor.predict(ours_preprocess())

    def public_pattern():
        small = cv2.resize(canvas, (28, 28))  # the whole canvas, (28, 28, 4)
        gray = cv2.cvtColor(small, cv2.COLOR_RGBA2GRAY)
        return model.predict(gray.reshape(1, 28, 28, 1).astype(np.float32) / 255.0, verbose=0)

    model_input = ours_preprocess()
    total = _median_ms(ours, repeats=repeats)
    prep = _median_ms(ours_preprocess, repeats=repeats)
    predict = _median_ms(lambda: predictor.predict(model_input), repeats=repeats)
    baseline = _median_ms(public_pattern, repeats=baseline_repeats)
    mine, theirs = ours(), public_pattern()[0]
    return {
        "model": path.name,
        "canvas": f"{canvas.shape[1]}x{canvas.shape[0]} RGBA, a '7' drawn with cv2.line",
        "ours": {"what": "from_canvas + preprocess + Predictor.predict", "median_ms": round(total, 3),
                 "preprocess_ms": round(prep, 3), "predict_ms": round(predict, 3),
                 "prediction": mine.label, "confidence": round(mine.confidence, 4)},
        "baseline": {"what": "cv2.resize(whole canvas, 28x28) + gray + model.predict", "median_ms": round(baseline, 3),
                     "prediction": predictor.class_names[int(np.argmax(theirs))],
                     "confidence": round(float(np.max(theirs)), 4)},
        "speedup": _ratio(baseline, total),
    }


# --------------------------------------------------------------------------------------------------
# Model loading
# --------------------------------------------------------------------------------------------------


def load_times(paths: Sequence[str | os.PathLike] | None = None, *, repeats: int = 3) -> list[dict[str, Any]]:
    """Load time and file size of each model: ``inference.load_model`` vs ``keras.models.load_model``.

    Parameters
    ----------
    paths : sequence of paths, optional
        ``.keras`` files; default every shipped model.
    repeats : int
        Loads of each file with each loader; the median is reported. One untimed load comes first, so
        Keras's own one-time start-up is charged to neither.

    Returns
    -------
    figures : list of dict
        Per model: ``{"model", "file_bytes", "ours": {"what", "seconds", "ready_seconds"},
        "baseline": {"what", "seconds"}, "ratio"}``; ``ready_seconds`` adds building the
        :class:`~hdr_core.inference.Predictor` (tracing its fast path), i.e. until the first fast prediction.
    """
    import keras

    from hdr_core import inference

    if paths is None:
        paths = [info.path for info in inference.shipped_models()]
    if paths:  # untimed: the first load in a process also initialises Keras, whichever loader runs first
        keras.models.load_model(Path(paths[0]))
    figures = []
    for path in map(Path, paths):
        ours, ready, baseline = [], [], []
        for _ in range(repeats):
            start = time.perf_counter()
            model = inference.load_model(path)
            ours.append(time.perf_counter() - start)
            inference.Predictor(model)
            ready.append(time.perf_counter() - start)
            start = time.perf_counter()
            keras.models.load_model(path)
            baseline.append(time.perf_counter() - start)
        figures.append({
            "model": path.name,
            "file_bytes": path.stat().st_size,
            "ours": {"what": "inference.load_model (file checks, safe_mode, shape checks)",
                     "seconds": round(statistics.median(ours), 3),
                     "ready_seconds": round(statistics.median(ready), 3)},
            "baseline": {"what": "keras.models.load_model", "seconds": round(statistics.median(baseline), 3)},
            "ratio": _ratio(statistics.median(baseline), statistics.median(ours)),
        })
    return figures


# --------------------------------------------------------------------------------------------------
# Training: time to 99% and peak memory
# --------------------------------------------------------------------------------------------------


def _train_worker(request_json: str) -> None:
    """Run in a child process: train, stop once the target accuracy is reached, print a JSON result."""
    from hdr_core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from hdr_core.train import TrainConfig, train

    request = json.loads(request_json)
    target = request["target"]
    config = TrainConfig.from_preset(request["preset"], track_test_accuracy=True, epochs=request["epochs"],
                                     **({"train_limit": request["train_limit"]} if request.get("train_limit") else {}))

    class StopAtTarget:
        reached = False

        def on_epoch_end(self, epoch, logs):
            print(f"  {config.arch} epoch {epoch + 1}: test accuracy {logs.get('test_accuracy', float('nan')):.4f} "
                  f"after {logs.get('seconds', float('nan')):.1f} s", file=sys.stderr, flush=True)
            if logs.get("test_accuracy", 0.0) >= target:
                self.reached = True

        def should_stop(self):
            return self.reached and request.get("stop_at_target", True)

    result = train(config, progress=StopAtTarget())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "history": result.history,
        "test_accuracy": result.test_accuracy,
        "params": int(result.model.count_params()),
        "peak_rss_mb": round(peak_kib / 1024.0, 1),
        "config": config.to_json(),
    }))


def time_to_accuracy(preset: str, *, epochs: int, target: float = TARGET_ACCURACY,
                     train_limit: int | None = None, stop_at_target: bool = True,
                     timeout: float | None = None) -> dict[str, Any]:
    """Train ``TrainConfig.from_preset(preset, track_test_accuracy=True, epochs=epochs)`` in a child process.

    Parameters
    ----------
    preset : str
        A preset name.
    epochs : int
        The most epochs to train.
    target : float
        Test accuracy to reach.
    train_limit : int, optional
        Train on fewer images (tests only; the benchmark uses all of MNIST).
    stop_at_target : bool
        Stop training once the target is reached (the time to reach it is unaffected).
    timeout : float, optional
        Seconds before the child is killed.

    Returns
    -------
    figure : dict
        ``{"preset", "epochs_cap", "reached", "seconds_to_target", "epoch_reached",
        "test_accuracy_per_epoch", "seconds_per_epoch" (cumulative fitting time), "best_test_accuracy",
        "params", "peak_rss_mb"}``. ``seconds_to_target`` is None when the target was not reached.
    """
    request = {"preset": preset, "epochs": epochs, "target": target, "train_limit": train_limit,
               "stop_at_target": stop_at_target}
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", "import sys; from hdr_core.bench import _train_worker; _train_worker(sys.argv[1])",
         json.dumps(request)],
        stdout=subprocess.PIPE, stderr=None, text=True, env=env, timeout=timeout, check=False,
    )
    wall = time.perf_counter() - started
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        return {"preset": preset, "error": f"training process failed with exit status {completed.returncode}"}
    worker = json.loads(lines[-1])
    accuracy = worker["history"].get("test_accuracy", [])
    seconds = worker["history"].get("seconds", [])
    first = next((i for i, a in enumerate(accuracy) if a >= target), None)
    return {
        "preset": preset,
        "epochs_cap": epochs,
        "target": target,
        "reached": first is not None,
        "seconds_to_target": round(seconds[first], 2) if first is not None else None,
        "epoch_reached": first + 1 if first is not None else None,
        "test_accuracy_per_epoch": [round(a, 5) for a in accuracy],
        "seconds_per_epoch": [round(s, 2) for s in seconds],
        "best_test_accuracy": round(max(accuracy), 5) if accuracy else None,
        "params": worker["params"],
        "peak_rss_mb": worker["peak_rss_mb"],
        "process_wall_seconds": round(wall, 1),
        "train_limit": train_limit,
    }


def training_benchmark(*, target: float = TARGET_ACCURACY, fast_epochs: int = FAST_EPOCHS,
                       reference_epochs: int = REFERENCE_EPOCHS, train_limit: int | None = None,
                       progress: Progress = _quiet) -> dict[str, Any]:
    """Issue 6: our ``fast`` preset's time to 99.0% MNIST test accuracy vs the ``emnist-cnn`` recipe,
    and the peak RSS of each full-MNIST training.

    Returns
    -------
    figures : dict
        ``{"time_to_target": {"ours", "baseline", "speedup"}, "peak_memory": {"ours", "baseline", "ratio"}}``.
    """
    progress(f"training benchmark: fast (up to {fast_epochs} epochs) until {target:.1%} MNIST test accuracy")
    ours = time_to_accuracy("fast", epochs=fast_epochs, target=target, train_limit=train_limit)
    progress(f"training benchmark: {REFERENCE_PRESET} (up to {reference_epochs} epochs)")
    reference = time_to_accuracy(REFERENCE_PRESET, epochs=reference_epochs, target=target, train_limit=train_limit)
    for figure in (ours, reference):
        if "error" in figure:
            return {"error": f"{figure['preset']}: {figure['error']}", "ours": ours, "baseline": reference}
    return {
        "time_to_target": {
            "what": f"seconds of fitting until MNIST test accuracy first reaches {target:.1%} "
                    "(test accuracy measured after every epoch; evaluation time left out)",
            "ours": ours,
            "baseline": reference,
            "speedup": _ratio(reference["seconds_to_target"], ours["seconds_to_target"]),
        },
        "peak_memory": {
            "what": "peak RSS (ru_maxrss) of the whole training process, MiB: TensorFlow, MNIST and the model",
            "ours": {"preset": "fast", "peak_rss_mb": ours["peak_rss_mb"]},
            "baseline": {"preset": REFERENCE_PRESET, "peak_rss_mb": reference["peak_rss_mb"]},
            "ratio": _ratio(reference["peak_rss_mb"], ours["peak_rss_mb"]),
        },
    }


# --------------------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------------------


def run_all(*, quick: bool = False, model_path: str | os.PathLike | None = None, repeats: int = 300,
            progress: Progress = _quiet) -> dict[str, Any]:
    """Every figure: ``machine``, ``tensorflow_import_seconds``, ``predict``, ``canvas``,
    ``model_load`` and, unless ``quick``, ``training``.

    Parameters
    ----------
    quick : bool
        Skip the training benchmark (minutes of full-MNIST training).
    model_path : path, optional
        Model for the prediction figures; default the default shipped model.
    repeats : int
        Timed single-image predictions; the slower figures scale from it (``model.predict`` and the
        canvas baseline ``repeats // 10``, canvas ``repeats // 3``, loads 3 when ``repeats >= 100``, else 1).

    Raises
    ------
    ModelError
        ``model_path`` is not a usable model.
    """
    from hdr_core.errors import HdrError

    report: dict[str, Any] = {"machine": machine(), "quick": quick}
    from hdr_core.quiet import import_tensorflow_quietly

    already = "tensorflow" in sys.modules
    start = time.perf_counter()
    import_tensorflow_quietly()  # timed because every app start pays for it

    report["tensorflow_import_seconds"] = None if already else round(time.perf_counter() - start, 2)
    progress("bench: model load times")
    slow_repeats = max(3, repeats // 10)
    report["model_load"] = load_times(repeats=3 if repeats >= 100 else 1)
    progress("bench: single-image prediction")
    report["predict"] = predict_speed(model_path, repeats=repeats, baseline_repeats=slow_repeats)
    progress("bench: canvas to prediction")
    report["canvas"] = canvas_speed(model_path, repeats=max(3, repeats // 3), baseline_repeats=slow_repeats)
    if not quick:
        try:
            report["training"] = training_benchmark(progress=progress)
        except HdrError as error:
            report["training"] = {"error": str(error)}
    return report


def describe(report: dict[str, Any]) -> list[str]:
    """Readable lines for :func:`run_all`'s report."""
    lines = []
    m = report["machine"]
    lines.append(f"machine: {m['processor']}, {m['cpus_usable'] or m['cpu_count']} usable cores, "
                 f"TensorFlow {m['tensorflow']}, Keras {m['keras']}")
    if report.get("tensorflow_import_seconds") is not None:
        lines.append(f"import tensorflow+keras: {report['tensorflow_import_seconds']:.2f} s")
    p = report["predict"]
    lines.append(f"single-image predict ({p['model']}): {p['ours']['median_ms']:.2f} ms (Predictor.predict) vs "
                 f"{p['baseline']['median_ms']:.1f} ms (model.predict): {p['speedup']}x")
    c = report["canvas"]
    lines.append(f"canvas to prediction: {c['ours']['median_ms']:.2f} ms "
                 f"(preprocess {c['ours']['preprocess_ms']:.2f} + "
                 f"predict {c['ours']['predict_ms']:.2f}; reads {c['ours']['prediction']}) vs "
                 f"{c['baseline']['median_ms']:.1f} ms (resize + model.predict; reads {c['baseline']['prediction']}): "
                 f"{c['speedup']}x")
    for figure in report["model_load"]:
        lines.append(f"load {figure['model']} ({figure['file_bytes'] / 1e6:.2f} MB): {figure['ours']['seconds']:.2f} s "
                     f"(ready to predict {figure['ours']['ready_seconds']:.2f} s) vs keras.models.load_model "
                     f"{figure['baseline']['seconds']:.2f} s")
    training = report.get("training")
    if training is not None and "error" in training:
        lines.append(f"training benchmark: error: {training['error']}")
    elif training is not None:
        t = training["time_to_target"]
        for label, figure in (("ours", t["ours"]), ("baseline", t["baseline"])):
            reached = (f"{figure['seconds_to_target']:.1f} s (epoch {figure['epoch_reached']})" if figure["reached"]
                       else f"not reached in {figure['epochs_cap']} epochs (best {figure['best_test_accuracy']:.2%})")
            lines.append(f"time to {figure['target']:.1%} ({label}, {figure['preset']}): {reached}; "
                         f"peak RSS {figure['peak_rss_mb']:.0f} MiB")
        lines.append(f"speedup to target: {t['speedup']}x")
    return lines
