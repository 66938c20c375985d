"""Plotly figures built from results. Pure: data in, figure out; no streamlit here."""
from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image, ImageDraw
from plotly.colors import qualitative, sample_colorscale
from plotly.subplots import make_subplots

from .i18n import t
from .inference import Prediction
from .notation import human_count, power_of_ten, readable, scientific

if TYPE_CHECKING:
    from .graph import LevelGraph
    from .graph_layout import Placed
    from .activations import TapStats
    from .compare import Row
    from .costs import ModuleNode, Shares, WeightLayer
    from .gradflow import BlockSplit, TrainStep
    from .inception import Module

# The house style. Colours: Tableau 10, plotly's T10 (colour-blind safe, and what the legends name).
BLUE, ORANGE, RED, TEAL, GREEN, _YELLOW, PURPLE, PINK, _BROWN, GREY = (colour.lower() for colour in qualitative.T10)
# Layout: a plotly Template, written into each figure's own layout by `_styled` rather than set as
# its template, which Streamlit's chart theme owns (its browser code recolours that template).
HOUSE = go.layout.Template(layout=dict(margin=dict(l=10, r=10, t=40, b=10)))


def _styled(figure: go.Figure, **layout: object) -> None:
    """The house layout, then the figure's own (`margin_t=90` changes one side)."""
    figure.update_layout(HOUSE.layout.to_plotly_json())
    figure.update_layout(**layout)


def log_ticks(values: Sequence[float], label: Callable[[float], str]) -> dict:
    """Ticks for a log axis at 1, 2 and 5 × 10ᵏ across `values` (1 and 3 past two decades, powers
    of ten alone past three), each labelled in full by `label`. Plotly labels a short log axis's minor ticks with
    their first digit only ("2 3 4 5" above 1000), which a reader cannot place."""
    low, high = min(values), max(values)
    decades = range(math.floor(math.log10(low)), math.floor(math.log10(high)) + 2)
    span = math.log10(high / low)  # 1-2-5 over more than ~2 decades crowds a small chart
    steps = (1, 2, 5) if span <= 2 else (1, 3) if span <= 3 else (1,)
    ticks = [step * 10 ** decade for decade in decades for step in steps]
    inside = [tick for tick in ticks if low / 2 <= tick <= high * 2]
    return dict(tickvals=inside, ticktext=[label(tick) for tick in inside])


def log_axis(values: Sequence[float]) -> dict:
    """A log axis over `values` with every tick labelled in full (`log_ticks`, `scientific`);
    zeros and non-finite values, which a log axis cannot show, are left out of the range."""
    shown = [value for value in values if value > 0 and math.isfinite(value)]
    return dict(type="log", **(log_ticks(shown, scientific) if shown else {}))


def top_k_bar(predictions: Sequence[Prediction], title: str | None = None) -> go.Figure:
    """Horizontal bars, best class on top, probabilities in percent."""
    ordered = list(reversed(predictions))
    figure = go.Figure(go.Bar(
        x=[p.prob * 100 for p in ordered], y=[f"{p.label} ({p.index})" for p in ordered],
        orientation="h", text=[f"{p.prob:.1%}" for p in ordered], textposition="auto",
        marker_color=BLUE, hovertemplate="%{y}: %{x:.2f} %<extra></extra>"))
    _styled(figure, title=title or t("figures.top5"), xaxis_title=t("figures.probability"), height=300, xaxis_range=[0, 100])
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


def colour_strip(width: int = 256, height: int = 14) -> Image.Image:
    """The overlays' colour scale, low (left) to high (right), to show under them."""
    ramp = VIRIDIS[np.rint(np.linspace(0, 255, width)).astype(np.uint8)]
    return Image.fromarray(np.repeat(ramp[None], height, axis=0))


def overlay(picture: np.ndarray, channel_map: torch.Tensor | np.ndarray, opacity: float) -> Image.Image:
    """A map (a channel, an attribution) upsampled to the input's size and blended over it."""
    height, width = picture.shape[:2]
    upsampled = torch.nn.functional.interpolate(torch.as_tensor(channel_map).float()[None, None], size=(height, width),
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


def png_bytes(image: Image.Image | np.ndarray) -> bytes:
    """PNG at zlib level 1: half the encoding time of the default for ~15 % more bytes."""
    buffer = io.BytesIO()
    (Image.fromarray(image) if isinstance(image, np.ndarray) else image).save(buffer, format="PNG", optimize=False,
                                                                             compress_level=1)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image | np.ndarray, quality: int = 90) -> bytes:
    """JPEG as Streamlit encodes a picture without transparency (quality 90)."""
    buffer = io.BytesIO()
    (Image.fromarray(image) if isinstance(image, np.ndarray) else image).convert("RGB").save(
        buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# ---------------------------------------------------------------- interactive plotly views

def channel_heatmap(channel_map: torch.Tensor, title: str) -> go.Figure:
    figure = go.Figure(go.Heatmap(z=channel_map.float().numpy(), colorscale="Viridis",
                                  colorbar=dict(exponentformat="power"), hovertemplate=t("figures.heat_hover")))
    _styled(figure, title=title, height=420)
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_xaxes(constrain="domain")
    return figure


def vector_strip(values: torch.Tensor, title: str) -> go.Figure:
    """A feature vector (fc output) as bars over its indices."""
    vector = values.float().numpy()
    figure = go.Figure(go.Bar(x=np.arange(len(vector)), y=vector, marker_color=BLUE,
                              marker_line_width=0, hovertemplate=t("figures.unit_hover")))
    _styled(figure, title=title, height=300, bargap=0, xaxis_title=t("figures.unit"), yaxis_title=t("figures.value"))
    return figure


def tap_stats_figure(stats: Sequence["TapStats"]) -> go.Figure:
    """Mean/std, sparsity, and channels vs spatial size over the network's depth."""
    names = [s.name for s in stats]
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=(t("figures.stats_mean_std"), t("figures.stats_zeros"),
                                           t("figures.stats_sizes")),
                           specs=[[{}], [{}], [{"secondary_y": True}]])
    figure.add_trace(go.Scatter(x=names, y=[s.mean for s in stats], name=t("figures.mean"), mode="lines+markers"), 1, 1)
    figure.add_trace(go.Scatter(x=names, y=[s.std for s in stats], name=t("figures.std"), mode="lines+markers"), 1, 1)
    figure.add_trace(go.Bar(x=names, y=[s.zeros for s in stats], name=t("figures.zeros"), marker_color=RED), 2, 1)
    figure.add_trace(go.Bar(x=names, y=[s.channels for s in stats], name=t("figures.channels"),
                            marker_color=TEAL), 3, 1)
    figure.add_trace(go.Scatter(x=names, y=[s.height for s in stats], name=t("figures.height_width"),
                                mode="lines+markers", line_color=ORANGE), 3, 1, secondary_y=True)
    figure.update_yaxes(range=[0, 1], tickformat=".0%", row=2, col=1)
    # its own round ticks (synced to the channel axis it read 13.7, 27.5, 41.2 for a 55-pixel map)
    figure.update_yaxes(rangemode="tozero", tickmode="auto", showgrid=False, row=3, col=1, secondary_y=True)
    figure.update_xaxes(tickangle=-90, row=3, col=1)  # upright, a network's ~20 tap names overlap at 45°
    # the legend on top: below, it would sit on the upright tap names
    _styled(figure, height=760, margin_t=90,
                         legend=LEGEND_ON_TOP | dict(y=1.07))  # above the first subplot's title
    return figure


# ---------------------------------------------------------------- costs

KIND_COLOURS = {"conv": BLUE, "fc": RED, "other": GREY}  # the legend "figures.layer_colours"


def layer_label(path: str, names: dict[str, str]) -> str:
    """A layer named as the tables name it: its tap's name ("stage3.0"), or, inside a tap, the tap's
    name and the rest of the path ("stage3.0 · conv_dw"); the module path where no tap holds it."""
    holders = [module for module in names if path == module or path.startswith(module + ".")]
    if not holders:
        return path
    holder = max(holders, key=len)
    return names[holder] if holder == path else f"{names[holder]} · {path[len(holder) + 1:]}"


def layer_costs_figure(layers: Sequence["WeightLayer"], names: dict[str, str]) -> go.Figure:
    """Parameters and MACs per weight layer, side by side: where weights vs compute live."""
    labels = [layer_label(layer.module, names) for layer in layers]
    colours = [KIND_COLOURS[layer.kind] for layer in layers]
    figure = make_subplots(rows=1, cols=2, subplot_titles=(t("figures.parameters"), "MACs"),
                           horizontal_spacing=0.08)
    figure.add_trace(go.Bar(x=labels, y=[l.params for l in layers], marker_color=colours, name="params",
                            hovertemplate="%{x}: %{y:,}<extra></extra>"), 1, 1)
    figure.add_trace(go.Bar(x=labels, y=[l.macs for l in layers], marker_color=colours, name="MACs",
                            hovertemplate="%{x}: %{y:,}<extra></extra>"), 1, 2)
    _styled(figure, height=400, showlegend=False, margin_t=80,
                         title=dict(text=t("figures.layer_colours"), y=0.98, yanchor="top"))
    return figure


def _largest(shares: dict[str, int]) -> str:
    return max(shares, key=shares.get) if any(shares.values()) else "other"


def module_treemap(nodes: Sequence["ModuleNode"], by: str, root_label: str,
                   names: dict[str, str] | None = None) -> go.Figure:
    """The module hierarchy sized by `by`; a tile is labelled with its tap name where it has one
    (fc6 rather than classifier.1) and its share of the network, and coloured as the layer charts
    are: by the kind of layer (convolution, fully connected, other) that holds most of it."""
    names = names or {}
    values = [getattr(node, by) for node in nodes]
    by_kind = {node.path: dict.fromkeys(KIND_COLOURS, 0) for node in nodes}  # what the leaves below hold
    for node in nodes:
        if node.kind is not None:
            path = node.path
            while True:  # the leaf, each module around it, and the whole network ("")
                if path in by_kind:
                    by_kind[path][node.kind] += getattr(node, by)
                if not path:
                    break
                path = path.rpartition(".")[0]
    figure = go.Figure(go.Treemap(
        ids=[node.path or root_label for node in nodes],
        parents=["" if node.parent is None else (node.parent or root_label) for node in nodes],
        labels=[names.get(node.path) or node.path.rpartition(".")[2] or root_label for node in nodes],
        marker_colors=[KIND_COLOURS[_largest(by_kind[node.path])] for node in nodes],
        values=values, branchvalues="total", maxdepth=3, textinfo="label+percent root",
        hovertemplate=t("figures.treemap_hover", by=t(f"figures.by.{by}"))))
    _styled(figure, height=460, margin=dict(l=0, r=0, t=30, b=0),
                         title=t("figures.treemap_title", by=t(f"figures.by.{by}")))
    return figure


def cumulative_share_figure(layers: Sequence["WeightLayer"], names: dict[str, str]) -> go.Figure:
    labels = [layer_label(layer.module, names) for layer in layers]
    figure = go.Figure()
    for attribute, label in (("params", t("figures.parameters")), ("macs", "MACs")):
        values = np.cumsum([getattr(layer, attribute) for layer in layers], dtype=np.float64)
        figure.add_trace(go.Scatter(x=labels, y=values / max(values[-1], 1), name=label, mode="lines+markers"))
    _styled(figure, height=340, yaxis_tickformat=".0%", yaxis_range=[0, 1.02],
                         title=t("figures.cumulative"))
    return figure


def shares_figure(shares: "Shares") -> go.Figure:
    """Conv vs fully connected vs other, as one stacked bar for parameters and one for MACs."""
    params = shares.conv_params + shares.fc_params + shares.other_params
    macs = max(shares.conv_macs + shares.fc_macs, 1)
    figure = go.Figure()
    for label, values, colour in ((t("figures.convolution"), (shares.conv_params / params, shares.conv_macs / macs),
                                   KIND_COLOURS["conv"]),
                                  (t("figures.fully_connected"), (shares.fc_params / params, shares.fc_macs / macs),
                                   KIND_COLOURS["fc"]),
                                  (t("figures.other"), (shares.other_params / params, 0.0), KIND_COLOURS["other"])):
        figure.add_trace(go.Bar(y=[t("figures.parameters"), "MACs"], x=values, name=label, orientation="h",
                                marker_color=colour, text=[f"{v:.1%}" for v in values], textposition="inside"))
    _styled(figure, barmode="stack", height=240, xaxis_tickformat=".0%", xaxis_range=[0, 1],
                         margin_t=50,
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return figure


def receptive_field_box(picture: np.ndarray, rf: int, jump: int, start: float, map_size: int) -> Image.Image:
    """The input with the receptive field of the map's centre unit drawn as a square."""
    centre = start + (map_size - 1) // 2 * jump
    half = rf / 2
    image = Image.fromarray(picture).copy()
    draw = ImageDraw.Draw(image)
    box = [centre - half, centre - half, centre + half, centre + half]
    draw.rectangle(box, outline=(255, 60, 60), width=3)
    draw.ellipse([centre - 3, centre - 3, centre + 3, centre + 3], fill=(255, 60, 60))
    return image


# ---------------------------------------------------------------- inception

LEGEND_ON_TOP = dict(orientation="h", yanchor="bottom", y=1.02, x=0)
BRANCH_COLOURS = [BLUE, ORANGE, GREEN, RED, TEAL, PURPLE, PINK]
# Inception-v3/v4 have up to 12 kinds of branch: each its own colour in the energy chart
ALL_BRANCH_COLOURS = BRANCH_COLOURS + [c for c in qualitative.Dark24 if c not in BRANCH_COLOURS]


def inception_schematic(module: "Module") -> go.Figure:
    """Input on top, one column per branch with its layers, the concatenation below."""
    figure = go.Figure()
    columns = len(module.branches)
    depth = max(len(b.steps) for b in module.branches)

    def box(x0, x1, y, text, colour):
        figure.add_shape(type="rect", x0=x0, x1=x1, y0=y - 0.38, y1=y + 0.38, line_color=colour,
                         fillcolor=colour, opacity=0.25)
        figure.add_annotation(x=(x0 + x1) / 2, y=y, text=text, showarrow=False, font=dict(size=12, color="#222"))

    box(0, columns, depth + 1, t("figures.schematic_input", shape=f"{module.in_channels}×{module.in_size[0]}×{module.in_size[1]}"), "#888888")
    for i, branch in enumerate(module.branches):
        colour = BRANCH_COLOURS[i % len(BRANCH_COLOURS)]
        for row, step in enumerate(branch.steps):
            box(i + 0.05, i + 0.95, depth - row, str(step).replace(", ", "<br>").replace("，", "<br>"), colour)
        box(i + 0.05, i + 0.95, 0, f"<b>{branch.label}</b><br>{branch.channels}×{branch.size[0]}×{branch.size[1]}",
            colour)
    box(0, columns, -1, t("figures.schematic_concat", shape=f"{module.channels}×{module.size[0]}×{module.size[1]}"), "#888888")
    figure.update_xaxes(visible=False, range=[-0.05, columns + 0.05])
    figure.update_yaxes(visible=False, range=[-1.6, depth + 1.6])
    _styled(figure, height=120 + 80 * (depth + 3), margin=dict(l=0, r=0, t=30, b=0),
                         title=t("figures.schematic_title", module=module.tap.name), plot_bgcolor="white")
    return figure


def branch_energy_figure(rows: Sequence[tuple[str, dict[str, float]]]) -> go.Figure:
    """Which branch 'talks loudest' in each module: shares of activation energy, stacked."""
    labels = list(dict.fromkeys(label for _, shares in rows for label in shares))
    figure = go.Figure()
    for i, label in enumerate(labels):
        figure.add_trace(go.Bar(x=[name for name, _ in rows], y=[shares.get(label, 0.0) for _, shares in rows],
                                name=label, marker_color=ALL_BRANCH_COLOURS[i % len(ALL_BRANCH_COLOURS)]))
    _styled(figure, barmode="stack", height=360, yaxis_tickformat=".0%", yaxis_range=[0, 1],
                         title=t("figures.branch_energy"), legend_orientation="h")
    return figure


def optimisation_curves(series: dict[str, Sequence[float]], title: str, y_title: str) -> go.Figure:
    """The objective at every optimisation step, one line per picture."""
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        figure.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=list(values), name=name, mode="lines",
                                    line_color=ALL_BRANCH_COLOURS[index % len(ALL_BRANCH_COLOURS)]))
    _styled(figure, title=title, height=320, xaxis_title=t("figures.step_axis"), yaxis_title=y_title,
                         margin_t=70, legend=LEGEND_ON_TOP)
    return figure


GRAPH_VIEW_PX = 2400  # the tallest the network graph is drawn: the rest is a pan away
GRAPH_COLOUR_BY = ("macs", "params", "size")


def graph_values(found: "LevelGraph", by: str) -> dict[str, float]:
    """What colours each box: its MACs, parameters or output size (numbers per image)."""
    return {box.id: float(math.prod(box.shape)) if by == "size" else float(getattr(box, by)) for box in found.boxes}


def graph_fills(found: "LevelGraph", by: str) -> dict[str, str]:
    """Each box's colour on a log scale of `graph_values` (Viridis, as the legend); merges grey.
    "#rrggbb", what dot and plotly both read; the scale is sampled once for all boxes (sampling
    it box by box took a tenth of a second per run)."""
    values = graph_values(found, by)
    top = math.log10(max(values.values(), default=0) + 1) or 1
    coloured = [box.id for box in found.boxes if box.module is not None or box.expandable]
    shares = [math.log10(values[box_id] + 1) / top for box_id in coloured]
    sampled = sample_colorscale("Viridis", shares, colortype="tuple") if shares else []
    fills = {box_id: "#" + "".join(f"{round(part * 255):02x}" for part in colour) for box_id, colour in zip(coloured, sampled)}
    return {box.id: fills.get(box.id, "#e6e6e6") for box in found.boxes}


def network_graph_figure(found: "LevelGraph", placed: "Placed", by: str = "macs", focus: str | None = None) -> go.Figure:
    """The network as dot laid it out (`graph_layout.place`), at one pixel per point, so every
    label is 12 px and fits its box; a graph taller or wider than the view is a pan or a scroll
    wheel away (zooming out shows it whole). Boxes are coloured by `graph_fills` with its legend;
    frames are the blocks; `focus` (a box id) is outlined in red and the view centred on it. Each
    box's centre is a point whose customdata is [box id, its module or ""] for a click."""
    from .graph_layout import FONT, FONT_PT, box_text, ink_on

    fills, values = graph_fills(found, by), graph_values(found, by)
    view_h = min(placed.height, GRAPH_VIEW_PX)
    shapes = [dict(type="rect", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color="#aaaaaa", width=1), layer="below",
                   fillcolor="rgba(0,0,0,0)") for _, _, x0, y0, x1, y1 in placed.frames]
    frame_labels = [dict(x=x0 + 6, y=y0 + 4, text=name, showarrow=False, xanchor="left", yanchor="top",
                         font=dict(size=FONT_PT, family=FONT, color="#555555")) for _, name, x0, y0, _, _ in placed.frames]
    for box in found.boxes:
        x, y, w, h = placed.boxes[box.id]
        merge = box.module is None and not box.expandable
        shapes.append(dict(type="circle" if merge else "rect", x0=x - w / 2, y0=y - h / 2, x1=x + w / 2, y1=y + h / 2,
                           fillcolor=fills[box.id], layer="below",
                           line=dict(color=RED if box.id == focus else "#444444", width=3 if box.id == focus else 1)))
    edge_x, edge_y = [], []
    for _, _, line in placed.edges:
        edge_x += [x for x, _ in line] + [None]
        edge_y += [y for _, y in line] + [None]
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=edge_x, y=edge_y, mode="lines", line=dict(color="#888888", width=1.2),
                                hoverinfo="skip", showlegend=False))
    boxes = found.boxes
    centres = [placed.boxes[box.id] for box in boxes]
    figure.add_trace(go.Scatter(
        x=[c[0] for c in centres], y=[c[1] for c in centres], mode="markers+text",
        text=[box_text(box).replace("\n", "<br>") for box in boxes],
        textfont=dict(size=FONT_PT, family=FONT,
                      color=[ink_on(fills[box.id]) for box in boxes]),
        marker=dict(symbol="square", size=[max(8, min(c[2], c[3])) for c in centres], opacity=0.01,
                    color=[math.log10(values[box.id] + 1) for box in boxes], colorscale="Viridis", cmin=0,
                    showscale=True, colorbar=dict(title=dict(text=t(f"figures.graph_colour.{by}")), thickness=14,
                                                  lenmode="pixels", len=min(320, view_h), yanchor="top", y=1,
                                                  tickvals=list(range(0, 12)),
                                                  ticktext=[power_of_ten(v) for v in range(0, 12)])),
        customdata=[[box.id, box.module or "", box.label, box.kind, " × ".join(map(str, box.shape)), box.params,
                     box.macs] for box in boxes],
        hovertemplate=t("figures.graph_hover"), showlegend=False))
    centre_x, top = placed.width / 2, 0.0
    if focus in placed.boxes:
        centre_x = placed.boxes[focus][0]
        top = min(max(0.0, placed.boxes[focus][1] - view_h / 2), max(0.0, placed.height - view_h))
    margin = 20
    _styled(figure, height=int(view_h) + 2 * margin, margin=dict(l=0, r=0, t=margin, b=margin),
            shapes=shapes, annotations=frame_labels, dragmode="pan", clickmode="event+select", plot_bgcolor="white",
            # a narrow x range: the height sets the scale (one pixel per point), and plotly widens
            # the x range to the chart's width, whatever the screen
            xaxis=dict(visible=False, range=[centre_x - 100, centre_x + 100], constrain="range"),
            yaxis=dict(visible=False, range=[top + view_h, top], scaleanchor="x", scaleratio=1, constrain="range"))
    return figure


# ---------------------------------------------------------------- gradient flow

PAIR_COLOURS = {"residual": BLUE, "plain": RED}


def depth_profile_figure(series: dict[str, tuple[Sequence[str], Sequence[float]]], title: str,
                         y_title: str, log: bool = True, colours: Sequence[str] = ()) -> go.Figure:
    """One line per network over its layers in forward order (x: position along the depth)."""
    figure = go.Figure()
    for index, (name, (labels, values)) in enumerate(series.items()):
        figure.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=list(values), name=name,
                                    mode="lines+markers", text=list(labels),
                                    line_color=colours[index] if index < len(colours) else None,
                                    hovertemplate="%{text}: %{y:.3g}<extra>" + name + "</extra>"))
    _styled(figure, title=title, height=360, xaxis_title=t("figures.depth_axis"), yaxis_title=y_title,
                         margin_t=70, legend=LEGEND_ON_TOP)
    if log:
        figure.update_yaxes(**log_axis([value for _, values in series.values() for value in values]))
    return figure


def split_figure(splits: Sequence["BlockSplit"]) -> go.Figure:
    names = [s.block for s in splits]
    figure = go.Figure([
        go.Bar(x=names, y=[s.through_shortcut for s in splits], name=t("figures.through_shortcut"),
               marker_color=BLUE),
        go.Bar(x=names, y=[s.through_residual for s in splits], name=t("figures.through_residual"),
               marker_color=ORANGE)])
    figure.update_yaxes(**log_axis([value for s in splits for value in (s.through_shortcut, s.through_residual)]))
    _styled(figure, barmode="group", height=340, title=t("figures.split_title"),
                         margin_t=70, legend=LEGEND_ON_TOP)
    return figure


def training_figure(steps: Sequence["TrainStep"]) -> go.Figure:
    figure = make_subplots(rows=1, cols=3, subplot_titles=(t("figures.training_loss"), t("figures.first_conv_grad"),
                                                           t("figures.last_conv_grad")))
    x = [s.step for s in steps]
    for name, colour in PAIR_COLOURS.items():
        figure.add_trace(go.Scatter(x=x, y=[s.loss[name] for s in steps], name=t(f"figures.{name}"),
                                    line_color=colour), 1, 1)
        for column, index in ((2, 0), (3, -1)):
            figure.add_trace(go.Scatter(x=x, y=[s.conv_grad[name][index] for s in steps], name=t(f"figures.{name}"),
                                        line_color=colour, showlegend=False), 1, column)
    for column, index in ((2, 0), (3, -1)):
        figure.update_yaxes(**log_axis([s.conv_grad[name][index] for s in steps for name in PAIR_COLOURS]), col=column)
    _styled(figure, height=320, legend_orientation="h")
    return figure


# ---------------------------------------------------------------- comparison

PROTOCOL_SYMBOLS = {"torchvision_v1": "circle", "paper_1crop": "square", "release_1crop": "diamond",
                    "torchvision_v2": "triangle-up", "paper_10crop": "star"}


_LABEL_PLACES = ("top center", "bottom center", "middle right", "middle left", "top right", "top left",
                 "bottom right", "bottom left")


def label_places(xs: Sequence[float], ys: Sequence[float], names: Sequence[str], diameters: Sequence[float],
                 log_x: bool = False, log_y: bool = False, width: float = 420, height: float = 330,
                 char_px: float = 7.0, line_px: float = 16.0) -> list[str]:
    """A textposition per point so that no two labels overlap, placed greedily (biggest marker
    first) in a plot area of width × height pixels (the narrowest the page gives the chart; wider
    only spreads the points). Labels are char_px per character and line_px tall."""
    px_x, px_y = (np.log10(np.asarray(v, float)) if log else np.asarray(v, float)
                  for v, log in ((xs, log_x), (ys, log_y)))
    span = lambda v: (v.min(), max(v.max() - v.min(), 1e-12))
    (x0, dx), (y0, dy) = span(px_x), span(px_y)
    px_x, px_y = (px_x - x0) / dx * width, (1 - (px_y - y0) / dy) * height  # screen: y grows downwards
    placed: list[tuple[float, float, float, float]] = [
        (x - d / 2, y - d / 2, x + d / 2, y + d / 2) for x, y, d in zip(px_x, px_y, diameters)]  # the markers

    def box(index: int, place: str) -> tuple[float, float, float, float]:
        x, y, r = px_x[index], px_y[index], diameters[index] / 2 + 2
        w = char_px * len(names[index])
        vertical, horizontal = place.split()
        top = {"top": y - r - line_px, "middle": y - line_px / 2, "bottom": y + r}[vertical]
        left = {"center": x - w / 2, "right": x + (r if vertical == "middle" else 0),
                "left": x - w - (r if vertical == "middle" else 0)}[horizontal]
        return left, top, left + w, top + line_px

    def clashes(candidate, index: int) -> int:
        outside = candidate[0] < 0 or candidate[2] > width or candidate[1] < 0 or candidate[3] > height  # over the axes
        return outside + sum(min(candidate[2], other[2]) > max(candidate[0], other[0]) and
                   min(candidate[3], other[3]) > max(candidate[1], other[1])
                   for n, other in enumerate(placed) if n != index)

    places = [_LABEL_PLACES[0]] * len(names)
    for index in sorted(range(len(names)), key=lambda i: -diameters[i]):
        best = min(_LABEL_PLACES, key=lambda place: (clashes(box(index, place), index), _LABEL_PLACES.index(place)))
        places[index] = best
        placed.append(box(index, best))
    return places


def accuracy_bubbles(rows: Sequence["Row"]) -> go.Figure:
    """Canziani et al.'s view: top-1 against operations, bubble area proportional to parameters;
    the marker's shape says how the accuracy was measured."""
    shown = [r for r in rows if r.top1 is not None]
    largest = max((r.params for r in shown), default=1)
    sizeref = 2.0 * largest / 60 ** 2
    diameters = [max(math.sqrt(r.params / sizeref), 4) for r in shown]  # plotly's area sizing
    figure = go.Figure(go.Scatter(
        x=[r.macs for r in shown], y=[r.top1 for r in shown], mode="markers+text", text=[r.name for r in shown],
        textposition=label_places([r.macs for r in shown], [r.top1 for r in shown], [r.name for r in shown],
                                  diameters, log_x=True) if shown else "top center",
        customdata=[[r.params, r.top5 or float("nan"), t(f"zoo.protocol.{r.protocol}")] for r in shown],
        marker=dict(size=[r.params for r in shown], sizemode="area", sizeref=sizeref, sizemin=4,
                    symbol=[PROTOCOL_SYMBOLS[r.protocol] for r in shown],
                    color=BLUE, opacity=0.6, line_width=1),
        cliponaxis=False,  # names of the outermost networks stay whole
        hovertemplate=t("figures.bubble_hover")))
    _styled(figure, title=t("figures.bubbles_title"), height=440,
                         xaxis_title=t("figures.macs_log"), yaxis_title=t("figures.published_top1"), xaxis_type="log",
                         margin=dict(l=70, r=70, t=40, b=10))
    if shown:
        figure.update_xaxes(**log_ticks([r.macs for r in shown], lambda value: human_count(value, tick=True)))
    return figure


def accuracy_per_parameter(rows: Sequence["Row"]) -> go.Figure:
    shown = [r for r in rows if r.top1 is not None]
    # horizontal: the names read level however many networks there are
    figure = go.Figure(go.Bar(y=[r.name for r in shown], x=[r.top1 / (r.params / 1e6) for r in shown],
                              orientation="h", marker_color=GREEN, hovertemplate=t("figures.per_param_hover")))
    _styled(figure, title=t("figures.per_param_title"), height=120 + 34 * len(shown), xaxis_type="log",
                         xaxis_dtick=1, yaxis_autorange="reversed")
    return figure


def latency_vs_macs(rows: Sequence["Row"], latencies: dict[str, float], device: str) -> go.Figure:
    shown = [r for r in rows if r.key in latencies]
    xs, ys, names = [r.macs for r in shown], [latencies[r.key] * 1000 for r in shown], [r.name for r in shown]
    figure = go.Figure(go.Scatter(x=xs, y=ys, mode="markers+text", text=names,
                                  textposition=label_places(xs, ys, names, [6] * len(shown), log_x=True, log_y=True,
                                                            width=900) if shown else "top center",
                                  marker_color=ORANGE, cliponaxis=False,
                                  hovertemplate=t("figures.latency_hover")))
    _styled(figure, title=t("figures.latency_title", device=device), height=380, xaxis_type="log",
                         yaxis_type="log", xaxis_title=t("figures.macs_log"), yaxis_title=t("figures.ms_log"),
                         margin=dict(l=70, r=70, t=40, b=10))
    if shown:
        figure.update_xaxes(**log_ticks(xs, lambda value: human_count(value, tick=True)))
        figure.update_yaxes(**log_ticks(ys, readable))
    return figure


def energy_map(maps: torch.Tensor, size: int = 96) -> Image.Image:
    """A [C, H, W] tap as one picture: mean |activation| over channels, viridis, enlarged."""
    mean = maps.float().abs().mean(0)
    return Image.fromarray(colourise(mean.numpy())).resize((size, size), Image.NEAREST)


# ---------------------------------------------------------------- efficient designs

def saving_bars(labels: Sequence[str], ours: Sequence[float], plain: Sequence[float], title: str,
                ours_name: str, plain_name: str) -> go.Figure:
    """Per module, what the efficient design costs beside the plain convolution it replaces."""
    figure = go.Figure([go.Bar(x=list(labels), y=list(plain), name=plain_name, marker_color=GREY),
                        go.Bar(x=list(labels), y=list(ours), name=ours_name, marker_color=BLUE)])
    _styled(figure, title=title, barmode="group", height=340, yaxis_type="log", yaxis_dtick=1,
                         yaxis_exponentformat="power", legend=dict(orientation="h", y=1.12),
                         margin_t=60)
    return figure


def reach_heatmap(reach: torch.Tensor, title: str) -> go.Figure:
    """Which input groups (rows) change which output groups (columns)."""
    groups = [str(g + 1) for g in range(reach.shape[0])]
    figure = go.Figure(go.Heatmap(z=reach.tolist(), x=groups, y=groups, zmin=0, zmax=1, showscale=False,
                                  colorscale=[[0, "#f2f2f2"], [1, BLUE]], xgap=3, ygap=3))
    _styled(figure, title=title, height=280, xaxis_title=t("efficient.output_group"),
                         yaxis_title=t("efficient.input_group"), yaxis_autorange="reversed")
    return figure
