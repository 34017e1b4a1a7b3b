"""How fast the Draw page answers a stroke, against the usual public canvas + Keras pattern.

Two figures, printed as one JSON object (and written to ``--out`` when given):

1. ``server``: preprocessing + prediction of one canvas image on the server, median over 200 canvases
   made from MNIST test digits drawn at random sizes and places on a 280 x 280 canvas (synthetic
   strokes when ``HDR_DATA_DIR`` has no MNIST). The page's path (``drawing_to_model_input``: the
   library's ``from_canvas`` + ``preprocess``, then ``InstantPredictor.predict``; ``Predictor.predict``
   for reference) against the public pattern
   (``cv2.resize`` of the whole canvas to 28 x 28, then ``model.predict``). Also reports how often
   each recognises the digit, since a whole-canvas resize fails on small or off-centre digits.
2. ``browser``: stroke-to-prediction in headless Chromium, from mouse-up (``performance.now()`` in the
   page) until the new Prediction metric is in the page (a ``MutationObserver``), median over
   ``--strokes`` one-stroke digits on a cleared canvas. Measured for the real app (``/draw``) and for
   a baseline app written in the public pattern (canvas with its default send, full-page rerun,
   ``cv2.resize`` + ``model.predict``), served side by side on the same machine at the same time.

Run from the repository root::

    HDR_DATA_DIR=/work/shared/data .venv/bin/python benchmarks/draw_latency.py [--strokes 20] [--out results.json]

This is a benchmark, not a test: figures depend on the machine and on what else runs on it (report
the load average printed with them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CANVAS = 280
INK_RGB = (30, 64, 175)  # the Draw page's blue pen

BASELINE_APP = '''
"""The usual public pattern: whole-canvas resize, model.predict, full-page rerun."""
import cv2
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from streamlit_drawable_canvas import st_canvas

from hdr_core.inference import default_model_path, load_model


@st.cache_resource
def get_model():
    return load_model(default_model_path())


st.title("Baseline")
result = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000",
                   height=280, width=280, drawing_mode="freedraw", return_image_data=True, key="canvas")
if result.image_data is not None:
    img = cv2.resize(result.image_data.astype("uint8"), (28, 28))
    gray = cv2.cvtColor(img, cv2.COLOR_RGBA2GRAY)
    probabilities = get_model().predict(gray.reshape(1, 28, 28, 1) / 255.0, verbose=0)[0]
    n = len((result.json_data or {}).get("objects") or [])
    st.metric("Prediction", int(np.argmax(probabilities)), f"{n} strokes")
    st.plotly_chart(go.Figure(go.Bar(x=[str(d) for d in range(10)], y=probabilities)))
'''

# In-page timing: mouse-up times, and the times the Prediction metric's text changes.
TIMING_SCRIPT = """
window.__hdr = { up: [], shown: [], sent: [], received: [] };
window.addEventListener('mouseup', () => window.__hdr.up.push(performance.now()), true);
(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    window.__hdr.sent.push(performance.now());
    if (!this.__hdrTimed) {
      this.__hdrTimed = true;
      this.addEventListener('message', () => window.__hdr.received.push(performance.now()));
    }
    return send.call(this, data);
  };
})();
(() => {
  let last = null;
  const read = () => {
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
      const label = m.querySelector('[data-testid="stMetricLabel"]');
      if (label && label.innerText.includes('Prediction')) return m.innerText;
    }
    return null;
  };
  new MutationObserver(() => {
    const text = read();
    if (text !== last) { last = text; if (text) window.__hdr.shown.push(performance.now()); }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""


def _summary(values_ms: list[float]) -> dict:
    values = sorted(values_ms)
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 3),
        "p10_ms": round(values[int(0.1 * (len(values) - 1))], 3),
        "p90_ms": round(values[int(0.9 * (len(values) - 1))], 3),
        "min_ms": round(values[0], 3),
    }


# --------------------------------------------------------------------------------------------------
# 1. Server side
# --------------------------------------------------------------------------------------------------


def make_canvases(n: int, seed: int = 0) -> tuple[list[np.ndarray], list[int], str]:
    """``n`` (280, 280, 4) uint8 canvases (blue ink on transparent) and their digits."""
    import cv2

    rng = np.random.default_rng(seed)
    try:
        from hdr_core.data import load_dataset

        data = load_dataset("mnist")
        picks = rng.choice(len(data.x_test), n, replace=False)
        digits, labels = data.x_test[picks], [int(y) for y in data.y_test[picks]]
        source = "MNIST test digits drawn at random sizes (70-270 px) and places"
    except Exception:  # noqa: BLE001 - no MNIST: fall back to synthetic strokes
        digits, labels, source = None, [-1] * n, "synthetic strokes (no MNIST found)"
    canvases = []
    for i in range(n):
        rgba = np.zeros((CANVAS, CANVAS, 4), np.uint8)
        size = int(rng.integers(70, 271))
        x, y = (int(rng.integers(0, CANVAS - size + 1)) for _ in range(2))
        if digits is not None:
            alpha = cv2.resize(digits[i], (size, size), interpolation=cv2.INTER_LINEAR)
        else:
            alpha = np.zeros((size, size), np.uint8)
            points = rng.integers(0, size, (5, 2)).astype(np.int32)
            cv2.polylines(alpha, [points], False, 255, max(3, size // 12), lineType=cv2.LINE_AA)
        rgba[y : y + size, x : x + size, 3] = alpha
        rgba[y : y + size, x : x + size, :3] = np.where(alpha[..., None] > 0, INK_RGB, 0)
        canvases.append(rgba)
    return canvases, labels, source


def bench_server(n: int = 200, n_baseline: int = 40) -> dict:
    import cv2

    from hdr_app.draw.ui import drawing_to_model_input
    from hdr_app.draw.instant import InstantPredictor
    from hdr_core.errors import BlankImageError
    from hdr_core.inference import Predictor, default_model_path

    canvases, labels, source = make_canvases(n)
    predictor = Predictor.from_path(default_model_path())
    instant = InstantPredictor(predictor)  # what the Draw page predicts with
    model = predictor.model

    def public(rgba):  # the public pattern, on the same canvases (ink is opaque: read it from alpha)
        small = cv2.resize(rgba, (28, 28))
        gray = small[:, :, 3]
        return int(np.argmax(model.predict(gray.reshape(1, 28, 28, 1) / 255.0, verbose=0)[0]))

    def timed(engine) -> tuple[list[float], list[float], int]:
        times, preprocess_times, correct = [], [], 0
        for rgba, label in zip(canvases, labels):
            start = time.perf_counter()
            try:
                _, model_input = drawing_to_model_input(rgba)
                middle = time.perf_counter()
                index = engine.predict(model_input).index
            except BlankImageError:
                middle, index = time.perf_counter(), -1
            end = time.perf_counter()
            times.append((end - start) * 1000)
            preprocess_times.append((middle - start) * 1000)
            correct += index == label
        return times, preprocess_times, correct

    for rgba in canvases[:5]:  # warm-up
        model_input = drawing_to_model_input(rgba)[1]
        instant.predict(model_input)
        predictor.predict(model_input)
        public(rgba)
    times, preprocess_times, correct = timed(instant)
    tf_times, _, tf_correct = timed(predictor)
    baseline_times = []
    for rgba in canvases[:n_baseline]:
        start = time.perf_counter()
        public(rgba)
        baseline_times.append((time.perf_counter() - start) * 1000)
    # Accuracy of the public pattern on all canvases (resize alone is cheap; batch the predictions).
    batch = np.stack([cv2.resize(c, (28, 28))[:, :, 3] for c in canvases]).reshape(-1, 28, 28, 1) / 255.0
    baseline_all = np.argmax(model.predict(batch, verbose=0), axis=1)
    have_labels = labels[0] != -1
    return {
        "canvases": source,
        "n": n,
        "model": str(default_model_path().name),
        "ours": {
            "what": "the Draw page: from_canvas + preprocess (canvas shrunk to 140 px) + InstantPredictor "
            f"({instant.engine}, 1 thread)",
            **_summary(times),
            "preprocess_median_ms": round(statistics.median(preprocess_times), 3),
            "accuracy": round(correct / n, 4) if have_labels else None,
        },
        "ours_with_predictor": {
            "what": "same preprocessing + hdr_core Predictor.predict (tf.function)",
            **_summary(tf_times),
            "accuracy": round(tf_correct / n, 4) if have_labels else None,
        },
        "public_pattern": {
            "what": "cv2.resize(whole canvas, (28, 28)) + model.predict",
            **_summary(baseline_times),
            "accuracy": round(float(np.mean(baseline_all == np.array(labels))), 4) if have_labels else None,
        },
    }


# --------------------------------------------------------------------------------------------------
# 2. In the browser
# --------------------------------------------------------------------------------------------------

STROKES = [
    [(0.5, 0.12), (0.5, 0.88)],  # a 1
    [(0.22, 0.16), (0.78, 0.16), (0.45, 0.88)],  # a 7
    [(0.5 + 0.24 * np.sin(2 * np.pi * i / 24), 0.5 - 0.36 * np.cos(2 * np.pi * i / 24)) for i in range(26)],  # a 0
]


def _draw(page, box, points, jitter):
    page.mouse.move(box["x"] + (points[0][0] + jitter) * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + (x + jitter) * box["width"], box["y"] + y * box["height"], steps=6)
    page.mouse.up()


def _measure(page, url: str, *, n: int, clear_label: str | None, warm: int = 2) -> dict:
    """Open ``url``, then ``n`` times: clear the canvas, draw one stroke, time mouse-up -> new metric."""
    page.goto(url)
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(state="visible", timeout=180_000)
    page.wait_for_timeout(1500)
    box = canvas.bounding_box()
    latencies, wall = [], []
    phases: dict[str, list[float]] = {"browser_sends_ms": [], "server_answers_ms": [], "browser_shows_ms": []}
    reset = page.get_by_role("button", name="Reset canvas & history")
    for i in range(n + warm):
        if reset.count():
            reset.click()
            if clear_label:
                page.get_by_text(clear_label).first.wait_for(timeout=60_000)
            page.wait_for_timeout(400)
        before = page.evaluate("() => window.__hdr.shown.length")
        start = time.perf_counter()
        _draw(page, box, STROKES[i % len(STROKES)], jitter=0.02 * ((i % 5) - 2))
        page.wait_for_function("(n) => window.__hdr.shown.length > n", arg=before, timeout=60_000)
        wall.append((time.perf_counter() - start) * 1000)
        up, shown, sent, received = page.evaluate(
            """() => {
              const h = window.__hdr, up = h.up[h.up.length - 1], shown = h.shown[h.shown.length - 1];
              const sent = h.sent.find((t) => t >= up);
              const received = h.received.filter((t) => t <= shown).pop();
              return [up, shown, sent, received];
            }"""
        )
        if i >= warm:
            latencies.append(shown - up)
            if sent is not None and received is not None and received >= sent:
                phases["browser_sends_ms"].append(sent - up)
                phases["server_answers_ms"].append(received - sent)
                phases["browser_shows_ms"].append(shown - received)
        page.wait_for_timeout(300)
    return {
        **_summary(latencies),
        "samples_ms": [round(v, 1) for v in latencies],
        "python_side_median_ms": round(statistics.median(wall[warm:]), 1),
        # Where the time goes (medians): mouse-up -> drawing sent on the WebSocket -> last message from
        # the server before the metric appeared -> metric in the page.
        "phases_median_ms": {k: round(statistics.median(v), 1) for k, v in phases.items() if v},
    }


def bench_browser(n: int, *, baseline: bool = True) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import launch_chromium, start_app, stop_app

    results: dict = {"strokes": n, "measured": "mouse-up until the new Prediction metric is in the page"}
    with tempfile.TemporaryDirectory() as tmp:
        app_process, app_url = start_app(Path(tmp) / "app.log")
        base_process = base_url = None
        try:
            if baseline:
                import subprocess

                from tests.browser.conftest import _free_port, _wait_healthy

                script = Path(tmp) / "baseline_app.py"
                script.write_text(BASELINE_APP)
                port = _free_port()
                log = Path(tmp) / "baseline.log"
                env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
                base_process = subprocess.Popen(
                    [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                     "--server.port", str(port), "--server.address", "127.0.0.1",
                     "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                    cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                )
                base_url = f"http://127.0.0.1:{port}"
                _wait_healthy(base_url, base_process, log)
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    for name, url, clear_label in (
                        ("app", f"{app_url}/draw", "Draw a digit in the square"),
                        ("public_pattern", base_url, "0 strokes"),
                    ):
                        if url is None:
                            continue
                        context = browser.new_context(viewport={"width": 1400, "height": 1000})
                        context.add_init_script(TIMING_SCRIPT)
                        page = context.new_page()
                        results[name] = _measure(page, url, n=n, clear_label=clear_label)
                        context.close()
                finally:
                    browser.close()
        finally:
            stop_app(app_process)
            if base_process is not None:
                stop_app(base_process)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=20, help="strokes timed in the browser, per app")
    parser.add_argument("--canvases", type=int, default=200, help="canvases timed on the server side")
    parser.add_argument("--no-browser", action="store_true", help="only the server-side figures")
    parser.add_argument("--no-baseline", action="store_true", help="skip the public-pattern app in the browser")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    report: dict = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    report["server"] = bench_server(args.canvases)
    if not args.no_browser:
        report["browser"] = bench_browser(args.strokes, baseline=not args.no_baseline)
    report["load_average_after"] = os.getloadavg()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
