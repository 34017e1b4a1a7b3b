"""A minimal Streamlit protocol client: one simulated student without a browser.

A class of 20 headless Chromium pages needs more CPU than the server they measure (on the 2-core
development machine the browsers took three quarters of it), so ``class_load.py`` simulates students
at the protocol level instead: each :class:`Student` holds one WebSocket to ``/_stcore/stream``, asks
for a page as the browser does (a ``BackMsg`` with the page's name), and then sends what a browser would
send after a stroke: the canvas component's new state (its objects and the drawing as a PNG data URL)
as a fragment rerun. The time from sending it to the ``ForwardMsg`` carrying the new Prediction metric
is the server's share of stroke-to-prediction (a real browser adds its own drawing of the answer:
``draw_latency.py`` measures both).

Only what these benchmarks need is implemented: no message cache, no uploads, one page per client.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Student", "canvas_state"]


def canvas_state(strokes: list[list[tuple[float, float]]], *, size: int = 280, width: int = 20) -> str:
    """The drawable canvas's state after ``strokes`` (fractions of the canvas), as the browser sends it (JSON)."""
    import cv2
    from PIL import Image

    rgba = np.zeros((size, size, 4), np.uint8)
    objects = []
    for stroke in strokes:
        points = np.array([[x * size, y * size] for x, y in stroke], np.int32)
        cv2.polylines(rgba, [points], False, (30, 64, 175, 255), width, lineType=cv2.LINE_AA)
        objects.append({"type": "path", "strokeWidth": width, "stroke": "#1e40af",
                        "path": [["M", *points[0].tolist()], *[["L", *p.tolist()] for p in points[1:]]]})
    if not strokes:
        return json.dumps({"drawing": {"raw": {"objects": [], "background": ""}, "data": None}})
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return json.dumps({"drawing": {"raw": {"objects": objects, "background": ""}, "data": url}})


@dataclass
class _Seen:
    """What the last script run put on the page that the client needs."""

    widgets: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (kind, label or component name)
    fragments: dict[str, str] = field(default_factory=dict)  # widget id -> the fragment it lives in
    metrics: dict[str, str] = field(default_factory=dict)  # label -> body
    texts: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    disabled: dict[str, bool] = field(default_factory=dict)  # widget id -> disabled


class Student:
    """One browser session of the app, driven over its WebSocket.

    Parameters
    ----------
    url : str
        The server, ``http://127.0.0.1:8501``.
    page : str
        The page's URL path (``"draw"``, ``"train"``).
    """

    def __init__(self, url: str, page: str):
        self.url, self.page = url.rstrip("/"), page
        self._ws = None
        self.page_hash = ""
        self.seen = _Seen()
        self._states: dict[str, object] = {}  # widget id -> WidgetState kept between reruns (as a browser does)
        self._reader: asyncio.Task | None = None
        self._events: asyncio.Queue = asyncio.Queue()
        self.auto_rerun: dict[str, float] = {}  # fragment id -> seconds between its automatic reruns

    async def open(self, ready, timeout: float = 180) -> None:
        """Connect and run the page until a finished script run leaves ``ready(self)`` true."""
        import websockets

        ws_url = self.url.replace("http://", "ws://").replace("https://", "wss://") + "/_stcore/stream"
        self._ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2**26)
        self._reader = asyncio.create_task(self._read())
        await self.rerun(page=True)
        end = time.monotonic() + timeout
        while not ready(self):  # a first visit reruns itself once (hdr_app.ensure_app_shell)
            await self.until_finished(max(0.01, end - time.monotonic()))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()

    async def _read(self) -> None:
        try:
            await self._read_frames()
        except Exception as exc:  # noqa: BLE001 - surfaces in the waiting call, not as a silent dead task
            await self._events.put(("error", f"{type(exc).__name__}: {exc}", None, time.perf_counter()))

    async def _read_frames(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for frame in self._ws:
            msg = ForwardMsg()
            msg.ParseFromString(frame)
            kind = msg.WhichOneof("type")
            now = time.perf_counter()
            if kind == "new_session":
                self.page_hash = msg.new_session.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                pass
            elif kind == "navigation":
                for app_page in msg.navigation.app_pages:
                    if app_page.url_pathname == self.page:
                        self.page_hash = app_page.page_script_hash
            elif kind == "delta":
                self._delta(msg.delta)
                if msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    if element.WhichOneof("type") == "metric":
                        await self._events.put(("metric", element.metric.label, element.metric.body, now))
            elif kind == "auto_rerun":
                self.auto_rerun[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "script_finished":
                await self._events.put(("finished", None, None, now))

    def _delta(self, delta) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        inner = getattr(element, kind)
        widget_id = getattr(inner, "id", "") if kind not in ("markdown", "metric", "alert") else ""
        if widget_id:
            label = getattr(inner, "label", "") or getattr(inner, "component_name", "")
            self.seen.widgets[widget_id] = (kind, label)
            self.seen.disabled[widget_id] = bool(getattr(inner, "disabled", False))
            if delta.fragment_id:
                self.seen.fragments[widget_id] = delta.fragment_id
        if kind == "metric":
            self.seen.metrics[inner.label] = inner.body
        elif kind in ("markdown", "alert"):
            self.seen.texts.append(inner.body)
        elif kind == "exception":
            self.seen.exceptions.append(f"{inner.type}: {inner.message}")

    def widget(self, kind: str, name: str) -> str | None:
        """The id of the first widget of ``kind`` whose label or component name contains ``name``."""
        for widget_id, (seen_kind, label) in self.seen.widgets.items():
            if seen_kind == kind and name in label:
                return widget_id
        return None

    async def rerun(self, *, page: bool = False, widgets: list | None = None, fragment_id: str = "",
                    auto: bool = False) -> None:
        """Send a rerun request: the page's script (``page``), or a fragment, with these widget states."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.page_hash
        if page:
            state.page_name = self.page
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        for widget in widgets or []:
            self._states[widget.id] = widget
        for widget in self._states.values():
            state.widget_states.widgets.append(widget)
        self.seen = _Seen(widgets=dict(self.seen.widgets), fragments=dict(self.seen.fragments),
                          disabled=dict(self.seen.disabled))
        await self._ws.send(msg.SerializeToString())

    async def until_finished(self, timeout: float) -> float:
        """Wait for the current script run to finish; returns when (``perf_counter``)."""
        while True:
            kind, detail, _, when = await asyncio.wait_for(self._events.get(), timeout)
            if kind == "error":
                raise RuntimeError(f"the connection failed: {detail}")
            if kind == "finished":
                return when

    async def stroke(self, canvas_json: str, *, timeout: float = 30) -> float:
        """Send the canvas's new state; seconds until the Prediction metric arrived (or the run finished)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        canvas = self.widget("bidi_component", "drawable")
        if canvas is None:
            raise RuntimeError("no drawable canvas on this page")
        while not self._events.empty():
            self._events.get_nowait()
        state = WidgetState(id=canvas, json_value=canvas_json)
        start = time.perf_counter()
        await self.rerun(widgets=[state], fragment_id=self.seen.fragments.get(canvas, ""))
        end = time.monotonic() + timeout
        while True:
            kind, label, _, when = await asyncio.wait_for(self._events.get(), max(0.01, end - time.monotonic()))
            if kind == "error":
                raise RuntimeError(f"the connection failed: {label}")
            if (kind == "metric" and label == "Prediction") or kind == "finished":
                latency = when - start
                if kind != "finished":
                    await self.until_finished(timeout)
                return latency

    async def set_value(self, kind: str, label: str, *, timeout: float = 60, **value) -> None:
        """Set the widget of ``kind`` labelled ``label`` (``string_array_value=...`` etc., as the browser sends it)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget = self.widget(kind, label)
        if widget is None:
            raise RuntimeError(f"no {kind} {label!r} on this page")
        state = WidgetState(id=widget)
        for name, data in value.items():
            getattr(state, name).data.extend(data) if isinstance(data, list) else setattr(state, name, data)
        await self.rerun(widgets=[state], fragment_id=self.seen.fragments.get(widget, ""))
        await self.until_finished(timeout)

    def enabled(self, kind: str, label: str) -> bool:
        """Whether the widget is on the page and not disabled."""
        widget = self.widget(kind, label)
        return widget is not None and not self.seen.disabled.get(widget, False)

    async def click(self, label: str, *, timeout: float = 60) -> None:
        """Press the button whose label contains ``label`` (a trigger value, as a browser sends it)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        button = self.widget("button", label)
        if button is None:
            raise RuntimeError(f"no button {label!r} on this page")
        await self.rerun(widgets=[WidgetState(id=button, trigger_value=True)],
                         fragment_id=self.seen.fragments.get(button, ""))
        self._states.pop(button, None)  # a trigger is sent once
        await self.until_finished(timeout)
