"""UI helpers for the hdr Streamlit app (this package may import streamlit; ``hdr_core`` never does).

Modules
-------
state
    Every ``st.session_state`` key as a constant, the small dataclasses stored under them, and
    :func:`~hdr_app.state.init_state`.
models
    The sidebar model picker and the cached predictors (shipped models load once per server).
charts
    The one plotly figure helper every chart goes through, the probability bars, image helpers.
draw, upload, train, visualize
    One package per page (``pages/*.py`` only wire them): the page's widgets, its figures, and what it
    computes without Streamlit (``upload.results``, ``train.jobs``; the network's views are in
    ``hdr_core.visualize``).
slots, orphans, tab_memory, keras_guard
    A class on one server: the training queue, jobs whose browser left, a tab's models across a reload,
    Keras's global state kept steady.

Importing this package is cheap: it imports none of its submodules, and none of them imports
TensorFlow (models load lazily, when a page first needs a prediction). Every page calls
:func:`ensure_app_shell` first.
"""

from __future__ import annotations

__all__ = ["ensure_app_shell"]


def ensure_app_shell() -> None:
    """Make sure ``app.py`` (navigation, page config, sidebar) wraps the page that is running.

    Call it first thing in every page, right after the imports.

    Streamlit 1.65 treats an app that has a ``pages/`` folder as a legacy ("v1") multipage app until
    some session calls ``st.navigation``: until then, a request for ``/draw`` runs ``pages/draw.py``
    on its own, without ``app.py`` (no page config, no sidebar model picker). That happens to the very
    first visitor of a freshly started server who follows a link to a page (a teacher's link to
    ``/draw``), and to every ``AppTest`` that switches pages. This function notices it, switches the
    server to ``st.navigation`` mode and reruns, so that ``app.py`` runs and shows the page. A page run
    on its own on purpose (``AppTest.from_file("pages/draw.py")``) is left alone.
    """
    import streamlit as st

    from hdr_app.state import SHELL_SWITCHED

    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit without the legacy mode
        return
    # Once per session: on a real server the switch is permanent after the first time; AppTest restores
    # the legacy mode before every run, and rerunning each time would swallow the clicks it simulates.
    if PagesManager.uses_pages_directory and not st.session_state.get(SHELL_SWITCHED):
        st.session_state[SHELL_SWITCHED] = True
        PagesManager.uses_pages_directory = False
        st.rerun()
