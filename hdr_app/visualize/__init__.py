"""The Look inside page's parts: how a CNN turns a 28x28 digit into a decision.

The pure side (stages, tiled maps, one convolution output followed through bias, batch norm and ReLU, each
class's evidence) is ``hdr_core.visualize``; here are the plotly ``figures``, the ``cache`` of heavy arrays
(once per model and input), the six ``tabs`` and the ``inputs`` (what the page looks at, and its summary).
Plotly only (no matplotlib). Images are shown as the model sees them: ink bright on black.
"""

from __future__ import annotations

from .cache import (  # noqa: F401
    all_activations,
    conv_step,
    filters,
    heatmap,
    input_key,
    model_key,
    model_view,
)
from .figures import (  # noqa: F401
    ACCENT,
    CHART_CONFIG,
    FILTER_SCALE,
    GAP_COLOR,
    HEAT_SCALE,
    IMAGE_SCALE,
    MAP_SCALE,
    MARK_COLOR,
    contributions_figure,
    conv_step_figure,
    feature_maps_figure,
    filters_figure,
    flow_figure,
    image_figure,
    map_figure,
    overlay_figure,
    vector_figure,
)
from .inputs import (  # noqa: F401
    SOURCE_LABELS,
    TEST_IMAGES_RETRY_S,
    input_ui,
    subject_ui,
    summary_ui,
    test_dataset_name,
    test_images,
    typed_example,
)
from .tabs import (  # noqa: F401
    FLOW_MIN_WIDTH,
    GRID_MIN_WIDTH,
    NO_CONV_MESSAGE,
    TAB_LABELS,
    TAB_VIEWS,
    Subject,
    conv_arithmetic_ui,
    feature_maps_ui,
    filters_ui,
    final_layers_ui,
    network_flow_ui,
    tabs_ui,
    where_it_looks_ui,
    wide_chart,
)
