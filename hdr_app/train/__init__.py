"""The Train page's parts (``pages/train.py`` only wires them): the settings, experiments, the live view, the
results and the comparison.

Training itself runs in a :class:`hdr_app.train.jobs.TrainingJob`, which sends each run to a worker process of
the server's Dask cluster (``hdr_core.cluster``; the worker calls ``hdr_core.train.train``, the function behind
``python -m hdr_core train``). The job lives in ``st.session_state`` (per student, remembered across a reload
by ``hdr_app.tab_memory``); the limit on concurrent trainings, the cluster, the orphan watch and the datasets
live in ``st.cache_resource`` (``resources``, per server). The live view is an ``st.fragment`` that reruns every
second while a job is active and triggers one full rerun when something finished."""

from __future__ import annotations

from .compare import (  # noqa: F401
    comparison_table,
    comparison_ui,
)
from .experiments import (  # noqa: F401
    GridCase,
    blog_grid,
    experiment_cases,
    experiment_form_ui,
    reported_figure,
    start_ui,
)
from .figures import (  # noqa: F401
    ERROR_COLOR,
    LEGEND_LIFT_PX,
    TRAIN_COLOR,
    comparison_figure,
    confusion_figure,
    curves_figure,
    per_class_figure,
    reported_figure_chart,
)
from .live import (  # noqa: F401
    job_status_ui,
    live_ui,
)
from .resources import (  # noqa: F401
    orphan_watch,
    present_datasets,
    shared_dataset,
    training_cluster,
    training_slots,
)
from .results import (  # noqa: F401
    CELL_IMAGES,
    GALLERY_COLUMNS,
    GALLERY_SIZE,
    UNDER_TRAINED_BELOW,
    details_ui,
    outcome_ui,
    selected_run,
    summary_ui,
    sync_finished_runs,
    training_verdict,
)
from .settings import (  # noqa: F401
    CUSTOM,
    EXPERIMENT,
    ONE,
    build_config,
    config_form_ui,
    intro_ui,
    mode_ui,
)
