"""The Upload page's parts (``pages/upload.py`` only wires them): read photos, show every preprocessing step, tabulate many files.

``results``
    Pure (no Streamlit, not the chosen model: whole numbers' touching digits are read apart by the shipped
    network, ``hdr_core.piece_reader``): ``preprocess_file(data, name, *, threshold, mode) -> Outcome`` sends the
    bytes through ``hdr_core.preprocess`` exactly as ``python -m hdr_core predict`` does and keeps what the page
    shows: every step as a small encoded image plus the 28x28 model inputs, so cached outcomes stay small;
    bad input becomes ``Outcome.error``, never an exception. ``predict_outcomes`` is one batched forward pass
    for every digit of every file, with the digit check's verdict on each.
``images``
    Thumbnails, boxes, montages and the built-in examples (NumPy and OpenCV).
``ui``
    The ``*_ui`` functions draw; they take results and return what the user chose."""

from __future__ import annotations

from .images import (  # noqa: F401
    BORDER_COLOR,
    BOX_COLOR,
    DISPLAY_MAX_SIDE,
    DISPLAY_MIN_SIDE,
    EXAMPLES,
    INK_COLOR,
    JPEG_QUALITY,
    THUMB_SCALE,
    decode,
    draw_boxes,
    example_image,
    model_input_data_uri,
    montage,
    thumbnail,
)
from .results import (  # noqa: F401
    CACHE_ENTRIES,
    CROP_BELOW_SHARE,
    FILE_TYPES,
    MAX_FILES,
    MODES,
    FileResult,
    Options,
    Outcome,
    ShownStage,
    Steps,
    UploadedImage,
    logger,
    outline_page,
    predict_outcomes,
    preprocess_file,
    read_file,
    results_csv,
    results_rows,
)
from .ui import (  # noqa: F401
    DIGIT_TILE,
    MAX_STEP_HEIGHT,
    MODE_LABELS,
    NUMBER_WRAP_CSS,
    THRESHOLD_HELP,
    THRESHOLD_LABELS,
    cached_outcome,
    compare_ui,
    details_ui,
    empty_state_ui,
    errors_ui,
    inputs_ui,
    look_inside_ui,
    model_error_ui,
    options_ui,
    pick_result_ui,
    pipeline_ui,
    prediction_ui,
    process_ui,
    results_table_ui,
    several_digits_ui,
)
