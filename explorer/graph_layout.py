"""Where each box of a `graph.LevelGraph` goes: laid out by Graphviz's `dot`.

Written by hand around `dot` rather than drawn by a general plotting layout because a network is
a layered DAG, which is what `dot` is built for: ranks from the input down, branches side by side,
merges where the branches meet, edges routed around boxes, and nested clusters (ResNet's layer1 ⊃
layer1.0 ⊃ its convolutions) kept together. The graph is sent to `dot` once per (network, level,
opened blocks) and its JSON output read back into points; `figures.network_graph_figure` draws
those with plotly (live colours, hover, a click), and `export` returns dot's own SVG or PNG.

Sizes are in points with y pointing down; `dot` measures each label in `FONT` at `FONT_PT`, so a
drawing at one pixel per point shows 12 px text that fits its box. Labels are in the reader's
language, so a layout is made (and kept) per language.
"""
from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

import graphviz

from .graph import Box, LevelGraph
from .i18n import t
from .notation import human_count

FONT = "DejaVu Sans"  # a font Debian installs with Graphviz; the browser draws the labels in it too
FONT_PT = 12
BEZIER_STEPS = 8  # points per cubic segment of an edge: smooth at any zoom a person uses
LAYOUT_SECONDS = 30


class LayoutMissing(RuntimeError):
    """No layout: Graphviz's `dot` is not installed, or it ran out of time."""


@dataclass(frozen=True)
class Placed:
    width: float
    height: float
    boxes: dict[str, tuple[float, float, float, float]]  # box id -> (centre x, centre y, width, height)
    frames: tuple[tuple[str, str, float, float, float, float], ...]  # (path, name, x0, y0, x1, y1), outermost first
    edges: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...]  # (from, to, the line's points)


def shape_text(box: Box) -> str:
    """A box's output shape as the graph shows it: "64×56×56"."""
    return "×".join(map(str, box.shape))


def ink_on(fill: str) -> str:
    """Black or white text, whichever reads on a "#rrggbb" fill (Viridis runs from near black to yellow)."""
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "#000000"


def box_text(box: Box) -> str:
    """The two lines a box shows: its label, then its output shape and parameters."""
    details = [shape_text(box)] + ([t("graph.params", count=human_count(box.params))] if box.params else [])
    return f"{box.label}\n{' · '.join(part for part in details if part)}"


def digraph(found: LevelGraph, fills: dict[str, str] | None = None) -> graphviz.Digraph:
    """The graph as dot source: boxes top to bottom in forward order, clusters nested as the
    modules nest; `fills` (box id -> colour) colours the boxes of an export."""
    fills = fills or {}
    # ordering: a fork's branches left to right in forward order (Inception's 1×1 branch first)
    dot = graphviz.Digraph(found.key, graph_attr=dict(rankdir="TB", nodesep="0.25", ranksep="0.3", ordering="out",
                                                      fontname=FONT, fontsize=str(FONT_PT)),
                           node_attr=dict(shape="box", style="rounded,filled", fontname=FONT,
                                          fontsize=str(FONT_PT), margin="0.08,0.04", fillcolor="white"),
                           edge_attr=dict(arrowsize="0.6", color="#888888"))
    ids = {box.id: f"n{index}" for index, box in enumerate(found.boxes)}
    inner = {}  # box id -> the innermost cluster that holds it
    for position, (_, _, members) in enumerate(found.clusters):  # outermost first: the last one wins
        for member in members:
            inner[member] = position
    children: dict[int | None, list[int]] = {}
    for position, (path, _, _) in enumerate(found.clusters):
        holders = [p for p, (other, _, _) in enumerate(found.clusters[:position]) if path.startswith(other + ".")]
        children.setdefault(holders[-1] if holders else None, []).append(position)

    def fill(graph: graphviz.Digraph, cluster: int | None) -> None:
        for box in found.boxes:
            if inner.get(box.id) == cluster:
                merge = box.module is None and not box.expandable
                fill_colour = fills.get(box.id, "#eeeeee" if merge else "#ffffff")
                graph.node(ids[box.id], box_text(box), fillcolor=fill_colour, fontcolor=ink_on(fill_colour),
                           shape="ellipse" if merge else "box")
        for position in reversed(children.get(cluster, [])):  # dot lays sibling frames out right to left
            path, name, _ = found.clusters[position]
            with graph.subgraph(name=f"cluster_{position}") as frame:
                frame.attr(label=name, labeljust="l", style="rounded", color="#aaaaaa", tooltip=path)
                fill(frame, position)

    fill(dot, None)
    for source, target in found.edges:
        dot.edge(ids[source], ids[target])
    by_id = {box.id: box for box in found.boxes}
    forks: dict[str, list[str]] = {}
    for source, target in found.edges:
        if by_id[target].module is not None or by_id[target].expandable:  # not into a merge
            forks.setdefault(source, []).append(target)
    branching = [targets for targets in forks.values() if len(targets) > 1]
    if branching:  # ranks counted across frames, so branches framed apart can share one (newrank is
        dot.attr(newrank="true")  # slow on DenseNet's thousand edges, which never branch into modules)
    for targets in branching:  # branches begin side by side (dot alone would sink the short ones)
        with dot.subgraph() as rank:
            rank.attr(rank="same")
            for target in targets:
                rank.node(ids[target])
    return dot


def _bezier(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """dot's edge spline (a start point, then three points per cubic segment) as a polyline."""
    line = [points[0]]
    for start in range(0, len(points) - 3, 3):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = points[start:start + 4]
        for step in range(1, BEZIER_STEPS + 1):
            t = step / BEZIER_STEPS
            a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3
            line.append((a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3))
    return line


def _pipe(dot: graphviz.Digraph, fmt: str) -> bytes:
    """dot's output for the graph, run here rather than through `Digraph.pipe`, which has no time
    limit: a network someone names can be large enough for dot to take minutes."""
    try:
        done = subprocess.run(["dot", f"-T{fmt}"], input=dot.source.encode(), capture_output=True,
                              timeout=LAYOUT_SECONDS, check=True)
    except FileNotFoundError as error:
        raise LayoutMissing(t("graph.no_dot")) from error
    except subprocess.TimeoutExpired as error:
        raise LayoutMissing(t("graph.dot_too_slow", seconds=LAYOUT_SECONDS)) from error
    return done.stdout


def place(found: LevelGraph) -> Placed:
    """Run `dot` on the graph and read back where it put every box, frame and edge."""
    laid = json.loads(_pipe(digraph(found), "json0"))
    x0, y0, x1, y1 = map(float, laid["bb"].split(","))

    def point(text: str) -> tuple[float, float]:
        x, y = map(float, text.split(",")[-2:])
        return x - x0, y1 - y  # y down from the top

    by_dot_name = {f"n{index}": box.id for index, box in enumerate(found.boxes)}
    objects = laid.get("objects", [])
    boxes, frames = {}, []
    for item in objects:
        if item["name"] in by_dot_name:
            x, y = point(item["pos"])
            boxes[by_dot_name[item["name"]]] = (x, y, float(item["width"]) * 72, float(item["height"]) * 72)
        elif item["name"].startswith("cluster_"):
            path, name, _ = found.clusters[int(item["name"].removeprefix("cluster_"))]
            left, bottom, right, top = map(float, item["bb"].split(","))
            frames.append((path, name, left - x0, y1 - top, right - x0, y1 - bottom))
    edges = []
    for edge in laid.get("edges", []):
        parts = edge["pos"].split()
        arrow = [point(part[2:]) for part in parts if part.startswith("e,")]
        spline = [point(part) for part in parts if not part.startswith(("e,", "s,"))]
        edges.append((by_dot_name[objects[edge["tail"]]["name"]], by_dot_name[objects[edge["head"]]["name"]],
                      tuple(_bezier(spline) + arrow)))
    frames.sort(key=lambda frame: frame[0].count("."))
    return Placed(x1 - x0, y1 - y0, boxes, tuple(frames), tuple(edges))


def export(found: LevelGraph, fmt: str, fills: dict[str, str] | None = None) -> bytes:
    """dot's own drawing of the graph, as "svg" or "png" (150 dpi)."""
    dot = digraph(found, fills)
    if fmt == "png":
        dot.attr(dpi="150")
    return _pipe(dot, fmt)
