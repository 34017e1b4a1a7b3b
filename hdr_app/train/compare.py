"""Every run of this tab side by side: a table (with what the references report) and curves."""

from __future__ import annotations

from typing import Any

import streamlit as st

from hdr_app import state
from hdr_app.charts import PLOTLY_CONFIG
from hdr_app.train.jobs import (
    RunRecord,
)
from hdr_core.models import (
    describe_arch,
)

from .experiments import reported_figure
from .figures import COMPARE_METRICS, comparison_figure, reported_figure_chart
from .settings import prime, remember


def comparison_table(runs: list[RunRecord], names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per run: its settings and results."""
    rows = []
    for run in runs:
        r, c = run.result, run.config
        augment = ", ".join(f"{k} {v:g}" for k, v in (("rot", c.rotation), ("shift", c.shift), ("zoom", c.zoom)) if v)
        val = r.history.get("val_accuracy") or []
        rows.append({
            "model": names.get(run.run_id, run.label),
            "test accuracy": r.test_accuracy,
            "best val accuracy": max(val) if val else None,
            "test loss": r.test_loss,
            "time (s)": round(r.train_seconds, 1),
            "epochs": r.epochs_run,
            "images": run.n_train or None,
            "architecture": describe_arch(c.arch),
            "augmentation": augment or "none",
            "L2": c.l2 or (0.01 if "l2" in str(c.arch) else 0.0),
            "batch": c.batch_size,
            "learning rate": c.learning_rate,
            "parameters": int(r.card.get("params") or 0),
            "dataset": c.dataset,
            "reference reports": reported_figure(c),
        })
    return rows


def _clear_comparison() -> None:
    st.session_state[state.TRAIN_RUNS] = []
    st.session_state.pop(state.TRAIN_VIEW_RUN, None)


def comparison_ui() -> None:
    """Every run of this session in one table and one plot (shown from two runs on)."""
    runs: list[RunRecord] = st.session_state.get(state.TRAIN_RUNS) or []
    if len(runs) < 2:
        return
    names = st.session_state.get(state.TRAIN_REGISTERED) or {}
    st.markdown("### Compare runs")
    rows = comparison_table(runs, names)
    best = max(range(len(rows)), key=lambda i: rows[i]["test accuracy"])
    st.dataframe(
        rows, hide_index=True, width="stretch",
        column_config={
            "test accuracy": st.column_config.ProgressColumn("test accuracy", format="percent", min_value=0.0,
                                                             max_value=1.0),
            "best val accuracy": st.column_config.NumberColumn(format="percent"),
            "test loss": st.column_config.NumberColumn(format="%.4f"),
            "learning rate": st.column_config.NumberColumn(format="%g"),
            "L2": st.column_config.NumberColumn(format="%g"),
            "parameters": st.column_config.NumberColumn(format="localized"),
            "images": st.column_config.NumberColumn(format="localized"),
        },
    )
    st.caption(f"Best test accuracy: **{rows[best]['model']}** ({rows[best]['test accuracy']:.2%}).")
    key = prime("compare_metric", key=state.TRAIN_COMPARE_METRIC, valid=lambda v: v in COMPARE_METRICS)
    metric = st.segmented_control("Plot", list(COMPARE_METRICS), key=key, format_func=COMPARE_METRICS.get,
                                  required=True) or "val_accuracy"
    remember({"compare_metric": metric})
    st.plotly_chart(comparison_figure(runs, names, metric), config=PLOTLY_CONFIG, key="train_compare_plot")
    reported = reported_figure_chart(rows)
    if reported is not None:
        st.markdown("**Beside what the reference projects report**")
        st.plotly_chart(reported, config=PLOTLY_CONFIG, key="train_reported_plot")
        st.caption("Only runs that used a reference recipe exactly (all of MNIST, its epochs) have a reported "
                   "figure. Both sides are single runs, so a few tenths of a point either way is chance. The EMNIST "
                   "project's figure is on another test set (EMNIST Digits): it is in the table, not the chart.")
    st.button("Clear the comparison", on_click=_clear_comparison, icon=":material/delete_sweep:",
              help="Empties this table; the models stay in the sidebar's model picker.", key="train_clear")
