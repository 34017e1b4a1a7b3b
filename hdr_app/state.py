"""Every ``st.session_state`` key used by the app, in one place, and :func:`init_state`.

Pages read and write session state only through these constants. Each page engineer appends the keys
of their page in the clearly marked block for that page at the end of this file.

Shared keys
-----------
MODEL_CHOICE : str
    Name of the model picked in the sidebar (a shipped model's card name, or a session model's name).
    Plain state, not a widget key, so any page may set it (see ``hdr_app.models.select_model``).
SESSION_MODELS : dict[str, SessionModel]
    Models trained in this browser session, by name (see ``hdr_app.models.register_session_model``).
CURRENT_INPUT : CurrentInput or None
    The digit the Look inside page opens: the last digit drawn, uploaded or picked from the test set.
TRAINING_JOB : object or None
    The Train page's running or finished training job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import streamlit as st

__all__ = [
    "CURRENT_INPUT",
    "MODEL_CHOICE",
    "MODEL_PICKER_WIDGET",
    "SESSION_MODELS",
    "SESSION_PREDICTORS",
    "TRAINING_JOB",
    "CurrentInput",
    "SessionModel",
    "get_current_input",
    "init_state",
    "set_current_input",
]

# --------------------------------------------------------------------------------------------------
# Shared keys
# --------------------------------------------------------------------------------------------------

MODEL_CHOICE = "model_choice"  # str: name of the selected model (shipped or session)
SESSION_MODELS = "session_models"  # dict[str, SessionModel]: models trained in this session
CURRENT_INPUT = "current_input"  # CurrentInput | None: the digit the Look inside page opens
TRAINING_JOB = "training_job"  # the Train page's job (owned by the Train page)

# Internal to hdr_app.models: the sidebar selectbox's own widget key (MODEL_CHOICE is the source of
# truth; the widget mirrors it), and per-session Predictors of session models (built once per model).
MODEL_PICKER_WIDGET = "_model_picker"
MODEL_UPLOAD_WIDGET = "_model_upload"  # the sidebar's "add a model file" uploader
MODEL_UPLOAD_DONE = "_model_upload_done"  # (file ids, messages) of the upload last read: read once, not every run
SHELL_SWITCHED = "_hdr_shell_switched"  # bool: ensure_app_shell already reran this session into app.py
SESSION_PREDICTORS = "_session_predictors"  # dict[str, Predictor]

InputSource = Literal["draw", "upload", "test"]


@dataclass(frozen=True, eq=False)
class SessionModel:
    """A model trained or added in this browser tab.

    Attributes
    ----------
    model : keras.Model or None
        The model, when it is in this process already; None for a model trained on a worker, which is
        read from ``keras_bytes`` only when a page needs Keras itself (Look inside): see :meth:`keras_model`.
    card : dict
        Its model card (same keys as the shipped cards: ``test_accuracy``, ``class_names``...).
    lite : bytes or None
        Its LiteRT flat buffer (``hdr_core.lite``): Draw and Upload answer with it, without TensorFlow.
    keras_bytes : bytes or None
        Its ``.keras`` file.
    """

    model: Any
    card: dict[str, Any] = field(default_factory=dict)
    lite: bytes | None = None
    keras_bytes: bytes | None = None

    def keras_model(self) -> Any:
        """The Keras model, read from ``keras_bytes`` the first time it is needed (imports TensorFlow)."""
        if self.model is None:
            if self.keras_bytes is None:
                raise ValueError("this session model has neither a Keras model nor its file")
            from hdr_core.inference import load_model_bytes

            object.__setattr__(self, "model", load_model_bytes(self.keras_bytes))
        return self.model


@dataclass(frozen=True, eq=False)
class CurrentInput:
    """The digit that the Look inside page opens.

    Attributes
    ----------
    model_input : (28, 28) float32 ndarray
        What the model sees: values in [0, 1], ink bright on black.
    source : {'draw', 'upload', 'test'}
        Which page (or the test set) it came from.
    title : str
        A short description for headings ("Your drawing", "photo.jpg", "Test image #12 (a 7)").
    original : (H, W, 3) uint8 ndarray or None
        The picture it was cut from, when there is one.
    """

    model_input: np.ndarray
    source: InputSource
    title: str
    original: np.ndarray | None = None


def init_state() -> None:
    """Give every shared key its initial value, once per session (called by ``app.py`` on every run)."""
    defaults: dict[str, Any] = {
        MODEL_CHOICE: None,
        SESSION_MODELS: {},
        SESSION_PREDICTORS: {},
        CURRENT_INPUT: None,
        TRAINING_JOB: None,
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def set_current_input(
    model_input: np.ndarray,
    *,
    source: InputSource,
    title: str,
    original: np.ndarray | None = None,
) -> CurrentInput:
    """Make a digit the current input (a read-only copy is stored).

    Parameters
    ----------
    model_input : (28, 28) float32 ndarray
        Values in [0, 1], ink bright on black.
    source : {'draw', 'upload', 'test'}
    title : str
    original : (H, W, 3) uint8 ndarray, optional

    Returns
    -------
    CurrentInput
        What was stored under ``CURRENT_INPUT``.
    """
    image = np.array(model_input, dtype=np.float32, copy=True)
    if image.shape != (28, 28):
        raise ValueError(f"model_input must have shape (28, 28), got {image.shape}")
    image.setflags(write=False)
    current = CurrentInput(model_input=image, source=source, title=title, original=original)
    st.session_state[CURRENT_INPUT] = current
    return current


def get_current_input() -> CurrentInput | None:
    """The current input, or None when no digit was drawn, uploaded or picked yet."""
    return st.session_state.get(CURRENT_INPUT)


# ==================================================================================================
# Draw page keys (owner: pages/draw.py)
# ==================================================================================================

DRAW_CANVAS = "draw_canvas"  # the drawable canvas widget's key
DRAW_STROKE_WIDTH = "draw_stroke_width"  # the pen width slider's key

# ==================================================================================================
# Upload page keys (owner: pages/upload.py) — append below
# ==================================================================================================

UPLOAD_MODE = "upload_mode"  # widget: "single" (one digit per image) | "multi" (a whole number)
UPLOAD_THRESHOLD = "upload_threshold"  # widget: "mean" | "otsu" | "adaptive"
UPLOAD_FILES = "upload_files"  # widget: the file uploader (list of UploadedFile)
UPLOAD_CAMERA_ON = "upload_camera_on"  # widget: toggle showing the camera
UPLOAD_CAMERA = "upload_camera"  # widget: st.camera_input's photo
UPLOAD_EXAMPLE = "upload_example"  # str | None: name of the built-in example shown when nothing is uploaded
UPLOAD_SELECTED = "upload_selected"  # widget: which file's steps are shown when several were uploaded
UPLOAD_COMPARE = "upload_compare"  # widget: toggle for the side-by-side comparison of thresholds
UPLOAD_VISUALIZE_DIGIT = "upload_visualize_digit"  # widget: which digit of a number "Look inside with this digit" takes

# ==================================================================================================
# Train page keys (owner: pages/train.py) — append below
# ==================================================================================================

TRAIN_MODE = "train_mode"  # widget: "one" (one model) | "experiment" (several configurations)
TRAIN_FORM = "train_form_"  # widget prefix (+ setting name): the training settings
TRAIN_SAVED = "_train_saved"  # dict[str, Any]: the settings' last values, so they survive a visit to another page
TRAIN_RUNS = "train_runs"  # list[hdr_app.train.jobs.RunRecord]: every run that produced a model in this session
TRAIN_REGISTERED = "_train_registered"  # dict[run_id, str]: the model-picker name each run was registered under
TRAIN_VIEW_RUN = "train_view_run"  # widget: run_id of the run whose results are shown
TRAIN_CELL = "train_cell"  # widget prefix (+ run_id): the confusion-matrix cell whose test images are shown
TRAIN_CONFUSION = "train_confusion"  # widget prefix (+ run_id): the confusion matrix chart (its selection)
TRAIN_COMPARE_METRIC = "train_compare_metric"  # widget: the metric the comparison plot shows

# ==================================================================================================
# Look inside page keys (owner: pages/visualise.py) — append below
# ==================================================================================================

VIS_SOURCE = "vis_source"  # widget: "current" (the drawn/uploaded digit) | "test" (a test image) | "example"
VIS_TEST_INDEX = "vis_test_index"  # widget: index of the test image shown
VIS_SEEN_INPUT = "_vis_seen_input"  # hash of the last CURRENT_INPUT seen: a new digit switches back to it
VIS_TAB = "vis_tab"  # widget: the open tab (lazy tabs: only the open one is computed)
VIS_FILTERS_LAYER = "vis_filters_layer"  # widget: conv layer whose filters are shown
VIS_PER_MAP = "vis_per_map"  # widget: scale each feature map to its own maximum
VIS_BIG_LAYER = "vis_big_layer"  # widget: layer of the feature map shown large
VIS_BIG_CHANNEL = "vis_big_channel"  # widget prefix (+ "_<layer>"): which map of that layer is shown large
VIS_CA_CHANNEL = "vis_ca_channel"  # widget prefix (+ "_<input hash>"): conv arithmetic feature map
VIS_CA_ROW = "vis_ca_row"  # widget prefix (+ "_<input hash>_<map>"): conv arithmetic position
VIS_CA_COL = "vis_ca_col"  # widget prefix (+ "_<input hash>_<map>")
VIS_METHOD = "vis_method"  # widget: "Grad-CAM" | "Saliency"
VIS_WHY_NOT = "vis_why_not"  # widget prefix (+ "_<model>"): the class asked about ("why not 7?")
VIS_GRADCAM_LAYER = "vis_gradcam_layer"  # widget prefix (+ "_<model>"): layer Grad-CAM reads
