"""The Upload page's widgets: options, inputs, the results table, every step of one file, its answer (with the
digit check's doubt), the other thresholds, Look inside.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import numpy as np
import streamlit as st

from hdr_app import charts, state
from hdr_core import preprocess
from hdr_core.constants import IMAGE_SIZE
from hdr_core.errors import HdrError
from hdr_core.inference import Predictor

from .images import EXAMPLES, decode, encode_image, example_image, model_input_data_uri, montage
from .results import (
    CACHE_ENTRIES,
    FILE_TYPES,
    MAX_FILES,
    MODES,
    FileResult,
    Options,
    Outcome,
    Steps,
    UploadedImage,
    predict_outcomes,
    preprocess_file,
    results_csv,
)

MODE_LABELS = {"single": "One digit per image", "multi": "A whole number (several digits)"}


THRESHOLD_LABELS = {"mean": "Mean", "otsu": "Otsu", "adaptive": "Adaptive"}


THRESHOLD_HELP = (
    "How grey pixels become ink or paper. **Mean**: one level for the whole photo, its average "
    "brightness (the reference pipeline's default). **Otsu**: one level chosen to split the grey levels "
    "into two groups as cleanly as possible. **Adaptive**: a level per neighbourhood, for uneven "
    "lighting and shadows."
)


# A long number (a phone number, three rows) wraps at its row breaks on a phone instead of being cut
# off with an ellipsis, as st.metric does with any value wider than its column.
NUMBER_WRAP_CSS = """<style>
.st-key-upload_number_read [data-testid="stMetricValue"],
.st-key-upload_number_read [data-testid="stMetricValue"] * {
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
}
</style>"""


DIGIT_TILE = 112  # display pixels (4 per model-input pixel): each digit of a whole number, read under it


MAX_STEP_HEIGHT = 300  # display pixels: portrait photos are shown narrower so that the step rows stay compact


@st.cache_data(max_entries=CACHE_ENTRIES, ttl=3600, show_spinner=False)
def _cached_outcome(digest: str, name: str, threshold: str, mode: str, _data: bytes) -> Outcome:
    return preprocess_file(_data, name, threshold=threshold, mode=mode)


def cached_outcome(item: UploadedImage, options: Options) -> Outcome:
    """``preprocess_file``, cached by (content hash, name, threshold, mode) across reruns and sessions."""
    digest = hashlib.sha256(item.data).hexdigest()
    return _cached_outcome(digest, item.name, options.threshold, options.mode, item.data)


def results_table_ui(results: Sequence[FileResult]) -> None:
    """A compact table of every file (model input thumbnail, prediction, confidence, message) and a CSV download."""
    import pandas as pd

    table = pd.DataFrame(
        {
            "Model input": [_table_thumbnail(r) for r in results],
            "File": [r.name for r in results],
            "Read as": [r.text if r.ok else "—" for r in results],
            "Confidence": [r.confidence for r in results],
            "Note": [_note(r) for r in results],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        row_height=60,
        column_config={
            "Model input": st.column_config.ImageColumn("Model input", width="small",
                                                        help="The 28x28 image the network sees"),
            "File": st.column_config.TextColumn("File", width="medium"),
            "Read as": st.column_config.TextColumn("Read as", width="small"),
            "Confidence": st.column_config.ProgressColumn(
                "Confidence", min_value=0.0, max_value=1.0, format="percent", width="small",
                help="The network's probability for its answer (for a number: its least certain digit)"),
            "Note": st.column_config.TextColumn("Note", width="large"),
        },
    )
    good = sum(r.ok for r in results)
    left, right = st.columns([3, 1], vertical_alignment="center")
    readable = sum(r.steps is not None for r in results)
    hint = " Pick a file below to see every step." if readable > 1 else ""
    left.caption(f"{good} of {len(results)} files read.{hint}")
    right.download_button("Download CSV", results_csv(results), file_name="hdr-predictions.csv",
                          mime="text/csv", icon=":material/download:", on_click="ignore", width="stretch")


def _table_thumbnail(result: FileResult) -> str:
    """The model input(s) as a data URI for the table; a blank tile for files that could not be read."""
    if result.steps is None:
        return model_input_data_uri(np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32) + 0.92)
    if result.mode == "single":
        return model_input_data_uri(result.steps.model_inputs[0])
    return _montage_uri(result.steps)


def _montage_uri(steps: Steps) -> str:
    row = [i for r in steps.rows for i in r][:8]  # a table cell has room for a few digits
    png = encode_image(montage(steps.model_inputs, [row], scale=2, gap=2), photo=False)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _note(result: FileResult) -> str:
    if result.error:
        return result.error
    if result.steps is None:
        return ""
    if not result.predictions:
        return "Preprocessed; no model to predict with."
    if result.flagged:
        return ("may not be a digit (digit check)" if result.mode == "single" else
                "may not be digits: " + " ".join(f"#{i + 1}" for i in result.flagged))
    if result.mode == "multi":
        return f"{len(result.predictions)} digits in {len(result.steps.rows)} row(s)"
    return "inverted (dark ink on light paper)" if result.steps.inverted else "not inverted (ink already bright)"


def options_ui() -> Options:
    """The mode and threshold choosers; returns what the user picked."""
    # Defaults go through session state (not ``default=``), so that the examples can switch the mode.
    st.session_state.setdefault(state.UPLOAD_MODE, "single")
    st.session_state.setdefault(state.UPLOAD_THRESHOLD, "mean")
    left, right = st.columns([1.25, 1], gap="large")
    with left:
        mode = st.segmented_control(
            "What is in each picture?", MODES, format_func=MODE_LABELS.get, required=True, key=state.UPLOAD_MODE,
            help="A whole number is cut into digits (connected ink, broken strokes joined; digits written close "
                 "enough to touch cut where the network reads each part as a digit; dots, specks and a box, circle "
                 "or underline round them ignored), read left to right and rows top to bottom.")
    with right:
        threshold = st.segmented_control(
            "Threshold", preprocess.THRESHOLD_METHODS, format_func=THRESHOLD_LABELS.get, required=True,
            key=state.UPLOAD_THRESHOLD, help=THRESHOLD_HELP)
    return Options(mode=mode or "single", threshold=threshold or "mean")


def inputs_ui() -> list[UploadedImage]:
    """The file uploader and the optional camera; returns the images to read (at most ``MAX_FILES``)."""
    files = st.file_uploader(
        "Photos, scans or drawings of digits", type=list(FILE_TYPES), accept_multiple_files=True,
        key=state.UPLOAD_FILES,
        help="PNG, JPEG, WebP, BMP, TIFF or GIF. Several at once give a results table and a CSV.")
    images = [UploadedImage(f.name, f.getvalue()) for f in files or []]
    if st.toggle("Take a photo with the camera", key=state.UPLOAD_CAMERA_ON):
        shot = st.camera_input("Hold a digit written on paper up to the camera", key=state.UPLOAD_CAMERA)
        if shot is not None:
            images.append(UploadedImage("camera photo.jpg", shot.getvalue()))
    if len(images) > MAX_FILES:
        st.warning(f"{len(images)} files were given: the first {MAX_FILES} are read. "
                   "Upload the others in another batch.")
        images = images[:MAX_FILES]
    if images:
        st.session_state[state.UPLOAD_EXAMPLE] = None  # the user's own pictures replace the example
    elif st.session_state.get(state.UPLOAD_EXAMPLE) in EXAMPLES:
        name = st.session_state[state.UPLOAD_EXAMPLE]
        st.caption(f"Showing the built-in example *{EXAMPLES[name]}*. Upload your own picture to replace it.")
        images = [UploadedImage(name, example_image(name))]
    return images


def empty_state_ui() -> None:
    """What the page shows before anything is uploaded: tips, and built-in examples to try."""
    st.info(
        "**Tips for a good photo:** dark pen on plain white paper, the digit filling a good part of the "
        "picture, even light without strong shadows. Light ink on a dark background works too.",
        icon=":material/photo_camera:")
    st.caption("No photo at hand? Try an example:")
    cols = st.columns(len(EXAMPLES))
    for col, (name, description) in zip(cols, EXAMPLES.items()):
        col.button(f"Example: {description}", key=f"upload_example_{name}", width="stretch",
                   on_click=_choose_example, args=(name,))


def _read_as_whole_number() -> None:
    """Button callback: switch to whole-number mode (runs before the mode widget exists)."""
    st.session_state[state.UPLOAD_MODE] = "multi"


def several_digits_ui(result: FileResult) -> None:
    """In one-digit mode, a picture that looks like a whole number: say so and offer the right mode."""
    steps = result.steps
    if result.mode != "single" or steps is None or not steps.digits_left_out:
        return
    text, button = st.columns([2.6, 1], gap="medium", vertical_alignment="center")
    text.info(f"This picture seems to hold **{steps.digits_left_out} digits**, but *{MODE_LABELS['single']}* "
              "reads only the boxed ink in step 5.", icon=":material/pin:")
    button.button("Read as a number", icon=":material/format_list_numbered:", width="stretch",
                  key="upload_read_whole_number", on_click=_read_as_whole_number)


def _choose_example(name: str) -> None:
    """Button callback (runs before the widgets exist, so it may set the mode widget's value)."""
    st.session_state[state.UPLOAD_EXAMPLE] = name
    st.session_state[state.UPLOAD_MODE] = "multi" if name == "number-2026.png" else "single"


def process_ui(images: Sequence[UploadedImage], options: Options, predictor: Predictor | None) -> list[FileResult]:
    """Preprocess (cached) and predict every image, with a progress bar while files are new."""
    outcomes: list[Outcome] = []
    progress = st.progress(0.0, text="Reading…") if len(images) > 1 else None
    for i, item in enumerate(images, start=1):
        outcomes.append(cached_outcome(item, options))
        if progress is not None:
            progress.progress(i / len(images), text=f"Read {i} of {len(images)}")
    if progress is not None:
        progress.empty()
    return predict_outcomes(outcomes, predictor)


def _escape(text: str) -> str:
    """Escape Markdown in file names (``my_photo_1.png`` must not turn italic)."""
    for char in "\\`*_{}[]<>()#+-.!|~$":
        text = text.replace(char, "\\" + char)
    return text


def errors_ui(results: Sequence[FileResult]) -> None:
    """One specific message per file that could not be read, in place of its result."""
    for result in results:
        if result.error:
            st.error(_error_markdown(result.name, result.error), icon=":material/error:")


def _error_markdown(name: str, message: str) -> str:
    """``**name** is not an image: ...`` when the message starts with the (quoted) name.

    Otherwise ``**name** — message``.
    """
    for prefix in (f"'{name}'", f'"{name}"', name):
        if message.startswith(prefix):
            return f"**{_escape(name)}**{_escape_message(message[len(prefix):])}"
    return f"**{_escape(name)}** — {_escape_message(message)}"


def _escape_message(text: str) -> str:
    """Keep a message literal in Markdown (``*``, ``_``, backticks and ``$`` would format it)."""
    for char in "\\`*_$":
        text = text.replace(char, "\\" + char)
    return text


def pick_result_ui(results: Sequence[FileResult]) -> int | None:
    """Which file's steps to show (an index into ``results``): the only one read, or the one picked."""
    readable = [i for i, r in enumerate(results) if r.steps is not None]
    if len(readable) <= 1:
        return readable[0] if readable else None
    names = {i: f"{i + 1}. {results[i].name}" for i in readable}
    choice = st.selectbox("Show every step for", readable, format_func=names.get, key=state.UPLOAD_SELECTED)
    return readable[0] if choice not in names else choice


def _step(col, number: int, title: str, image: bytes | np.ndarray, caption: str, *, aspect: float) -> None:
    """One step: a bold title, the image (at most ``MAX_STEP_HEIGHT`` tall; ``aspect`` = height / width), a caption."""
    with col:
        st.markdown(f"**{number} · {title}**")
        st.image(image, width=_step_width(aspect))
        st.caption(caption)


def _step_width(aspect: float) -> int | str:
    """``st.image`` width keeping an image with this height/width ratio at most ``MAX_STEP_HEIGHT`` tall."""
    return "stretch" if aspect <= 0.75 else max(60, round(MAX_STEP_HEIGHT / aspect))


def _threshold_caption(steps: Steps) -> str:
    if steps.method == "adaptive":
        return f"Adaptive: a level per neighbourhood (about {steps.threshold:.0f} of 255)"
    name = "Mean" if steps.method == "mean" else "Otsu"
    return f"{name} threshold: brighter than {steps.threshold:.0f} of 255 is white"


def pipeline_ui(result: FileResult) -> None:
    """Every stage that ran, from the photo to the model input, three to a row, each with its reason."""
    steps = result.steps
    assert steps is not None
    stages = steps.stages
    for first in range(0, len(stages), 3):
        columns = st.columns(3, gap="medium")
        for column, number in zip(columns, range(first, min(first + 3, len(stages)))):
            stage = stages[number]
            _step(column, number + 1, stage.title, stage.image, stage.caption, aspect=stage.aspect)
    if steps.reading:
        st.caption(f"**Why these steps:** {steps.reading}")


def prediction_ui(result: FileResult) -> None:
    """The answer: digit, confidence and probability bars (one digit) or the number and each digit's reading."""
    if not result.predictions:
        return
    steps = result.steps
    assert steps is not None
    if result.mode == "single":
        prediction = result.predictions[0]
        left, right = st.columns([1, 2.4], gap="large", vertical_alignment="center")
        with left:
            st.metric("Prediction", prediction.label)
            st.markdown(f"Confidence **{prediction.confidence:.1%}**", help=charts.CONFIDENCE_MEANING)
            runner_up = prediction.top_k(2)[1] if len(prediction.probabilities) > 1 else None
            if runner_up is not None:
                st.caption(f"Runner-up: {runner_up[0]} ({runner_up[1]:.1%})")
        with right:
            st.plotly_chart(charts.probability_chart(prediction.probabilities, prediction.class_names),
                            config=charts.PLOTLY_CONFIG, key="upload_probabilities")
        if result.flagged:
            check = result.checks[0]
            st.warning(check.warning(prediction.label), icon=":material/block:")
        return
    number = result.text.replace("/", " / ")
    with st.container(key="upload_number_read"):
        st.metric("Number read", number)
    st.html(NUMBER_WRAP_CSS)  # style only: out of the page flow, it takes no space
    st.caption(f"Least certain digit: {result.confidence:.1%}. Each digit, numbered as on the photo:")
    if result.flagged:
        numbers = ", ".join(f"#{i + 1}" for i in result.flagged)
        st.warning(f"**{numbers} may not be {'a digit' if len(result.flagged) == 1 else 'digits'}**: the digit "
                   "check, a second network trained to tell digits from other marks, doubts "
                   f"{'it' if len(result.flagged) == 1 else 'them'}.", icon=":material/block:")
    # Fixed-size tiles in a row that wraps: eight or more across a laptop, two or three on a phone (columns
    # would stack there, one digit the width of the screen each).
    tiles = st.container(horizontal=True, gap="small", key="upload_digit_tiles")
    for index in (i for row in steps.rows for i in row):
        prediction = result.predictions[index]
        with tiles.container(width=DIGIT_TILE):
            st.image(charts.enlarge(steps.model_inputs[index], DIGIT_TILE // 28), width=DIGIT_TILE)
            doubt = " · not a digit?" if index in result.flagged else ""
            st.markdown(f"#{index + 1} → **{prediction.label}**  \n"
                        f"<span style='color:#64748b;font-size:0.85em'>{prediction.confidence:.0%}{doubt}</span>",
                        unsafe_allow_html=True)


def compare_ui(item: UploadedImage, result: FileResult, predictor: Predictor | None) -> None:
    """The three thresholds side by side on the same photo: the binarised ink and what the network reads."""
    if not st.toggle("Compare the three thresholds on this picture", key=state.UPLOAD_COMPARE,
                     help="Runs the whole pipeline with mean, Otsu and adaptive thresholds to show where one fails."):
        return
    outcomes = [cached_outcome(item, Options(mode=result.mode, threshold=method))
                for method in preprocess.THRESHOLD_METHODS]
    compared = predict_outcomes(outcomes, predictor)
    cols = st.columns(len(compared), gap="medium")
    for col, other in zip(cols, compared):
        with col:
            chosen = " (chosen)" if other.threshold == result.threshold else ""
            st.markdown(f"**{THRESHOLD_LABELS[other.threshold]}{chosen}**")
            if other.steps is None:
                st.error(other.error or "Could not be read.")
                continue
            st.image(other.steps.ink_bright, width=_step_width(other.steps.height / other.steps.width))
            st.image(other.steps.located, width=_step_width(other.steps.located_aspect))
            answer = other.text.replace("/", " / ") if other.ok else "—"
            confidence = f" ({other.confidence:.0%})" if other.ok else ""
            st.caption(f"{_threshold_caption(other.steps)}. Reads **{answer}**{confidence}")


def look_inside_ui(result: FileResult) -> None:
    """The "Look inside with this digit" button: make a digit of this file the current input, open Look inside."""
    steps = result.steps
    if steps is None or not len(steps.model_inputs):
        return
    index = 0
    left, right = st.columns([2, 1], vertical_alignment="bottom")
    if result.mode == "multi" and len(steps.model_inputs) > 1:
        order = [i for row in steps.rows for i in row]
        with left:
            labels = {i: f"Digit #{i + 1}" + (f" (read as {result.predictions[i].label})" if result.predictions else "")
                      for i in order}
            index = st.selectbox("Digit to look inside", order, format_func=labels.get,
                                 key=state.UPLOAD_VISUALIZE_DIGIT) or 0
    else:
        left.caption("See what each layer of the network makes of this digit.")
    if right.button("Look inside with this digit", icon=":material/visibility:", type="primary", width="stretch",
                    key="upload_open_visualize"):
        suffix = f" — digit #{index + 1}" if result.mode == "multi" else ""
        state.set_current_input(steps.model_inputs[index], source="upload", title=f"{result.name}{suffix}",
                                original=decode(steps.original))
        st.switch_page("pages/visualise.py")


def details_ui(result: FileResult, item: UploadedImage, predictor: Predictor | None) -> None:
    """Everything about one file: the steps, the answer, the threshold comparison, the Look inside button."""
    st.subheader(result.name, divider="gray", anchor=False)
    several_digits_ui(result)
    st.markdown("##### From photo to model input")
    pipeline_ui(result)
    st.markdown("##### What the network reads")
    prediction_ui(result)
    compare_ui(item, result, predictor)
    look_inside_ui(result)


def model_error_ui(error: HdrError) -> None:
    """Shown when no model can be loaded: the steps still work, predictions do not."""
    st.warning(f"{error} The preprocessing steps are shown without predictions.", icon=":material/warning:")
