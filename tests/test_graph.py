"""The network graph: one node per module call, an edge into every merge from each of its inputs,
shapes and MACs from the meta pass, and a click that opens the layer in Activations."""
from collections import Counter

import pytest
import torch
from torch import nn

from explorer import costs, figures, graph, zoo
from harness import apptest


def module_calls(key: str) -> Counter:
    """How often each leaf module runs in one real forward pass (hooks), as an independent count."""
    model = zoo.get(key).instantiate()
    calls = Counter()
    handles = [m.register_forward_pre_hook(lambda _m, _a, path=path: calls.update([path]))
               for path, m in model.named_modules() if path and not any(m.children())]
    with torch.no_grad():
        model(torch.zeros(1, *zoo.get(key).input_size))
    for handle in handles:
        handle.remove()
    return calls


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


def test_branches_sit_side_by_side_and_chains_in_one_column():
    found = graph.network_graph("googlenet")
    lanes = graph.lanes(found)
    module = [node for node in found.nodes if node.module and node.module.startswith("inception3a.")]
    first = [node for node in module if node.depth == min(n.depth for n in module)]
    assert sorted(node.module.split(".")[1] for node in first) == ["branch1", "branch2", "branch3", "branch4"]
    assert len({lanes[node.index] for node in first}) == 4  # the four branches begin side by side
    alexnet = graph.network_graph("alexnet")
    assert set(graph.lanes(alexnet).values()) == {0}


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
def test_the_graph_page_renders_and_counts(key):
    app = apptest.start(key, "pages/graph.py")
    assert not apptest.errors(app)
    found = graph.network_graph(key)
    assert f"**{len(found.edges)}** edges" in apptest.texts(app)
    app.radio(key="graph_by").set_value("params").run()
    assert not apptest.errors(app) and app.query_params["by"] in ("params", ["params"])


def test_merges_are_named_after_the_block_that_makes_them():
    googlenet = graph.network_graph("googlenet")
    assert [n.label for n in googlenet.nodes if n.kind == "concat"] == \
        [f"inception{m} concat" for m in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    assert [n.label for n in graph.network_graph("resnet18").nodes if n.kind == "add"] == \
        [f"layer{i}.{j} add" for i in range(1, 5) for j in range(2)]
    figure = figures.network_graph_figure(googlenet, graph.lanes(googlenet))
    edges, boxes = figure.data
    assert edges.type == "scatter" and edges.mode == "lines"  # SVG beneath the boxes, not WebGL over them
    assert "inception4e concat" in boxes.text and "input" in boxes.text
