"""The network graph: one node per module call, an edge into every merge from each of its inputs,
shapes and MACs from the meta pass, and a click that opens the layer in Activations."""
import itertools
import math
from collections import Counter

import pytest
import torch
from torch import nn

from explorer import costs, figures, graph, graph_layout, zoo
from harness import apptest


def module_calls(key: str) -> Counter:
    """How often each drawn module (a leaf, or a torch.nn layer a library gave children) runs in one
    real forward pass, counted by hooks, as an independent count."""
    model = zoo.get(key).instantiate()
    calls = Counter()
    drawn = [path for path, m in model.named_modules() if path and (isinstance(m, graph.LAYERS) or not any(m.children()))]
    drawn = [path for path in drawn if not any(path.startswith(other + ".") for other in drawn)]
    handles = [model.get_submodule(path).register_forward_pre_hook(lambda _m, _a, path=path: calls.update([path]))
               for path in drawn]
    with torch.no_grad():
        model(torch.zeros(1, *zoo.get(key).input_size))
    for handle in handles:
        handle.remove()
    return calls


def torchview_graph(key: str) -> tuple[Counter, int]:
    """torchview's trace of the network (an independent tracer), reduced to our conventions: its
    module nodes, its add/cat/mul nodes that join two sources or more, and the input, with edges
    through everything else (flatten, a single-input cat). (node kinds -> count, edge count)."""
    from graphlib import TopologicalSorter
    from torchview import draw_graph
    from torchview.computation_node import FunctionNode, ModuleNode

    traced = draw_graph(zoo.get(key).instantiate(), input_size=(1, *zoo.get(key).input_size), depth=1000,
                        expand_nested=True, hide_inner_tensors=True, hide_module_functions=True, device="meta")
    nodes, parents = {}, {}
    for source, target in traced.edge_list:
        nodes[source.node_id], nodes[target.node_id] = source, target
        parents.setdefault(target.node_id, set()).add(source.node_id)
        parents.setdefault(source.node_id, set())
    feeds, edges, kinds = {}, set(), Counter()
    for node_id in TopologicalSorter(parents).static_order():
        node = nodes[node_id]
        sources = set().union(*(feeds[parent] for parent in parents[node_id]))
        merge = isinstance(node, FunctionNode) and node.name in {"add", "add_", "cat", "mul", "mul_"} and len(sources) > 1
        if isinstance(node, ModuleNode) or merge or not parents[node_id]:
            kinds["module" if isinstance(node, ModuleNode) else "merge" if merge else "input"] += 1
            edges |= {(source, node_id) for source in sources}
            feeds[node_id] = {node_id}
        else:
            feeds[node_id] = sources
    return kinds, len(edges)


ISSUE_NETWORKS = ["alexnet", "googlenet", "resnet50", "densenet121", "efficientnet_lite0", "convnext_tiny"]


@pytest.mark.parametrize("key", ISSUE_NETWORKS)
def test_every_module_call_is_a_box_and_the_block_level_is_a_lecture_slide(key):
    modules = graph.at_level(key, "modules")
    assert Counter(box.module for box in modules.boxes if box.module) == module_calls(key)
    summary = costs.summary(key)
    blocks = graph.at_level(key, "blocks")
    assert len(blocks.boxes) <= 60
    for level in (modules, blocks):
        assert sum(box.params for box in level.boxes) == summary.params
        assert sum(box.macs for box in level.boxes) == summary.macs
        labels = Counter((box.block, box.label) for box in level.boxes)
        assert max(labels.values()) == 1, [label for label, count in labels.items() if count > 1]
        ids = {box.id for box in level.boxes}
        assert len(ids) == len(level.boxes) and all(a in ids and b in ids for a, b in level.edges)


@pytest.mark.parametrize("key", ["alexnet", "googlenet", "resnet50", "densenet121", "convnext_tiny"])
def test_the_module_level_is_the_graph_torchview_traces(key):
    """EfficientNet-Lite0 is left out: torchview draws timm's BatchNormAct2d as its children,
    this graph as the one layer it is. A block's own parameter at work (ConvNeXt's layer scale) is
    a box here, and an edge through it there."""
    found = graph.at_level(key, "modules")
    scales = [box.id for box in found.boxes if box.kind == "parameter"]
    kinds, edges = torchview_graph(key)
    assert kinds["module"] == sum(box.module is not None for box in found.boxes)
    assert kinds["merge"] == sum(box.kind in ("add", "concat", "multiply") for box in found.boxes)
    assert kinds["input"] == 1
    assert edges == len(found.edges) - len(scales)


def test_names_say_which_block_and_which_call():
    resnet = {box.id: box.label for box in graph.at_level("resnet50", "blocks", frozenset({"layer1.0"})).boxes}
    assert resnet["layer1.0.conv2"] == "layer1.0 conv2 3×3, 64"
    assert [resnet[f"layer1.0.relu{call}"] for call in ("", "#2", "#3")] == \
        ["layer1.0 relu", "layer1.0 relu #2", "layer1.0 relu #3"]
    assert resnet["layer1.1"] == "layer1.1 · Bottleneck" and resnet["conv1"] == "conv1 7×7/2, 64"
    lite0 = {box.id: box for box in graph.at_level("efficientnet_lite0", "blocks").boxes}  # a layer, not a block
    assert (lite0["bn1"].label, lite0["bn2"].label, lite0["bn1"].expandable) == ("stem", "head", False)
    googlenet = {box.id: box for box in graph.at_level("googlenet", "blocks", frozenset({"inception3a"})).boxes}
    assert googlenet["inception3a.branch3.1.conv"].label == "inception_3a branch3 1 conv 3×3, 32"
    assert googlenet["inception3b"].expandable and not googlenet["inception3a.branch1.conv"].expandable
    frames = {path: members for path, _, members in graph.at_level("googlenet", "blocks", frozenset({"inception3a"})).clusters}
    assert {f"inception3a.branch{i}" for i in range(1, 5)} <= set(frames)  # the branches framed inside their module
    assert set(frames["inception3a.branch1"]) < set(frames["inception3a"])


def test_a_box_tells_its_layer_and_receptive_field():
    box = next(b for b in graph.at_level("resnet50", "modules").boxes if b.id == "layer1.0.conv2")
    assert graph.layer_details("resnet50", box) == {
        "shape": "64 × 56 × 56", "params": "36,864", "macs": f"{64 * 64 * 9 * 56 * 56:,}", "kernel_size": "3×3",
        "stride": "1×1", "padding": "1×1", "groups": "1", "rf": "19×19"}
    tapped = {tap.module: tap.rf for tap in costs.summary("vgg16").taps}
    vgg = graph.at_level("vgg16", "modules")
    assert all(box.rf == tapped[box.module] for box in vgg.boxes if box.module in tapped)


@pytest.mark.parametrize("key, merge, count, inputs", [("resnet18", "add", 8, 2), ("googlenet", "concat", 9, 4),
                                                       ("densenet121", "concat", 58, None),
                                                       ("mobilenet_v3_small", "multiply", 9, 2)])
def test_one_node_per_module_call_and_an_edge_from_every_input_of_a_merge(key, merge, count, inputs):
    found = graph.network_graph(key)
    assert Counter(node.module for node in found.nodes if node.module) == module_calls(key)
    merges = [node for node in found.nodes if node.kind == merge]
    assert len(merges) == count
    into = Counter(target for _, target in found.edges)
    for node in merges:
        assert into[node.index] == inputs if inputs else into[node.index] >= 2
    assert all(source < target for source, target in found.edges)  # forward order
    assert [node.kind for node in found.nodes].count("input") == 1


def test_shapes_and_macs_are_the_meta_pass_counts():
    found = graph.network_graph("resnet50")
    summary = costs.summary("resnet50")
    assert sum(node.macs for node in found.nodes) == summary.macs
    assert sum(node.params for node in found.nodes) == summary.params  # each module once: no module runs twice
    shapes = {tap.module: tuple(tap.shape) for tap in summary.taps}
    for node in found.nodes:
        if node.module in shapes:
            assert node.shape == shapes[node.module], node.name


def test_dot_puts_branches_side_by_side_and_a_chain_in_one_column():
    found = graph.at_level("googlenet", "blocks", frozenset({"inception3a"}))
    placed = graph_layout.place(found)
    first = [f"inception3a.branch{i}{'.conv' if i == 1 else '.0.conv' if i < 4 else '.0'}" for i in range(1, 5)]
    assert len({round(placed.boxes[box][1]) for box in first}) == 1  # one rank
    assert len({round(placed.boxes[box][0]) for box in first}) == 4
    for one, other in itertools.combinations(placed.boxes.values(), 2):  # no box over another
        assert abs(one[0] - other[0]) * 2 >= one[2] + other[2] or abs(one[1] - other[1]) * 2 >= one[3] + other[3]
    alexnet = graph_layout.place(graph.at_level("alexnet", "modules"))
    assert len({round(x) for x, _, _, _ in alexnet.boxes.values()}) == 1


def test_tracing_touches_no_other_session(cat_image, monkeypatch):
    """torch.fx's tracer patches Module.__call__ for the whole process, which broke forward passes
    of other sessions running meanwhile; the graph's pass records only its own thread. Each
    graph's pass here waits halfway while another session runs a whole forward pass."""
    from explorer import inference
    from harness.interleave import meanwhile

    loaded = inference.load("resnet18")
    expected = inference.analyse(loaded, cat_image, taps=()).record.logits
    keys = ("densenet121", "googlenet", "inception_v3", "convnext_tiny")
    alone = {key: graph.network_graph.__wrapped__(key) for key in keys}
    others, fresh = [], zoo.fresh_meta_model

    def interrupted(key: str) -> nn.Module:
        model = fresh(key)
        others.append(meanwhile(model, lambda: inference.analyse(loaded, cat_image, taps=()).record.logits))
        return model

    monkeypatch.setattr(zoo, "fresh_meta_model", interrupted)
    for key in keys:
        assert graph.network_graph.__wrapped__(key) == alone[key], key
    seen = [logits for session in others for logits in session]
    assert len(seen) >= len(keys) and all(isinstance(logits, torch.Tensor) and torch.equal(logits, expected)
                                          for logits in seen), seen


def test_a_click_opens_the_tap_or_the_leaf_layer():
    assert graph.activations_view("alexnet", "features.0") == {"tap": "conv1"}
    assert graph.activations_view("resnet18", "layer1.0.conv1") == {"tap": "layer1.0.conv1", "leaves": "True"}


@pytest.mark.parametrize("key", ["resnet18", "convnext_tiny"])
def test_the_graph_page_opens_a_block_finds_a_layer_and_opens_it_in_activations(key):
    app = apptest.start(key, "pages/graph.py")
    assert not apptest.errors(app)
    found = graph.at_level(key, "blocks")
    assert f"**{len(found.boxes)}** boxes and **{len(found.edges)}** edges" in apptest.texts(app)
    app.radio(key="graph_by").set_value("params").run()
    assert not apptest.errors(app) and app.query_params["by"] in ("params", ["params"])
    block = next(iter(graph.blocks(key)))
    app.multiselect(key="graph_opened").set_value([block]).run()
    opened = graph.at_level(key, "blocks", frozenset({block}))
    assert f"**{len(opened.boxes)}** boxes and **{len(opened.edges)}** edges" in apptest.texts(app)
    inner = next(box for box in opened.boxes if box.module and box.module.startswith(block + "."))
    app.selectbox(key="graph_find").set_value(inner.id).run()
    assert not apptest.errors(app) and f"**{inner.label}** · {inner.kind}" in apptest.texts(app)
    assert apptest.param(app, "open") == block and apptest.param(app, "find") == inner.id
    app.button(key="graph_to_activations").click().run()
    assert not apptest.errors(app)
    assert apptest.param(app, "tap") == graph.activations_view(key, inner.module)["tap"]


def test_merges_are_named_after_the_block_that_makes_them():
    googlenet = graph.network_graph("googlenet")
    assert [n.label for n in googlenet.nodes if n.kind == "concat"] == \
        [f"inception{m} concat" for m in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    assert [n.label for n in graph.network_graph("resnet18").nodes if n.kind == "add"] == \
        [f"layer{i}.{j} add" for i in range(1, 5) for j in range(2)]


def test_the_figure_draws_every_box_at_one_pixel_per_point_with_its_label():
    found = graph.at_level("googlenet", "blocks", frozenset({"inception3a"}))
    placed = graph_layout.place(found)
    figure = figures.network_graph_figure(found, placed, "macs", focus="inception3a.branch2.1.conv")
    edges, boxes = figure.data
    assert edges.type == "scatter" and edges.mode == "lines"  # SVG beneath the boxes, not WebGL over them
    assert [row[0] for row in boxes.customdata] == [box.id for box in found.boxes]
    assert boxes.textfont.size == graph_layout.FONT_PT
    assert any(text.startswith("inception_3a concat") for text in boxes.text)
    low, high = figure.layout.yaxis.range
    assert figure.layout.height - 40 == round(low - high)  # as many pixels as points
    focused = [shape for shape in figure.layout.shapes if shape.line.width == 3]
    x, y, w, h = placed.boxes["inception3a.branch2.1.conv"]
    assert len(focused) == 1 and (focused[0].x0, focused[0].y1) == (x - w / 2, y + h / 2)
    svg = graph_layout.export(found, "svg", figures.graph_fills(found, "params"))
    assert svg.startswith(b"<?xml") and b"inception_3a concat" in svg
    assert graph_layout.export(found, "png").startswith(b"\x89PNG")


def test_depthwise_and_grouped_convolutions_are_written_as_the_papers_write_them():
    mobilenet = {box.id: box.label for box in graph.at_level("mobilenet_v2", "modules").boxes}
    assert mobilenet["features.2.conv.1.0"] == "block2.0 conv 1 0 3×3/2 dw, 96"
    alexnet2012 = {box.module: box.label for box in graph.at_level("alexnet2012", "modules").boxes if box.module}
    assert any(label.endswith("5×5, 256, g=2") for label in alexnet2012.values())  # the two-GPU split of conv2


def test_without_dot_or_past_its_time_the_page_says_why_in_one_sentence(monkeypatch):
    import subprocess

    from explorer.ui import cache

    found = graph.at_level("alexnet", "blocks")

    def missing(*_args, **_kwargs):
        raise FileNotFoundError("dot")

    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    for fake, words in ((missing, "install Debian's graphviz package"), (slow, f"more than {graph_layout.LAYOUT_SECONDS} s")):
        monkeypatch.setattr(graph_layout.subprocess, "run", fake)
        with pytest.raises(graph_layout.LayoutMissing, match=words):
            graph_layout.place(found)
    cache.results().forget(lambda cached: cached[0] == "graph_placement")
    app = apptest.start("alexnet", "pages/graph.py")
    assert not apptest.errors(app)
    assert [error.value for error in app.error] == [f"Graphviz's dot took more than {graph_layout.LAYOUT_SECONDS} s to "
                                                    "lay this graph out: show it by blocks, or open fewer blocks."]


def test_each_box_is_coloured_by_its_own_count_on_the_legends_log_scale():
    from plotly.colors import sample_colorscale

    found = graph.at_level("resnet18", "modules")
    fills = figures.graph_fills(found, "macs")
    top = max(box.macs for box in found.boxes)
    for box in found.boxes:
        if box.module is None:  # a merge: no count of its own
            assert fills[box.id] == "#e6e6e6"
            continue
        red, green, blue = sample_colorscale("Viridis", [math.log10(box.macs + 1) / math.log10(top + 1)], colortype="tuple")[0]
        assert fills[box.id] == f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
    assert len(set(fills.values())) >= 5 and fills["conv1"] != fills["fc"]
