"""Plotly figures built from results. Pure: data in, figure out; no streamlit here."""
from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from .inference import Prediction


def human_count(value: float, unit: str = "") -> str:
    """138357544 -> '138.36 M'; keeps four significant figures where it matters."""
    for threshold, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= threshold:
            return f"{value / threshold:.2f}{suffix}{unit}"
    return f"{value:g}{' ' + unit if unit else ''}"


def top_k_bar(predictions: Sequence[Prediction], title: str = "Top-5 predictions") -> go.Figure:
    """Horizontal bars, best class on top, probabilities in percent."""
    ordered = list(reversed(predictions))
    figure = go.Figure(go.Bar(
        x=[p.prob * 100 for p in ordered], y=[f"{p.label} ({p.index})" for p in ordered],
        orientation="h", text=[f"{p.prob:.1%}" for p in ordered], textposition="auto",
        marker_color="#4c78a8", hovertemplate="%{y}: %{x:.2f} %<extra></extra>"))
    figure.update_layout(title=title, xaxis_title="probability (%)", height=300,
                         margin=dict(l=10, r=10, t=40, b=10), xaxis_range=[0, 100])
    return figure
