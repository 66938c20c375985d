"""One way to work on a shared model: locks, state restored, out-of-memory fallback on every path."""
import re
import threading

import pytest
import torch
from torch import nn

from explorer import (activations, attribution, compare, costs, gradflow, images, inception, inference,
                      invariance, modelstate, zoo)
from harness.paths import ROOT


@pytest.fixture(scope="module")
def googlenet():
    return inference.load("googlenet", torch.device("cpu"))


def test_run_restores_modes_flags_buffers_and_hooks_even_when_the_work_fails(googlenet):
    model = googlenet.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]

    def meddle(shared: nn.Module, _device) -> None:
        shared.train()
        shared.requires_grad_(False)
        for module in shared.modules():
            if isinstance(module, nn.ReLU):
                module.inplace = not module.inplace
        shared.register_forward_hook(lambda *_: None)
        shared.conv1.register_forward_pre_hook(lambda *_: None)
        shared(torch.randn(2, 3, 224, 224))  # train mode: BatchNorm running statistics move
        raise ValueError("the work failed half-way")

    with pytest.raises(ValueError):
        googlenet.run(meddle)
    assert not model.training and not any(m.training for m in model.modules())
    assert [p.requires_grad for p in model.parameters()] == flags
    assert modelstate.hook_count(model) == 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not googlenet.lock.locked()


def test_run_gives_the_model_to_one_piece_of_work_at_a_time(googlenet):
    inside, overlaps = [0], []

    def work(_model, _device) -> None:
        inside[0] += 1
        overlaps.append(inside[0])
        threading.Event().wait(0.02)
        inside[0] -= 1

    threads = [threading.Thread(target=googlenet.run, args=(work,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1] * 8


def test_nothing_outside_loaded_model_run_touches_the_shared_model():
    """A static check: `loaded.model` (or `loaded_model(...).model`) appears only in inference.py."""
    pattern = re.compile(r"(loaded\w*|loaded_model\([^)]*\))\.model\b")
    files = [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("explorer/**/*.py"), *ROOT.glob("bench/*.py")]
    offenders = [f"{path.relative_to(ROOT)}:{number}" for path in files if path.name != "inference.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


# ---------------------------------------------------------------- out of memory on every path

@pytest.fixture
def accelerator_out_of_memory():
    """A fake accelerator, the meta device, on which every forward pass runs out of memory
    (the meta-device cost passes are made before it fails)."""
    costs.summary("googlenet")

    def hook(_module, args):
        if any(isinstance(a, torch.Tensor) and a.device.type == "meta" for a in args):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    handle = nn.modules.module.register_module_forward_pre_hook(hook)
    yield torch.device("meta")
    handle.remove()


def _on_accelerator(key: str, accelerator: torch.device) -> inference.LoadedModel:
    loaded = inference.load(key, torch.device("cpu"))
    loaded.device = accelerator  # the model stays on the CPU: only the fallback copy can compute
    return loaded


def _assert_fell_back(run) -> None:
    assert run.device == "cpu" and run.fell_back is not None
    assert "ran out of memory" in str(run.fell_back)


def test_every_compute_path_falls_back_to_the_cpu_and_says_so(accelerator_out_of_memory, cat_image):
    """The seven paths: analysis, branch ablation, single-network gradient flow, attribution,
    the shift probe, latency, and the residual/plain twins; each equals the CPU's own result."""
    meta = accelerator_out_of_memory
    cpu_googlenet = inference.load("googlenet", torch.device("cpu"))
    googlenet = _on_accelerator("googlenet", meta)

    analysis = inference.analyse(googlenet, cat_image, taps=())
    _assert_fell_back(analysis.run)
    assert torch.equal(analysis.record.logits, inference.analyse(cpu_googlenet, cat_image, taps=()).record.logits)

    module = inception.modules("googlenet")[0]
    ablation = inception.ablate(googlenet, cat_image, module, module.branches[1])
    _assert_fell_back(ablation.run)
    assert ablation.relative_change == inception.ablate(cpu_googlenet, cat_image, module,
                                                        module.branches[1]).relative_change

    flow = gradflow.single_flow(googlenet, cat_image)
    _assert_fell_back(flow.run)
    assert flow.profile.output_grad == gradflow.single_flow(cpu_googlenet, cat_image).profile.output_grad

    saliency = attribution.explain(googlenet, cat_image, attribution.Settings("saliency"))
    _assert_fell_back(saliency.run)
    assert (saliency.heat == attribution.explain(cpu_googlenet, cat_image, attribution.Settings("saliency")).heat).all()

    tap = next(t for t in zoo.taps("googlenet") if t.name == "inception_5b")
    probe = invariance.probe(googlenet, cat_image, tap, shifts=(0, 8))
    _assert_fell_back(probe.run)
    assert probe.shifts == invariance.probe(cpu_googlenet, cat_image, tap, shifts=(0, 8)).shifts

    latency = compare.latency(googlenet, 1, repeats=1)
    _assert_fell_back(latency.run)
    assert latency.seconds > 0

    x = images.augmented_batch(cat_image.image, zoo.get("resnet34").preprocess, 2, size=32)
    config = gradflow.FlowConfig(pair="cifar20")
    twins = gradflow.compare_twins(config, x, device=meta)
    _assert_fell_back(twins.run)
    assert twins.first_conv_ratio == gradflow.compare_twins(config, x, device=torch.device("cpu")).first_conv_ratio

    assert modelstate.hook_count(googlenet.model) == 0


def test_first_layer_kernels_are_read_through_run(googlenet):
    first = activations.first_layer(googlenet)
    assert first.path == "conv1.conv" and first.kernels.shape == (64, 7, 7, 3) and first.stride == 2
