"""Inception modules: the paper's Table 1, the 1x1 saving, branches that concatenate back."""
import pytest
import torch

from explorer import i18n, inception, inference

TABLE_1 = {  # Szegedy et al. 2014, Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
    "inception_3a": (64, 96, 128, 16, 32, 32), "inception_3b": (128, 128, 192, 32, 96, 64),
    "inception_4a": (192, 96, 208, 16, 48, 64), "inception_4b": (160, 112, 224, 24, 64, 64),
    "inception_4c": (128, 128, 256, 24, 64, 64), "inception_4d": (112, 144, 288, 32, 64, 64),
    "inception_4e": (256, 160, 320, 32, 128, 128), "inception_5a": (256, 160, 320, 32, 128, 128),
    "inception_5b": (384, 192, 384, 48, 128, 128),
}


@pytest.mark.parametrize("key", ["googlenet", "googlenet_paper"])
def test_branch_widths_are_the_papers_table_1(key):
    found = {m.tap.name: m for m in inception.modules(key)}
    assert list(found) == list(TABLE_1)
    for name, (c1, r3, c3, r5, c5, pool) in TABLE_1.items():
        branches = {b.label: b for b in found[name].branches}
        assert [b.channels for b in branches.values()] == [c1, c3, c5, pool]
        assert str(branches["3x3"].steps[0]) == f"1×1 conv → {r3}" and str(branches["5x5"].steps[0]) == f"1×1 conv → {r5}"
        assert found[name].channels == c1 + c3 + c5 + pool


def test_module_3a_with_the_papers_kernels_saves_the_lectures_macs():
    row = inception.naive_vs_reduced("googlenet_paper")[0]
    assert row.module == "inception_3a" and row.kernels == (3, 5)
    assert row.reduced_macs / 1e6 == pytest.approx(128.0, abs=0.05)
    assert row.naive_macs / 1e6 == pytest.approx(303.5, abs=0.05)
    module = inception.modules("googlenet_paper")[0]
    assert (module.in_channels, module.in_size) == (192, (28, 28))
    assert inception.naive_vs_reduced("googlenet")[0].kernels == (3, 3)  # torchvision's as-built 3x3
    assert inception.naive_vs_reduced("inception_v3") == ()


@pytest.mark.parametrize("key", ["googlenet", "inception_v3", "inception_v4"])
def test_branch_costs_add_up_to_the_module(key):
    for module in inception.modules(key):
        assert sum(b.macs for b in module.branches) == module.macs, module.tap.name
        assert sum(b.params for b in module.branches) == module.params, module.tap.name


@pytest.mark.parametrize("key", ["googlenet", "inception_v3", "inception_v4"])
def test_branch_outputs_concatenate_back_to_the_module_output(key, cat_image):
    record = inference.analyse(inference.load(key, torch.device("cpu")), cat_image).record
    checked = 0
    for module in inception.modules(key):
        if not module.covered:
            continue
        joined = torch.cat([record.outputs[b.tap.name] for b in module.branches], dim=0)
        assert torch.equal(joined, record.outputs[module.tap.name]), module.tap.name
        checked += 1
    assert checked >= 9
    shares = inception.energy_shares(record.outputs, inception.modules(key)[0])
    assert sum(shares.values()) == pytest.approx(1.0)


def test_same_padding_keeps_every_branch_at_the_input_size():
    for module in inception.modules("googlenet_paper"):
        assert all(b.size == module.in_size for b in module.branches)
    steps = {b.label: b.steps[-1] for b in inception.modules("googlenet_paper")[0].branches}
    assert str(steps["3x3"]).endswith("pad 1×1") and str(steps["5x5"]).endswith("pad 2×2")
    with i18n.use("zh"):  # the lecture's own words
        assert str(steps["3x3"]) == "3×3 卷积 → 128，填充 1×1" and str(steps["pool_proj"]) == "1×1 卷积 → 32"


def test_ablation_zeroes_one_branch_and_leaves_the_model_clean(cat_image):
    loaded = inference.load("googlenet", torch.device("cpu"))
    module = inception.modules("googlenet")[0]
    result = inception.ablate(loaded, cat_image, module, module.branches[1])
    assert result.next_tap == "inception_3b" and result.relative_change > 0
    assert len(result.before) == len(result.after) == 5
    assert sum(len(m._forward_hooks) for m in loaded.model.modules()) == 0
