"""A class on one server: N students drawing while another student trains.

For each class size N a fresh server is started (``streamlit run app.py``, ``HDR_MAX_TRAININGS=1``)
and N students open the Draw page, each in their own session. Each student, for ``--seconds``: clears
the canvas, draws one stroke, and waits for the new prediction; then pauses ``--interval`` seconds (plus
or minus a third) and draws again. One more student (``--train``, the default) sits on the Train page,
with its live view polling every second as a browser's does, and presses Train again whenever the last
training ended, so a training runs (on the server's Dask worker) for the whole measurement.

Students are simulated at the protocol level (``stclient.Student``: one WebSocket each, sending what
the browser sends after a stroke), because 20 headless browsers on this 2-core machine take most of
its CPU from the server they measure. The time is from the stroke's message leaving the student to the
new Prediction metric arriving: the server's share of stroke-to-prediction, on the same machine. A real
browser adds about 30 ms of its own (sending and drawing the answer: ``draw_latency.py`` measures the
whole in-page figure for one student). A stroke whose prediction has not come after 30 s, or a page
showing an exception, counts as an error.

Memory: the proportional set size (PSS: a page shared by two processes counts half in each, so the
TensorFlow libraries both map are not counted twice) of the web process and of the training worker (the
largest of the server's child processes), sampled every second; the peaks, and the peak of their sum.
Resident sets (RSS) are reported too. CPU: the cores the web process used on average.

One JSON line per class size::

    HDR_DATA_DIR=../shared/data .venv/bin/python benchmarks/class_load.py [--students 1 5 10 20]
        [--seconds 60] [--interval 3] [--no-train] [--all-images] [--browser]

``--all-images`` makes the training student train on all of MNIST (the memory figure of a full
training). ``--browser`` adds one student in headless Chromium whose stroke-to-prediction is timed in the
page, from mouse-up to the new metric, as a student sees it (``browser_student`` in the output). This is
a benchmark, not a test: the figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

STROKES = [
    [[(0.5, 0.12), (0.5, 0.88)]],  # a 1
    [[(0.22, 0.16), (0.78, 0.16), (0.45, 0.88)]],  # a 7
    [[(0.3, 0.3), (0.5, 0.12), (0.7, 0.3), (0.3, 0.88), (0.75, 0.88)]],  # a 2
]
SHOWN_TIMEOUT = 30.0


class MemorySampler:
    """PSS and RSS of a process and of its largest child, and the process's CPU, sampled in a thread."""

    def __init__(self, pid: int, period: float = 1.0):
        import psutil

        self._process = psutil.Process(pid)
        self._period = period
        self.peak = {"web": 0, "worker": 0, "total": 0, "web_rss": 0, "worker_rss": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                info = self._process.memory_full_info()
                worker = worker_rss = 0
                for child in self._process.children(recursive=True):
                    try:
                        child_info = child.memory_full_info()
                    except psutil.Error:
                        continue
                    if child_info.pss > worker:
                        worker, worker_rss = child_info.pss, child_info.rss
            except psutil.Error:
                return
            for key, value in (("web", info.pss), ("worker", worker), ("total", info.pss + worker),
                               ("web_rss", info.rss), ("worker_rss", worker_rss)):
                self.peak[key] = max(self.peak[key], value)
            self._stop.wait(self._period)

    def __enter__(self) -> MemorySampler:
        self._cpu0, self._wall0 = self._process.cpu_times(), time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        cpu = self._process.cpu_times()
        used = cpu.user + cpu.system - self._cpu0.user - self._cpu0.system
        self.web_cores = used / (time.monotonic() - self._wall0)

    def figures(self) -> dict:
        mb = 1024 * 1024
        return {"web_pss_peak_mb": round(self.peak["web"] / mb), "worker_pss_peak_mb": round(self.peak["worker"] / mb),
                "web_plus_worker_pss_peak_mb": round(self.peak["total"] / mb),
                "web_rss_peak_mb": round(self.peak["web_rss"] / mb),
                "worker_rss_peak_mb": round(self.peak["worker_rss"] / mb),
                "web_process_cores": round(getattr(self, "web_cores", 0.0), 2)}


async def student(url: str, seconds: float, interval: float, seed: int, started: asyncio.Event) -> dict:
    """One student on the Draw page: strokes until ``seconds`` have passed; their latencies and errors."""
    from stclient import Student, canvas_state

    rng = random.Random(seed)
    strokes = [canvas_state(s) for s in STROKES]
    cleared = canvas_state([])
    latencies, errors = [], []
    client = Student(url, "draw")
    try:
        await client.open(lambda c: c.widget("bidi_component", "drawable"))
        await started.wait()
        await asyncio.sleep(rng.uniform(0, interval))  # students do not all draw at the same instant
        end, k = time.monotonic() + seconds, seed
        while time.monotonic() < end:
            await client.stroke(cleared, timeout=SHOWN_TIMEOUT)  # the canvas's clear button
            try:
                latencies.append(1000 * await client.stroke(strokes[k % len(strokes)], timeout=SHOWN_TIMEOUT))
                if "Prediction" not in client.seen.metrics:
                    errors.append("no prediction shown")
            except asyncio.TimeoutError:
                errors.append("no prediction within 30 s")
            if client.seen.exceptions:
                errors.append(f"the page shows an exception: {client.seen.exceptions[0][:120]}")
                break
            k += 1
            await asyncio.sleep(interval * rng.uniform(2 / 3, 4 / 3))
    except Exception as exc:  # noqa: BLE001 - a student whose page never came up is an error, not a crash
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")
    finally:
        await client.close()
    return {"latencies": latencies, "errors": errors}


async def browser_student(url: str, seconds: float, interval: float, started: asyncio.Event) -> dict:
    """One more student in headless Chromium: stroke-to-prediction timed in the page, mouse-up to new metric."""
    from playwright.async_api import async_playwright

    from draw_latency import STROKES as PEN_STROKES
    from draw_latency import TIMING_SCRIPT
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    latencies, errors = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            await context.add_init_script(TIMING_SCRIPT)
            page = await context.new_page()
            await page.goto(f"{url}/draw")
            canvas = page.locator("canvas.upper-canvas").first
            await canvas.wait_for(state="visible", timeout=180_000)
            await page.get_by_text("Draw a digit in the square").first.wait_for(timeout=180_000)
            box = await canvas.bounding_box()
            reset = page.get_by_role("button", name="Reset canvas & history")
            await started.wait()
            end, k = time.monotonic() + seconds, 0
            while time.monotonic() < end:
                if await reset.count():
                    await reset.click()
                    await page.get_by_text("Draw a digit in the square").first.wait_for(timeout=30_000)
                before = await page.evaluate("() => window.__hdr.shown.length")
                points = PEN_STROKES[k % len(PEN_STROKES)]
                await page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
                await page.mouse.down()
                for x, y in points[1:]:
                    await page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=6)
                await page.mouse.up()
                try:
                    await page.wait_for_function("(n) => window.__hdr.shown.length > n", arg=before, timeout=30_000)
                    latencies.append(await page.evaluate("() => window.__hdr.shown.at(-1) - window.__hdr.up.at(-1)"))
                except Exception:  # noqa: BLE001
                    errors.append("no prediction within 30 s (browser)")
                k += 1
                await asyncio.sleep(interval)
        finally:
            await browser.close()
    return {"latencies": latencies, "errors": errors}


async def trainer(url: str, stop: asyncio.Event, started: asyncio.Event, all_images: bool) -> dict:
    """A student on the Train page: presses Train whenever it is enabled; the live view polls every second."""
    from stclient import Student

    client = Student(url, "train")
    pressed, errors = 0, []
    try:
        await client.open(lambda c: c.widget("button", "Train"))
        if all_images:
            await client.set_value("slider", "Training images", string_array_value=["all"])
        while not stop.is_set():
            if client.enabled("button", "Train"):
                await client.click("Train")
                pressed += 1
                started.set()
            for fragment, interval in list(client.auto_rerun.items()):
                await asyncio.sleep(interval)
                await client.rerun(fragment_id=fragment, auto=True)
                await client.until_finished(60)
            if not client.auto_rerun:
                await asyncio.sleep(1.0)
            if client.seen.exceptions:
                errors.append(client.seen.exceptions[0][:120])
                break
    except Exception as exc:  # noqa: BLE001
        errors.append(f"{type(exc).__name__}: {exc}")
        started.set()
    finally:
        await client.close()
    return {"trainings_started": pressed, "trainer_errors": errors}


async def measure(url: str, n: int, *, seconds: float, interval: float, train: bool, all_images: bool,
                  browser: bool) -> dict:
    stop, started = asyncio.Event(), asyncio.Event()
    train_task = asyncio.create_task(trainer(url, stop, started, all_images)) if train else None
    if not train:
        started.set()
    in_page = asyncio.create_task(browser_student(url, seconds, interval, started)) if browser else None
    results = await asyncio.gather(*(student(url, seconds, interval, seed, started) for seed in range(n)))
    page = await in_page if in_page else None
    stop.set()
    trained = await train_task if train_task else {}
    if page is not None:
        values = sorted(page["latencies"])
        trained["browser_student"] = {
            "strokes": len(values), "errors": len(page["errors"]),
            "median_ms": round(statistics.median(values), 1) if values else None,
            "p95_ms": round(values[min(len(values) - 1, round(0.95 * (len(values) - 1)))], 1) if values else None}
    latencies = sorted(v for r in results for v in r["latencies"])
    errors = [e for r in results for e in r["errors"]]
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))] if latencies else None
    return {"strokes": len(latencies), "median_ms": round(statistics.median(latencies), 1) if latencies else None,
            "p95_ms": round(p95, 1) if p95 is not None else None, "errors": len(errors),
            "error_kinds": sorted(set(errors))[:5], **trained}


def run_class(n: int, args) -> dict:
    from tests.browser.conftest import start_app, stop_app

    os.environ["HDR_MAX_TRAININGS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_app(Path(tmp) / "server.log")
        try:
            with MemorySampler(process.pid) as memory:
                figures = asyncio.run(measure(url, n, seconds=args.seconds, interval=args.interval,
                                              train=not args.no_train, all_images=args.all_images,
                                              browser=args.browser))
            return {"students": n, "training": not args.no_train, **figures, **memory.figures(),
                    "load_average_1min": round(os.getloadavg()[0], 2)}
        finally:
            stop_app(process)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--seconds", type=float, default=60, help="how long each class draws (default 60)")
    parser.add_argument("--interval", type=float, default=3, help="seconds between a student's strokes (default 3)")
    parser.add_argument("--no-train", action="store_true", help="nobody trains (the figures alone)")
    parser.add_argument("--all-images", action="store_true", help="the training student trains on all of MNIST")
    parser.add_argument("--browser", action="store_true",
                        help="one more student in headless Chromium, timed in the page (mouse-up to the answer)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for n in args.students:
        print(json.dumps(run_class(n, args)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
