"""Plotly figures built from results. Pure: data in, figure out; no streamlit here."""
from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image, ImageDraw
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from .inference import Prediction

if TYPE_CHECKING:
    from .activations import TapStats


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


# ---------------------------------------------------------------- images composed server-side

def _viridis_lut() -> np.ndarray:
    """256 x 3 uint8 lookup table of plotly's Viridis, so grids match the heatmaps."""
    colours = sample_colorscale("Viridis", np.linspace(0, 1, 256).tolist(), colortype="tuple")
    return np.rint(np.asarray(colours) * 255).astype(np.uint8)


VIRIDIS = _viridis_lut()
TILE_MIN, TILE_MAX, LABEL_H, GAP = 40, 112, 12, 2


def _normalise(maps: torch.Tensor, shared: bool) -> torch.Tensor:
    """[N, H, W] -> [0, 1], over all maps together or each map on its own."""
    dims = None if shared else (1, 2)
    low = maps.amin() if shared else maps.amin(dim=dims, keepdim=True)
    high = maps.amax() if shared else maps.amax(dim=dims, keepdim=True)
    return (maps - low) / (high - low).clamp_min(1e-12)


def tile_size(height: int) -> int:
    """Maps smaller than TILE_MIN are enlarged, larger than TILE_MAX reduced."""
    return int(min(max(height, TILE_MIN), TILE_MAX))


def channel_grid(maps: torch.Tensor, channels: Sequence[int], shared_scale: bool = True,
                 columns: int | None = None) -> Image.Image:
    """The chosen channels of a [C, H, W] tap as ONE image: viridis tiles, each labelled."""
    chosen = maps[list(channels)].float()  # [N, H, W]
    n, height, width = chosen.shape
    size = tile_size(max(height, width))
    scaled = torch.nn.functional.interpolate(
        _normalise(chosen, shared_scale)[:, None], size=(size, size),
        mode="nearest" if size >= height else "area")[:, 0]  # [N, size, size]
    columns = columns or max(1, min(n, math.ceil(math.sqrt(n * 1.8))))
    rows = math.ceil(n / columns)
    cell_w, cell_h = size + GAP, size + LABEL_H + GAP
    cells = np.full((rows * columns, cell_h, cell_w, 3), 255, np.uint8)
    cells[:n, LABEL_H:LABEL_H + size, :size] = VIRIDIS[(scaled * 255).round().to(torch.uint8).numpy()]
    canvas = cells.reshape(rows, columns, cell_h, cell_w, 3).transpose(0, 2, 1, 3, 4)
    image = Image.fromarray(np.ascontiguousarray(canvas).reshape(rows * cell_h, columns * cell_w, 3))
    draw = ImageDraw.Draw(image)
    for i, channel in enumerate(channels):
        draw.text(((i % columns) * cell_w + 1, (i // columns) * cell_h), str(channel), fill=(40, 40, 40))
    return image


def colourise(values: np.ndarray) -> np.ndarray:
    """A 2-D array -> HxWx3 uint8 viridis, stretched to its own range."""
    low, high = float(values.min()), float(values.max())
    return VIRIDIS[np.rint((values - low) / max(high - low, 1e-12) * 255).astype(np.uint8)]


def overlay(picture: np.ndarray, channel_map: torch.Tensor, opacity: float) -> Image.Image:
    """A channel map upsampled to the input's size and blended over it (opacity in [0, 1])."""
    height, width = picture.shape[:2]
    upsampled = torch.nn.functional.interpolate(channel_map.float()[None, None], size=(height, width),
                                                mode="bilinear", align_corners=False)[0, 0]
    heat = colourise(upsampled.numpy()).astype(np.float32)
    blended = (1 - opacity) * picture.astype(np.float32) + opacity * heat
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8))


def kernel_grid(kernels: torch.Tensor, zoom: int = 6, columns: int = 16) -> Image.Image:
    """[N, k, k, 3] RGB kernels in [0, 1] as one tiled picture, each enlarged `zoom` times."""
    n, k = kernels.shape[0], kernels.shape[1]
    tile = k * zoom
    rows = math.ceil(n / columns)
    canvas = np.full((rows * (tile + GAP), columns * (tile + GAP), 3), 255, np.uint8)
    pixels = np.rint(kernels.numpy() * 255).astype(np.uint8).repeat(zoom, 1).repeat(zoom, 2)
    for i in range(n):
        top, left = (i // columns) * (tile + GAP), (i % columns) * (tile + GAP)
        canvas[top:top + tile, left:left + tile] = pixels[i]
    return Image.fromarray(canvas)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


# ---------------------------------------------------------------- interactive plotly views

def channel_heatmap(channel_map: torch.Tensor, title: str) -> go.Figure:
    figure = go.Figure(go.Heatmap(z=channel_map.float().numpy(), colorscale="Viridis",
                                  hovertemplate="row %{y}, col %{x}: %{z:.4g}<extra></extra>"))
    figure.update_layout(title=title, height=420, margin=dict(l=10, r=10, t=40, b=10))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_xaxes(constrain="domain")
    return figure


def vector_strip(values: torch.Tensor, title: str) -> go.Figure:
    """A feature vector (fc output) as bars over its indices."""
    vector = values.float().numpy()
    figure = go.Figure(go.Bar(x=np.arange(len(vector)), y=vector, marker_color="#4c78a8",
                              marker_line_width=0, hovertemplate="unit %{x}: %{y:.4g}<extra></extra>"))
    figure.update_layout(title=title, height=300, bargap=0, xaxis_title="unit", yaxis_title="value",
                         margin=dict(l=10, r=10, t=40, b=10))
    return figure


def tap_stats_figure(stats: Sequence["TapStats"]) -> go.Figure:
    """Mean/std, sparsity, and channels vs spatial size over the network's depth."""
    names = [s.name for s in stats]
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=("mean and std of the output",
                                           "fraction of zeros (sparsity)",
                                           "channels (bars) and spatial size (line)"),
                           specs=[[{}], [{}], [{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=names, y=[s.mean for s in stats], name="mean", mode="lines+markers"), 1, 1)
    figure.add_trace(go.Scatter(x=names, y=[s.std for s in stats], name="std", mode="lines+markers"), 1, 1)
    figure.add_trace(go.Bar(x=names, y=[s.zeros for s in stats], name="zeros", marker_color="#e45756"), 2, 1)
    figure.add_trace(go.Bar(x=names, y=[s.channels for s in stats], name="channels",
                            marker_color="#72b7b2"), 3, 1)
    figure.add_trace(go.Scatter(x=names, y=[s.height for s in stats], name="height = width",
                                mode="lines+markers", line_color="#f58518"), 3, 1, secondary_y=True)
    figure.update_yaxes(range=[0, 1], tickformat=".0%", row=2, col=1)
    figure.update_layout(height=720, margin=dict(l=10, r=10, t=40, b=10), legend_orientation="h")
    return figure
