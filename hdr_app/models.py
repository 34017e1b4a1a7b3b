"""The sidebar model picker and the predictors behind it.

Shipped models (``models/*.keras`` with their ``*.json`` cards) load once per server process through
``st.cache_resource``; models trained or added (a ``.keras`` file uploaded in the sidebar) in this tab
live in ``st.session_state`` (kept across a reload by ``hdr_app.tab_memory``) and are listed after
them. The choice is kept under ``state.MODEL_CHOICE`` and holds across pages.

TensorFlow is imported only when a predictor is first needed (``hdr_core.inference`` imports it
lazily), so listing the models and rendering the picker stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import streamlit as st

from hdr_app import state
from hdr_app.draw.instant import InstantPredictor
from hdr_app.keras_guard import guard_keras_session
from hdr_core.calibration import card_temperature
from hdr_core.errors import ModelError
from hdr_core.inference import ModelInfo, Predictor, read_card, shipped_models
from hdr_core.lite import LitePredictor, shipped_lite_predictor
from hdr_core.quiet import import_tensorflow_quietly
from hdr_core.realdev import recorded_accuracy

__all__ = [
    "ModelChoiceInfo",
    "card_summary",
    "current_instant_predictor",
    "current_predictor",
    "add_model_file",
    "list_models",
    "model_picker_ui",
    "model_upload_ui",
    "register_session_model",
    "select_model",
    "shipped_predictor",
]


@dataclass(frozen=True)
class ModelChoiceInfo:
    """One entry of the model picker.

    Attributes
    ----------
    name : str
        Unique name (a shipped model's card name, or the name given to a session model).
    kind : {'shipped', 'session'}
    card : dict
        The model card (keys may be missing).
    path : str or None
        The ``.keras`` file of a shipped model; None for a session model.
    """

    name: str
    kind: Literal["shipped", "session"]
    card: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    path: str | None = None

    @property
    def title(self) -> str:
        """Human-readable name from the card (``title``), else the name."""
        return str(self.card.get("title") or self.name)

    @property
    def label(self) -> str:
        """One line for the picker: name, the card's headline figure, then "yours" for a model trained or added here.

        Kept short enough for the sidebar's default width (about 33 characters show); the caption under
        the picker gives the selected model's full figures.
        """
        parts = [self.name, card_summary(self.card, short=True)]
        if self.kind == "session":
            parts.append("yours")
        return " · ".join(part for part in parts if part)


def _percent(value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not 0.0 <= number <= 1.0:
        return None
    # Two decimals, as the cards and README give them: at one, 99.65% would show as 99.7%.
    return f"{100 * number:.2f}%"


def real_dev_accuracy(card: dict[str, Any]) -> float | None:
    """Accuracy on real handwriting (photos of digits) from a card, when it has one."""
    real = recorded_accuracy(card.get("real_dev"))
    if real is not None:
        return real
    if card.get("real_dev_accuracy") is not None:
        return float(card["real_dev_accuracy"])
    return None


def card_summary(card: dict[str, Any], *, short: bool = False) -> str:
    """The card's figures as text: test accuracy, real-handwriting accuracy, size.

    Parameters
    ----------
    card : dict
        A model card.
    short : bool, keyword-only
        True gives the compact form used in the picker's options: the one figure that matters most, the
        accuracy on real handwriting when the card has it, else the test accuracy.

    Returns
    -------
    summary : str
        For example ``"MNIST test accuracy 99.65% · real handwriting 97.22%"``; "" when the card has no figures.
    """
    dataset = str(card.get("dataset") or "").upper() or "test"
    test = _percent(card.get("test_accuracy"))
    real = real_dev_accuracy(card)
    real_text = _percent(real) if real is not None else None
    if short:
        return f"real {real_text}" if real_text else (f"{dataset} {test}" if test else "")
    parts: list[str] = []
    if test:
        parts.append(f"{dataset} test accuracy {test}")
    if real_text:
        parts.append(f"real handwriting {real_text}")
    if card.get("params"):
        try:
            parts.append(f"{int(card['params']):,} parameters")
        except (TypeError, ValueError):
            pass
    return " · ".join(parts)


# --------------------------------------------------------------------------------------------------
# Listing and choosing
# --------------------------------------------------------------------------------------------------


@st.cache_data(ttl=30, show_spinner=False)
def _shipped_infos() -> list[ModelInfo]:
    """The shipped models (cards re-read at most every 30 s, so new models appear without a restart)."""
    return shipped_models()


def list_models() -> list[ModelChoiceInfo]:
    """Every selectable model: the shipped ones (default first), then this tab's own."""
    choices = [
        ModelChoiceInfo(name=info.name, kind="shipped", card=dict(info.card), path=str(info.path))
        for info in _shipped_infos()
    ]
    taken = {choice.name for choice in choices}
    for name, session_model in (st.session_state.get(state.SESSION_MODELS) or {}).items():
        if name not in taken:
            choices.append(ModelChoiceInfo(name=name, kind="session", card=dict(session_model.card or {})))
    return choices


def select_model(name: str) -> None:
    """Make ``name`` the selected model on every page (e.g. right after training it)."""
    st.session_state[state.MODEL_CHOICE] = name


def _selected(choices: list[ModelChoiceInfo]) -> ModelChoiceInfo | None:
    """The chosen entry; falls back to the first (the default model) when the choice is gone."""
    if not choices:
        return None
    wanted = st.session_state.get(state.MODEL_CHOICE)
    for choice in choices:
        if choice.name == wanted:
            return choice
    return choices[0]


def register_session_model(name: str, model: Any, card: dict[str, Any] | None = None, *, select: bool = False,
                           lite: bytes | None = None, keras_bytes: bytes | None = None) -> str:
    """Add a model trained or added in this tab to the picker of every page.

    Parameters
    ----------
    name : str
        Its name in the picker; a name already taken gets a ``" (2)"``-style suffix.
    model : keras.Model or None
        The trained model; None when only its files are here (trained on a worker).
    card : dict, optional
        Its model card (``test_accuracy``, ``class_names``...).
    select : bool, keyword-only
        Also make it the selected model.
    lite, keras_bytes : bytes, keyword-only, optional
        Its LiteRT flat buffer (Draw and Upload use it, no TensorFlow needed) and its ``.keras`` file.

    Returns
    -------
    name : str
        The name it was registered under.
    """
    name = str(name).strip()
    if not name:
        raise ValueError("a session model needs a non-empty name")
    models = dict(st.session_state.get(state.SESSION_MODELS) or {})
    taken = set(models) | {info.name for info in _shipped_infos()}
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name} ({n})", n + 1
    if model is None and keras_bytes is None:
        raise ValueError("a session model needs the model or its .keras file")
    models[unique] = state.SessionModel(model=model, card=dict(card or {}), lite=lite, keras_bytes=keras_bytes)
    st.session_state[state.SESSION_MODELS] = models
    if select:
        select_model(unique)
    return unique


def _sync_choice_from_widget() -> None:
    st.session_state[state.MODEL_CHOICE] = st.session_state[state.MODEL_PICKER_WIDGET]


def model_picker_ui() -> ModelChoiceInfo | None:
    """The sidebar's model picker (call it inside ``with st.sidebar``).

    Returns
    -------
    choice : ModelChoiceInfo or None
        The selected model; None when there is no model at all (a warning says what to do).
    """
    choices = list_models()
    if not choices:
        st.warning(
            "No trained model found. Put a `.keras` model and its `.json` card in `models/`, "
            "or train one on the Train page."
        )
        return None
    selected = _selected(choices)
    st.session_state[state.MODEL_CHOICE] = selected.name
    names = [choice.name for choice in choices]
    by_name = {choice.name: choice for choice in choices}
    # The widget mirrors MODEL_CHOICE (the source of truth), so other pages may change the choice.
    st.session_state[state.MODEL_PICKER_WIDGET] = selected.name
    st.selectbox(
        "Model",
        names,
        key=state.MODEL_PICKER_WIDGET,
        format_func=lambda name: by_name[name].label,
        on_change=_sync_choice_from_widget,
        help="The network every page uses. Beside each is its accuracy on photos and scans of real "
        "handwriting, or its test accuracy when that has not been measured; under the picker are all "
        "the chosen model's figures. Models you train appear here too.",
    )
    summary = card_summary(selected.card)
    details = [summary] if summary else []
    if selected.card.get("architecture"):
        details.append(f"architecture `{selected.card['architecture']}`")
    if selected.kind == "session":
        details.append("yours: trained or added in this tab (a reload keeps it while the server runs)")
    if details:
        st.caption(" · ".join(details))
    model_upload_ui()
    return selected


def add_model_file(name: str, data: bytes, card_data: bytes | None = None) -> str:
    """Check a user's ``.keras`` file, add it to this tab's models and select it; returns its picker name.

    Parameters
    ----------
    name : str
        The file's name (its stem names the model).
    data : bytes
        The file. It is inspected before Keras reads it and loaded in Keras's safe mode
        (``hdr_core.inference.load_model``): no Lambda layers or custom code.
    card_data : bytes, optional
        Its ``.json`` model card (class names, calibration, figures), as the Train page downloads it.

    Raises
    ------
    ModelError
        Not a model hdr can use (the message says why: not a ``.keras`` file, wrong input shape...).
    """
    import json

    from hdr_core.inference import check_model, load_model_bytes

    stem = Path(name).stem.strip() or "uploaded model"
    card: dict[str, Any] = {}
    if card_data is not None:
        try:
            loaded = json.loads(card_data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"The card for {name} is not a JSON model card ({exc.__class__.__name__}).") from exc
        card = loaded if isinstance(loaded, dict) else {}
    import_tensorflow_quietly()
    guard_keras_session(always=True)
    model = load_model_bytes(data, name=name)
    n_classes = check_model(model)
    names = card.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) != n_classes):
        raise ModelError(f"The card lists {len(names) if isinstance(names, list) else 'no'} class names but the "
                         f"model has {n_classes} outputs: is it the card of another model?")
    card = {key: value for key, value in card.items() if key not in ("file", "name")}
    card.setdefault("title", stem)
    card.setdefault("params", int(model.count_params()))
    card["source"] = f"uploaded: {name}"
    Predictor(model, card.get("class_names"), temperature=card_temperature(card), warmup=False)  # usable as is
    return register_session_model(stem, model, card, select=True)


def model_upload_ui() -> None:
    """The sidebar's "add a model file" uploader: a ``.keras`` file (and its card) joins the picker."""
    with st.expander("Add a model file", icon=":material/upload_file:"):
        files = st.file_uploader(
            "A .keras model, and its .json card if you have it", type=["keras", "json"],
            accept_multiple_files=True, key=state.MODEL_UPLOAD_WIDGET,
            help="For example a model downloaded from the Train page. It is checked before it is loaded "
            "(no custom code runs) and stays in this tab only.")
        if not files:
            return
        ids = tuple(f.file_id for f in files)
        done = st.session_state.get(state.MODEL_UPLOAD_DONE)
        if done is None or done[0] != ids:
            done = (ids, _read_uploads(files))
            st.session_state[state.MODEL_UPLOAD_DONE] = done
            if any(kind == "ok" for kind, _ in done[1]):
                st.rerun()  # the picker above shows the new model selected
        for kind, message in done[1]:
            (st.success if kind == "ok" else st.error)(message)


def _read_uploads(files) -> list[tuple[str, str]]:
    """Add each uploaded ``.keras`` file (with the ``.json`` card of the same name, or the only one); messages."""
    from hdr_core.errors import HdrError

    models = [f for f in files if f.name.lower().endswith(".keras")]
    cards = {Path(f.name).stem: f for f in files if f.name.lower().endswith(".json")}
    if not models:
        return [("error", "Add the .keras file too: a card alone is not a model.")]
    messages = []
    for upload in models:
        card = cards.get(Path(upload.name).stem) or (next(iter(cards.values())) if len(cards) == 1 else None)
        try:
            name = add_model_file(upload.name, upload.getvalue(), card.getvalue() if card else None)
        except HdrError as exc:
            messages.append(("error", f"**{upload.name}** was not added: {exc}"))
        except Exception as exc:  # noqa: BLE001 - Keras's own failures on a damaged file
            messages.append(("error", f"**{upload.name}** was not added: it could not be read as a Keras model "
                                      f"({type(exc).__name__})."))
        else:
            messages.append(("ok", f"Added **{name}** and selected it: every page uses it now."))
    return messages


# --------------------------------------------------------------------------------------------------
# Predictors
# --------------------------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the neural network (first time only)…", max_entries=8)
def shipped_predictor(path: str, version: int | None = None) -> Predictor:
    """The :class:`~hdr_core.inference.Predictor` of a shipped ``.keras`` file, loaded once per server.

    Parameters
    ----------
    path : str
        The ``.keras`` file.
    version : int, optional
        Part of the cache key: pass the file's modification time so that a replaced model file is
        loaded again (``current_predictor`` does).

    Raises
    ------
    ModelError
        The file is missing or is not a usable model.
    """
    # Streamlit calls keras.backend.clear_session() after every script run, in every session; that
    # would pull Keras's global state from under sub-models built by Look inside and trainings running in
    # other sessions' threads. Keras is loaded from here on anyway, so switch that clean-up off once.
    import_tensorflow_quietly()  # first: no oneDNN/CUDA start-up lines in the server's log (replayed on failure)
    guard_keras_session(always=True)
    return Predictor.from_path(path)


def _session_predictor(name: str) -> Predictor:
    models = st.session_state.get(state.SESSION_MODELS) or {}
    if name not in models:
        raise ModelError(f"The model {name!r} is no longer in this tab: pick another model in the sidebar.")
    session_model = models[name]
    cache: dict[str, tuple[int, Predictor]] = st.session_state.setdefault(state.SESSION_PREDICTORS, {})
    cached = cache.get(name)
    if cached is not None and cached[0] == id(session_model):
        return cached[1]
    card = session_model.card if isinstance(session_model.card, dict) else {}
    import_tensorflow_quietly()
    guard_keras_session(always=True)
    predictor = Predictor(session_model.keras_model(), card.get("class_names"), temperature=card_temperature(card))
    cache[name] = (id(session_model), predictor)
    return predictor


def current_predictor() -> tuple[Predictor, ModelChoiceInfo]:
    """The predictor of the model selected in the sidebar.

    Returns
    -------
    predictor : Predictor
    choice : ModelChoiceInfo

    Raises
    ------
    ModelError
        No model is available, or the selected one cannot be loaded (pages show ``str(error)``).
    """
    choices = list_models()
    choice = _selected(choices)
    if choice is None:
        raise ModelError(
            "No trained model found. Put a .keras model and its .json card in models/, "
            "or train one on the Train page."
        )
    if choice.kind == "session":
        return _session_predictor(choice.name), choice
    assert choice.path is not None
    return shipped_predictor(choice.path, _file_version(choice.path)), choice


def _file_version(path: str) -> int | None:
    """A shipped model file's modification time, part of the cache key: a replaced file loads anew."""
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return None


@st.cache_resource(show_spinner="Preparing the network for instant answers (first time only)…", max_entries=8)
def shipped_instant_predictor(path: str, version: int | None = None) -> InstantPredictor | LitePredictor:
    """One-image answers for a shipped model, built once per server.

    From the model's LiteRT file when its card records one made from this very ``.keras`` file
    (``python -m hdr_core export-lite``): no TensorFlow in the web process. Otherwise converted here,
    through TensorFlow (:class:`~hdr_app.draw.instant.InstantPredictor`).
    """
    try:
        lite = shipped_lite_predictor(path, read_card(path))
    except ModelError:
        lite = None  # a damaged file: convert from the .keras below
    return lite if lite is not None else InstantPredictor(shipped_predictor(path, version))


def current_instant_predictor() -> tuple[InstantPredictor | LitePredictor, ModelChoiceInfo]:
    """The selected model for quick answers whatever the server's load (Draw and Upload pages).

    Both kinds have ``predict``, ``predict_proba`` and ``class_names``.

    Raises
    ------
    ModelError
        As :func:`current_predictor`.
    """
    choice = _selected(list_models())
    if choice is None:
        return current_predictor()  # raises the "no model" message
    if choice.kind == "session":
        models = st.session_state.get(state.SESSION_MODELS) or {}
        session_model = models.get(choice.name)
        cache = st.session_state.setdefault(state.SESSION_PREDICTORS, {})
        key = f"instant:{choice.name}"
        cached = cache.get(key)
        if cached is not None and cached[0] is session_model:
            return cached[1], choice
        card = session_model.card if session_model is not None else {}
        if session_model is not None and session_model.lite is not None:
            instant = LitePredictor(session_model.lite, card.get("class_names"), temperature=card_temperature(card))
        else:
            predictor, choice = current_predictor()
            with st.spinner("Preparing the network for instant answers…"):
                instant = InstantPredictor(predictor)
        cache[key] = (session_model, instant)
        return instant, choice
    assert choice.path is not None
    return shipped_instant_predictor(choice.path, _file_version(choice.path)), choice
