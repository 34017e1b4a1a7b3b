"""Keras's global state kept steady while trainings or other sessions build models in this process.

Keras keeps the state it needs while building a model (the name-scope stack) in a
module-level ``threading.local`` that ``keras.backend.clear_session()`` *replaces* for every thread at
once -- and Streamlit calls ``clear_session()`` after every script run of every session (fragment
reruns included). A model being built or traced in a training thread then fails with
``AttributeError: 'NoneType' object has no attribute 'pop'``. :func:`guard_keras_session` therefore
makes ``clear_session`` wait, while any training job of this process is active, by turning it into a
no-op (it only frees a little naming state; models are unaffected). ``train`` seeds Keras globally
(``keras.utils.set_random_seed``), which concurrent runs share.
"""

from __future__ import annotations

import threading

__all__ = ["active_jobs", "guard_keras_session"]

_ACTIVE_LOCK = threading.Lock()
_active_jobs = 0  # training jobs of this process that are building, training or testing a model


def active_jobs() -> int:
    """Training jobs of this process now between start and end."""
    with _ACTIVE_LOCK:
        return _active_jobs


def _job_started() -> None:
    global _active_jobs
    with _ACTIVE_LOCK:
        _active_jobs += 1


def _job_ended() -> None:
    global _active_jobs
    with _ACTIVE_LOCK:
        _active_jobs -= 1


_always_skip_clear = False


def guard_keras_session(*, always: bool = False) -> None:
    """Make ``keras.backend.clear_session()`` a no-op while a training job of this process is active.

    Streamlit calls it after every script run (``script_runner._clean_problem_modules``); it swaps the
    thread-local holding Keras's name-scope stack for a new one in *every* thread, which breaks a model
    being built in a training thread (or in another session's script thread). Idempotent; imports
    Keras (so call it where TensorFlow is loaded anyway, e.g. the training thread).

    Parameters
    ----------
    always : bool, keyword-only
        Skip every ``clear_session()`` from now on, not only during trainings (for an app whose pages
        build models, e.g. sub-models for feature maps, in several sessions at once).
    """
    global _always_skip_clear
    import keras
    from keras.src.backend.common import global_state

    if always:
        _always_skip_clear = True
    original = global_state.clear_session
    if getattr(keras.backend.clear_session, "_hdr_guarded", False):
        return

    def clear_session(free_memory: bool = True) -> None:
        if _always_skip_clear or active_jobs():
            return  # a thread may be building or fitting a model: leave its state alone
        original(free_memory=free_memory)

    clear_session._hdr_guarded = True  # type: ignore[attr-defined]
    clear_session.__doc__ = original.__doc__
    keras.backend.clear_session = clear_session
    keras.utils.clear_session = clear_session
