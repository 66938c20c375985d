"""Process-wide caches shared by all sessions: models with their locks, captured records."""
from __future__ import annotations

import streamlit as st

from explorer import activations, backend, figures, gradflow, images, inception, inference, invariance, zoo
from explorer import attribution as explorer_attribution
from explorer.cache import ByteBudgetCache
from explorer.images import LoadedImage


@st.cache_resource(show_spinner=False, max_entries=8)
def loaded_model(key: str) -> inference.LoadedModel:
    return inference.load(key)


@st.cache_resource(show_spinner=False)
def analyses() -> ByteBudgetCache:
    return ByteBudgetCache(size_of=lambda analysis: analysis.record.nbytes)


def analysis(loaded: inference.LoadedModel, image: LoadedImage) -> inference.Analysis:
    """Every tap of the image through the network, computed once per (model, weights, image)."""
    key = (loaded.spec.key, loaded.status.label, image.digest)
    return analyses().get_or_compute(key, lambda: inference.analyse(loaded, image))


@st.cache_resource(show_spinner=False, max_entries=32)
def _grid_png(key: str, weights_label: str, digest: str, tap: str, channels: tuple[int, ...], shared: bool,
              _output) -> bytes:
    return figures.png_bytes(figures.channel_grid(_output, list(channels), shared_scale=shared))


def grid_png(loaded: inference.LoadedModel, image: LoadedImage, tap: str, channels: list[int],
             shared: bool) -> bytes:
    """A tap's channel grid as PNG, encoded once per (model, weights, image, tap, channels, scale):
    moving an unrelated widget does not encode it again."""
    output = analysis(loaded, image).record.outputs[tap]
    return _grid_png(loaded.spec.key, loaded.status.label, image.digest, tap, tuple(channels), shared, output)


@st.cache_resource(show_spinner=False, max_entries=32)
def _tap_stats(key: str, weights_label: str, digest: str, _analysis: inference.Analysis):
    taps = [tap for tap in zoo.taps(key) if tap.parent is None]
    return activations.tap_stats(_analysis.record.outputs, taps)


def tap_stats(loaded: inference.LoadedModel, image: LoadedImage) -> list[activations.TapStats]:
    """Per-tap statistics of the network's main taps, once per (model, weights, image)."""
    return _tap_stats(loaded.spec.key, loaded.status.label, image.digest, analysis(loaded, image))


@st.cache_resource(show_spinner=False, max_entries=64)
def _ablation(key: str, weights_label: str, digest: str, module: str, branch: str,
              _loaded: inference.LoadedModel, _image: LoadedImage) -> inception.Ablation:
    found = next(m for m in inception.modules(key) if m.tap.name == module)
    return inception.ablate(_loaded, _image, found, next(b for b in found.branches if b.label == branch))


def ablation(loaded: inference.LoadedModel, image: LoadedImage, module: str, branch: str) -> inception.Ablation:
    """The effect of zeroing one branch, once per (model, weights, image, module, branch)."""
    return _ablation(loaded.spec.key, loaded.status.label, image.digest, module, branch, loaded, image)


@st.cache_resource(show_spinner=False, max_entries=16)
def _twins(config: gradflow.FlowConfig, digest: str, crops: int, target: int | None,
           _image: LoadedImage) -> gradflow.TwinResult:
    x = images.augmented_batch(_image.image, zoo.get("resnet34").preprocess, crops,
                               size=gradflow.input_size(config))
    return gradflow.compare_twins(config, x.to(backend.choose_device()), target)


def twins(config: gradflow.FlowConfig, image: LoadedImage, crops: int, target: int | None) -> gradflow.TwinResult:
    """The residual/plain comparison, once per (configuration, image, batch, target)."""
    return _twins(config, image.digest, crops, target, image)


@st.cache_resource(show_spinner=False, max_entries=16)
def _single_flow(key: str, weights_label: str, digest: str, _loaded: inference.LoadedModel,
                 _image: LoadedImage) -> gradflow.Profile:
    x = images.preprocess(_image.image, _loaded.spec.preprocess).to(_loaded.device)
    with _loaded.lock:
        return gradflow.profile(_loaded.model, x, gradflow.measure_points(_loaded.model, key))


def single_flow(loaded: inference.LoadedModel, image: LoadedImage) -> gradflow.Profile:
    """Gradient flow through the sidebar's network (eval mode, its own weights)."""
    return _single_flow(loaded.spec.key, loaded.status.label, image.digest, loaded, image)


@st.cache_resource(show_spinner=False)
def attributions() -> ByteBudgetCache:
    return ByteBudgetCache(max_bytes=256 * 2**20, size_of=lambda a: a.raw.numel() * 4 + a.heat.nbytes)


def attribution_key(loaded: inference.LoadedModel, image: LoadedImage, settings, target) -> tuple:
    return (loaded.spec.key, loaded.status.label, image.digest, settings, target)


def attribution(loaded: inference.LoadedModel, image: LoadedImage, settings, target: int | None,
                on_progress=None):
    """One attribution, computed under the model's lock once per (model, weights, image, settings, target)."""
    def compute():
        x = images.preprocess(image.image, loaded.spec.preprocess).to(loaded.device)
        with loaded.lock:
            layer = explorer_attribution.layer_of(loaded.model, loaded.spec.key, settings.tap) \
                if settings.method in ("gradcam", "guided_gradcam") else None
            return explorer_attribution.attribute(loaded.model, x, settings, target, on_progress, layer,
                                                  loaded.spec.preprocess)
    return attributions().get_or_compute(attribution_key(loaded, image, settings, target), compute)


@st.cache_resource(show_spinner=False, max_entries=16)
def _invariance(key: str, weights_label: str, digest: str, _loaded: inference.LoadedModel,
                _image: LoadedImage) -> list[invariance.Shift]:
    tap = next(t for t in zoo.taps(key) if t.name == explorer_attribution.default_tap(key))
    return invariance.probe(_loaded, _image, tap)


def shift_probe(loaded: inference.LoadedModel, image: LoadedImage) -> list[invariance.Shift]:
    """Pooled vs flattened features under shifts of the image, once per (model, weights, image)."""
    return _invariance(loaded.spec.key, loaded.status.label, image.digest, loaded, image)
