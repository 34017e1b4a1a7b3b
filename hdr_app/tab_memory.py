"""A student's models and training survive a reload of their browser tab, for the server's lifetime.

Streamlit starts a new session (empty ``st.session_state``) when a tab is reloaded, so the models a
student trained or uploaded, and a training under way, would be gone. Each tab therefore carries a
random token in its address (``?tab=...``, set on the first visit and kept by a reload); the server
keeps, per token, the few session keys that hold the student's work (:data:`REMEMBERED`) in a
server-wide :class:`TabMemory`. A new session whose address has a known token takes them back, and a
training under way is adopted by it (the orphan watch then sees a live owner again).

Only someone with the tab's address sees its models: the token is 128 random bits, and nothing lists
the tokens. A server keeps at most ``TabMemoryParams.tabs`` tabs (the least recently seen go first).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import streamlit as st

from hdr_app import state

__all__ = ["REMEMBERED", "TAB_PARAM", "TabMemory", "TabMemoryParams", "remembered_tab", "tab_memory", "tab_token"]

TAB_PARAM = "tab"  # the query parameter holding the tab's token
REMEMBERED = (
    state.SESSION_MODELS,
    state.MODEL_CHOICE,
    state.TRAINING_JOB,
    state.TRAIN_RUNS,
    state.TRAIN_REGISTERED,
    state.TRAIN_SAVED,
)
_TOKEN = "_hdr_tab_token"  # session key: this session's token
_RESTORED = "_hdr_tab_restored"  # session key: the tab's memory was looked up (once per session)


@dataclass(frozen=True)
class TabMemoryParams:
    """Attributes
    ----------
    tabs : int
        Tabs remembered at most (each holds a student's few small models).
    """

    tabs: int = 500


class TabMemory:
    """Server-wide: per tab token, the session values in :data:`REMEMBERED` (thread-safe, least recently used out)."""

    def __init__(self, params: TabMemoryParams | None = None):
        self.params = params or TabMemoryParams()
        self._lock = threading.Lock()
        self._tabs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def save(self, token: str, values: dict[str, Any]) -> None:
        with self._lock:
            self._tabs[token] = dict(values)
            self._tabs.move_to_end(token)
            while len(self._tabs) > self.params.tabs:
                self._tabs.popitem(last=False)

    def load(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            values = self._tabs.get(token)
            if values is not None:
                self._tabs.move_to_end(token)
            return dict(values) if values is not None else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._tabs)


@st.cache_resource(show_spinner=False)
def tab_memory() -> TabMemory:
    """The server's memory of tabs, shared by every session."""
    return TabMemory()


def _valid(token: Any) -> bool:
    return isinstance(token, str) and 16 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


def tab_token() -> str:
    """This tab's token: from the address when it has a valid one, else a new one put in the address."""
    token = st.session_state.get(_TOKEN)
    if not _valid(token):
        token = st.query_params.get(TAB_PARAM)
        token = token if _valid(token) else secrets.token_urlsafe(16)
        st.session_state[_TOKEN] = token
    if st.query_params.get(TAB_PARAM) != token:  # a page switch clears the address's parameters
        st.query_params[TAB_PARAM] = token
    return token


def session_id() -> str | None:
    """This browser session's id (None outside a Streamlit script run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


@contextmanager
def remembered_tab() -> Iterator[None]:
    """Wrap the page's run: takes back the tab's remembered work first, remembers it again after.

    Saved on the way out even when the page reruns itself (``st.rerun`` raises through here).
    """
    token = tab_token()
    memory = tab_memory()
    if not st.session_state.get(_RESTORED):
        st.session_state[_RESTORED] = True
        values = memory.load(token)
        if values:
            for key, value in values.items():
                if value is not None and not st.session_state.get(key):
                    st.session_state[key] = value
            job = st.session_state.get(state.TRAINING_JOB)
            if job is not None and getattr(job, "active", False):
                job.owner = session_id()  # this session watches the training now
    try:
        yield
    finally:
        memory.save(token, {key: st.session_state.get(key) for key in REMEMBERED})
