"""Process-wide caches shared by all sessions: the models and every result under one budget.

The shared networks and every result a page shows (decoded images, captured records, grids,
ablations, gradient flows, attributions, shift probes) live in one `ByteBudgetCache` of EXPLORER_CACHE_MB,
keyed by `key_of`, computed once per key however many sessions ask at once.
"""
from __future__ import annotations

import hashlib
import logging
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Hashable, Sequence, TypeVar

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx
from PIL import Image

from explorer import activations, attribution as explorer_attribution, compare, featurevis, figures, gradflow, images
from explorer import graph, graph_layout, i18n, inception, inference, invariance, lecture, lesion, weights, zoo
from explorer.cache import ByteBudgetCache
from explorer.images import LoadedImage
from explorer.weights import WeightsError

T = TypeVar("T")


def loaded_model(key: str, on_progress: weights.Progress | None = None) -> inference.LoadedModel:
    """The shared network, built once per server and kept in the same byte budget as the results,
    counted by its tensors' bytes: eight huge networks cannot stay merely because there are eight
    slots (a Compare link of eight took 6.9 GB and kept it). Every run asks for its network, so a
    network in use stays recent; an evicted one is rebuilt when next asked for. The session that
    builds it hears `on_progress`; if that raises (its tab closed), the build stops, nothing is
    kept, and a session still waiting for the network builds it."""
    return results().get_or_compute(("model", key, None, None), lambda: inference.load(key, on_progress=on_progress))


def untrained_model(key: str) -> inference.LoadedModel:
    """The network with its seeded random initialisation even where trained weights are here (the
    lecture measures what training changed), shared and counted as `loaded_model`."""
    return results().get_or_compute(("model", key, "untrained", None), lambda: inference.load(key, trained=False))


@st.cache_resource(show_spinner=False, max_entries=4)
def _user_model(key: str, file_id: str, file: str, class_file_id: str | None, _data: bytes,
                _class_data: bytes | None, class_file: str) -> inference.LoadedModel:
    return inference.load_user(key, _data, file, _class_data, class_file)


_refusals: OrderedDict[tuple, WeightsError] = OrderedDict()  # (network, upload ids) -> why refused
_refusals_lock = threading.Lock()
MAX_REFUSALS = 256


def user_model(key: str, file_id: str, file: str, class_file_id: str | None, data: bytes,
               class_data: bytes | None, class_file: str) -> inference.LoadedModel:
    """A network with uploaded weights, once per upload (its bytes are not hashed on every rerun:
    the upload's id stands for them). A refusal is remembered too, so a refused 20 MB file is not
    read again on every click of the session that keeps it in its uploader."""
    upload = (key, file_id, class_file_id)
    with _refusals_lock:
        refused = _refusals.get(upload)
    if refused is not None:
        raise refused
    try:
        return _user_model(key, file_id, file, class_file_id, data, class_data, class_file)
    except WeightsError as error:
        with _refusals_lock:
            _refusals[upload] = error
            while len(_refusals) > MAX_REFUSALS:
                _refusals.popitem(last=False)
        raise


_RESULTS = ByteBudgetCache()


def results() -> ByteBudgetCache:
    """The one store of the process (a module global rather than st.cache_resource: a page asks it
    for every result it shows, 50 times a run on Compare, and Streamlit's own lookup hashes its
    arguments each time)."""
    return _RESULTS


def key_of(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable) -> tuple:
    """The one cache key: what was computed, on which network and weights, for which image."""
    return (kind, loaded.spec.key if loaded else None, loaded.status.label if loaded else None,
            image.digest if image else None, *details)


def _cached(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable,
            compute: Callable[[], T]) -> T:
    return results().get_or_compute(key_of(kind, loaded, image, *details), compute)


def is_cached(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable) -> bool:
    return key_of(kind, loaded, image, *details) in results()


def forget_model(key: str) -> None:
    """New weights for one network: drop its model and its results, and nobody else's."""
    results().forget(lambda cached: cached[1] == key)


def forget_models() -> None:
    """Every shared network (and with them their results): the next run builds them afresh."""
    keys = {cached[1] for cached in results().keys() if cached[0] == "model"}
    results().forget(lambda cached: cached[1] in keys)


def picture(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable,
            draw: Callable[[], Image.Image | np.ndarray], photo: bool = False) -> bytes:
    """A picture drawn from a result, encoded once per key for every session: PNG, or JPEG at
    quality 90 for a `photo` (an overlay on the input, a large heat-map grid: a third of the bytes,
    as Streamlit itself would encode it). Shown through `widgets.picture`, Streamlit passes these
    bytes on as they are (no decode, no re-encode)."""
    encode = figures.jpeg_bytes if photo else figures.png_bytes
    return _cached(f"picture:{kind}:{'jpeg' if photo else 'png'}", loaded, image, *details,
                   compute=lambda: encode(draw()))


class SharedFigure(go.Figure):
    """A figure every session is sent. st.plotly_chart serialises a figure through `to_dict`, a
    deep copy with every array encoded anew, which was most of a warm page's cost for its charts;
    a shared figure makes that copy once and hands it to every caller, which only reads it
    (Streamlit writes it to JSON). So a shared figure is never changed once built:
    tests/test_warm_sessions.py checks every cached one against a fresh copy after every page."""

    def __init__(self, built: go.Figure) -> None:
        super().__init__(built)
        self._as_dict = super().to_dict()

    def to_dict(self) -> dict:
        return self._as_dict


def figure(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable,
           build: Callable[[], go.Figure]) -> SharedFigure:
    """A plotly figure built once per key and language (its texts are translated) for every
    session, and copied for serialising once (`SharedFigure`)."""
    return _cached(f"figure:{kind}", loaded, image, i18n.language(), *details, compute=lambda: SharedFigure(build()))


def table(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable,
          build: Callable[[], pd.DataFrame]) -> pa.Table:
    """A table built once per key and language for every session, as the Arrow table st.dataframe
    sends: converting a DataFrame to Arrow on every run was the largest cost of a warm Parameters &
    FLOPs page after its charts."""
    return _cached(f"table:{kind}", loaded, image, i18n.language(), *details,
                   compute=lambda: pa.Table.from_pandas(build(), preserve_index=False))


def csv(kind: str, loaded: inference.LoadedModel | None, image: LoadedImage | None, *details: Hashable,
        build: Callable[[], pd.DataFrame]) -> str:
    """A table's download, written once per key and language."""
    return _cached(f"csv:{kind}", loaded, image, i18n.language(), *details, compute=lambda: build().to_csv(index=False))


def graph_placement(found: graph.LevelGraph) -> graph_layout.Placed:
    """Where dot puts every box of a network's graph at a level, once per server and language
    (dot sizes each box to its label)."""
    return _cached("graph_placement", None, None, found, i18n.language(), compute=lambda: graph_layout.place(found))


def export_graph(found: graph.LevelGraph, fmt: str, fills: dict[str, str], by: str) -> bytes:
    """dot's drawing of the graph coloured by `by`, as SVG or PNG, once per server and language."""
    return _cached("graph_export", None, None, found, fmt, by, i18n.language(),
                   compute=lambda: graph_layout.export(found, fmt, fills))


def first_layer(key: str) -> activations.FirstLayer:
    """A network's first convolution and its RGB kernels, read once per (model, weights)."""
    loaded = loaded_model(key)
    return _cached("first_layer", loaded, None, compute=lambda: activations.first_layer(loaded))


def kernels(key: str) -> bytes:
    """A network's first-layer RGB kernels as one picture, drawn and encoded once per (model, weights)."""
    first = first_layer(key)
    return picture("kernels", loaded_model(key), None, draw=lambda: figures.kernel_grid(first.kernels))


def input_views(image: LoadedImage, pre: zoo.Preprocess) -> tuple[bytes, bytes, bytes]:
    """Home's three pictures of mean subtraction, encoded once per (image, preprocessing): the two
    photographs as JPEG, the flat mean colour as PNG."""
    def draw() -> tuple[bytes, bytes, bytes]:
        views = images.input_views(image.image, pre)
        return (figures.jpeg_bytes(views.cropped), figures.png_bytes(views.mean),
                figures.jpeg_bytes(views.mean_subtracted))
    return _cached("input_views", None, image, pre, compute=draw)


def network_input(image: LoadedImage, pre: zoo.Preprocess) -> np.ndarray:
    """The image cropped as the network sees it (HxWx3 uint8), once per (image, preprocessing)."""
    return _cached("network_input", None, image, pre, compute=lambda: images.input_views(image.image, pre).cropped)


def lecture_cards(section: str, image: LoadedImage, network: str) -> list[lecture.Card]:
    """One Lecture tab's measured cards, once per (tab, image, network, its weights, the trained
    network it is measured on, language), measured through this module's shared results."""
    loaded = loaded_model(network)
    return _cached("lecture_cards", loaded, image, section, weights.trained_network(network), i18n.language(),
                   compute=lambda: lecture.cards(section, image, network, sys.modules[__name__]))


def decoded(data: bytes, name: str) -> LoadedImage:
    """An upload or sample decoded once per content (ImageError is raised, never cached)."""
    digest = hashlib.sha256(data).hexdigest()
    return results().get_or_compute(("image", None, None, digest), lambda: images.load(data, name))


def sample(path: Path) -> LoadedImage:
    """A bundled sample photo, read and decoded once per server (not read and hashed every run)."""
    return results().get_or_compute(("sample", None, None, str(path)), lambda: images.load(path.read_bytes(), path.name))


def analysis(loaded: inference.LoadedModel, image: LoadedImage, leaves: bool = False) -> inference.Analysis:
    """Every tap of the image through the network — or every leaf layer — computed once per
    (model, weights, image)."""
    if leaves:
        return _cached("analysis_leaves", loaded, image, compute=lambda: inference.analyse(
            loaded, image, zoo.leaf_taps(loaded.spec.key)))
    return _cached("analysis", loaded, image, compute=lambda: inference.analyse(loaded, image))


def grid_png(loaded: inference.LoadedModel, image: LoadedImage, tap: str, channels: list[int],
             shared: bool, leaves: bool = False, photo: bool = False) -> bytes:
    """A tap's channel grid, encoded once per (model, weights, image, tap, channels, scale): PNG
    for the download, JPEG (`photo`) to show. Moving an unrelated widget does not encode it again."""
    output = analysis(loaded, image, leaves).record.outputs[tap]
    return picture("grid", loaded, image, tap, tuple(channels), shared, leaves, photo=photo, draw=lambda: (
        figures.channel_grid(output, list(channels), shared_scale=shared)))


def tap_stats(loaded: inference.LoadedModel, image: LoadedImage) -> list[activations.TapStats]:
    """Per-tap statistics of the network's main taps, once per (model, weights, image)."""
    def compute() -> list[activations.TapStats]:
        taps = [tap for tap in zoo.taps(loaded.spec.key) if tap.parent is None]
        return activations.tap_stats(analysis(loaded, image).record.outputs, taps)
    return _cached("tap_stats", loaded, image, compute=compute)


def rectifier_zeros(loaded: inference.LoadedModel, image: LoadedImage) -> activations.RectifierZeros:
    """Zero shares after every ReLU, once per (model, weights, image)."""
    return _cached("rectifier_zeros", loaded, image, compute=lambda: activations.rectifier_zeros(loaded, image))


def ablation(loaded: inference.LoadedModel, image: LoadedImage, module: str, branch: str) -> inception.Ablation:
    """The effect of zeroing one branch, once per (model, weights, image, module, branch)."""
    def compute() -> inception.Ablation:
        found = next(m for m in inception.modules(loaded.spec.key) if m.tap.name == module)
        return inception.ablate(loaded, image, found, next(b for b in found.branches if b.label == branch))
    return _cached("ablation", loaded, image, module, branch, i18n.language(), compute=compute)  # its class names


def twins(config: gradflow.FlowConfig, image: LoadedImage, crops: int, target: int | None) -> gradflow.TwinResult:
    """The residual/plain comparison, once per (configuration, image, batch, target)."""
    return _cached("twins", None, image, config, crops, target,
                   compute=lambda: gradflow.twins_on_image(config, image, crops, target))


def single_flow(loaded: inference.LoadedModel, image: LoadedImage) -> gradflow.SingleFlow:
    """Gradient flow through the sidebar's network (eval mode, its own weights)."""
    return _cached("single_flow", loaded, image, compute=lambda: gradflow.single_flow(loaded, image))


def attribution(loaded: inference.LoadedModel, image: LoadedImage, settings: explorer_attribution.Settings,
                target: int | None, on_progress=None) -> explorer_attribution.Attribution:
    """One attribution, once per (model, weights, image, settings, target)."""
    return _cached("attribution", loaded, image, settings, target,
                   compute=lambda: explorer_attribution.explain(loaded, image, settings, target, on_progress))


def lesions(loaded: inference.LoadedModel) -> lesion.Study:
    """Each deletable block deleted in turn on the sample photos, once per (model, weights)."""
    return _cached("lesions", loaded, None, compute=lambda: lesion.on_samples(loaded))


def shift_probe(loaded: inference.LoadedModel, image: LoadedImage) -> invariance.ShiftProbe:
    """Pooled vs flattened features under shifts of the image, once per (model, weights, image)."""
    return _cached("shift_probe", loaded, image, compute=lambda: invariance.probe_default_tap(loaded, image))


def feature_visualisations(loaded: inference.LoadedModel, image: LoadedImage, tap: str, channels: Sequence[int],
                           settings: featurevis.Settings,
                           on_step: Callable[[int, int], None] | None = None) -> list[featurevis.Visualisation]:
    """Each channel's picture once per (model, weights, tap, channel, settings) — and image, for
    DeepDream, which starts from it; the channels not yet computed are optimised as one batch."""
    start = image if settings.objective == "layer" else None
    keys = {channel: key_of("featurevis", loaded, start, tap, channel, settings) for channel in channels}
    missing = tuple(channel for channel in channels if keys[channel] not in results())
    if missing:
        batch = _cached("featurevis_batch", loaded, start, tap, missing, settings, compute=lambda: featurevis.visualise(
            loaded, featurevis.tap_of(loaded.spec.key, tap), missing, settings, start, on_step))
        for result in batch:
            results().put(keys[result.channel], result)
    return [results().get_or_compute(keys[channel], lambda channel=channel: featurevis.visualise(
        loaded, featurevis.tap_of(loaded.spec.key, tap), [channel], settings, start)[0]) for channel in channels]


def natural_means(loaded: inference.LoadedModel, tap: str):
    """Each channel's mean activation over the sample photos, once per (model, weights, tap)."""
    return _cached("natural_means", loaded, None, tap,
                   compute=lambda: featurevis.natural_means(loaded, featurevis.tap_of(loaded.spec.key, tap)))


_latencies: OrderedDict[tuple[str, str], tuple[compare.Latency, ...]] = OrderedDict()  # (network, device) ->
_latencies_lock = threading.Lock()
MAX_LATENCIES = 1024


def measured_latencies(keys: Sequence[str], device: str) -> dict[str, tuple[compare.Latency, ...]]:
    """The latencies measured on this server for these networks, by anyone since it started
    (a pass's time depends on the architecture and the machine, not on the weights)."""
    with _latencies_lock:
        return {key: _latencies[(key, device)] for key in keys if (key, device) in _latencies}


def keep_latencies(key: str, device: str, measured: tuple[compare.Latency, ...]) -> None:
    with _latencies_lock:
        _latencies[(key, device)] = measured
        _latencies.move_to_end((key, device))
        while len(_latencies) > MAX_LATENCIES:
            _latencies.popitem(last=False)


def latency_probe(loaded: inference.LoadedModel) -> tuple[float, ...]:
    """The Compare estimate's timed passes, once per (model, weights) for the server's life."""
    return _cached("latency_probe", loaded, None, compute=lambda: compare.probe(loaded))


BACKGROUND_THREADS = ("latency probes", "warm slides", "networks ahead")  # threads pages start beside their run


def wait_for_background(timeout_s: float = 600) -> None:
    """Until the work pages left running in the background has ended: a benchmark's next first view
    must not share the CPU with it, and a process must not exit while torch runs in a thread."""
    for thread in threading.enumerate():
        if thread.name in BACKGROUND_THREADS:
            thread.join(timeout_s)


_probing: set[str] = set()  # networks whose latency probe a background thread is measuring
_unprobed: set[str] = set()  # networks whose probe failed: left out of the estimate, not retried each second
_probing_lock = threading.Lock()


def latency_probes_soon(models: Sequence[inference.LoadedModel]) -> list[tuple[float, ...]] | None:
    """The latency probes of these models if all are measured; else None, and a background thread
    measures the missing ones (one thread per network however many sessions ask). The probes only
    estimate how long a measurement would take — two passes at batch 16 each, 12 s of a fresh
    server's Compare for the lecture's five — so a first view does not wait for them."""
    models = [loaded for loaded in models if loaded.spec.key not in _unprobed]
    missing = [loaded for loaded in models if not is_cached("latency_probe", loaded, None)]
    if not missing:
        return [latency_probe(loaded) for loaded in models]
    with _probing_lock:
        starting = [loaded for loaded in missing if loaded.spec.key not in _probing]
        _probing.update(loaded.spec.key for loaded in starting)
    if starting:
        def probe_all() -> None:
            for loaded in starting:  # one failing network must not leave the others unprobed
                try:
                    latency_probe(loaded)
                except Exception:
                    logging.getLogger(__name__).warning("latency probe of %s failed", loaded.spec.key, exc_info=True)
                    _unprobed.add(loaded.spec.key)
                finally:
                    with _probing_lock:
                        _probing.discard(loaded.spec.key)
        thread = threading.Thread(target=probe_all, daemon=True, name=BACKGROUND_THREADS[0])
        add_script_run_ctx(thread)  # Streamlit's caches expect a session's context
        thread.start()
    return None


_ahead: set[tuple[str, str]] = set()  # (network, image digest) a background thread is building and analysing
_ahead_lock = threading.Lock()


def analyses_ahead(keys: Sequence[str], image: LoadedImage) -> None:
    """Build and analyse, in a background thread, the networks among `keys` not yet analysed on
    `image`, last first, while the page computes what needs no weights and then takes them from
    the first: on a fresh server the lecture's five random-weight builds were 2.4 s of Compare's
    first view on one core while the other was idle. Whichever asks for a network first builds it
    and the other waits for it (single flight); a failure is the page's to show, so it is only logged."""
    with _ahead_lock:
        missing = [key for key in reversed(keys) if (key, image.digest) not in _ahead and (
            ("model", key, None, None) not in results() or not is_cached("analysis", loaded_model(key), image))]
        _ahead.update((key, image.digest) for key in missing)
    if not missing:
        return

    def build_all() -> None:
        for key in missing:
            try:
                analysis(loaded_model(key), image)
            except Exception:
                logging.getLogger(__name__).warning("building %s ahead failed", key, exc_info=True)
            finally:
                with _ahead_lock:
                    _ahead.discard((key, image.digest))

    thread = threading.Thread(target=build_all, daemon=True, name=BACKGROUND_THREADS[2])
    add_script_run_ctx(thread)  # Streamlit's caches expect a session's context
    thread.start()


def attribution_probe(loaded: inference.LoadedModel, method: str) -> float:
    """The attribution estimate's timed passes, once per (model, weights, method) for the server's life."""
    return _cached("attribution_probe", loaded, None, method,
                   compute=lambda: explorer_attribution.probe(loaded, method))


def featurevis_estimate(loaded: inference.LoadedModel, tap: str, count: int,
                        settings: featurevis.Settings) -> featurevis.Estimate:
    """A run's measured estimate, once per (model, weights, tap, count, size, objective)."""
    probe = featurevis.Settings(settings.objective, featurevis.PROBE_STEPS, settings.size, 0, settings.regularise)
    return _cached("featurevis_estimate", loaded, None, tap, count, probe, compute=lambda: featurevis.estimate(
        loaded, featurevis.tap_of(loaded.spec.key, tap), count, settings))
