"""The shared sidebar, drawn once per run by app.py: the pickers (language, lecture tools,
network, image, own weights), the weights box and the glossary; and the `Selection` every page
works on. The choices behind the widgets live in choices.py, the URL in permalinks.py."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import streamlit as st

from explorer import backend, downloads, i18n, images, inference, samples, weights, zoo
from explorer.i18n import t
from explorer.ui import banners, cache, choices, permalinks, slides
from explorer.ui.choices import SOURCES
from explorer.ui.widgets import escape_markdown

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
_STATE = "_explorer_selection"
_SHOWN_ANALYSIS = "_shown_analysis"


@dataclass(frozen=True)
class Selection:
    """What every page works on in this run."""
    loaded: inference.LoadedModel
    image: images.LoadedImage
    image_label: str
    sample: str | None  # the sample's key, None for an upload

    @property
    def spec(self) -> zoo.ModelSpec:
        return self.loaded.spec

    def analysis(self, leaves: bool = False) -> inference.Analysis:
        """The page's analysis of the selection (`cache.analysis`); the sidebar then tells its
        forward time, as this run showed it (a cached one another session ran says nothing here)."""
        with within_limits():
            found = cache.analysis(self.loaded, self.image, leaves)
        st.session_state[_SHOWN_ANALYSIS] = found.run
        return found

    def shown_analysis(self) -> backend.Run | None:
        """The run of the analysis this script run's page showed, if it showed one."""
        return st.session_state.get(_SHOWN_ANALYSIS)


@contextmanager
def within_limits() -> Iterator[None]:
    """An analysis over the server's limit ends the page with its sentence (what it would keep,
    the limit, how to ask for less), not a traceback; the widgets above it stay to change."""
    try:
        yield
    except inference.TooMuchToRecord as error:
        st.warning(str(error), icon=":material/memory:")
        st.stop()


def current(page: str) -> Selection:
    """The selection app.py made for this run; pages start here, with their own `__file__`.

    A fresh server runs a deep-linked page file without app.py on its very first request
    (Streamlit's legacy mode for a pages/ folder): go through app.py once, then come back.
    """
    if _STATE not in st.session_state:
        permalinks.detour(page)
    return st.session_state[_STATE]


def _add_typed_name() -> None:
    st.session_state["_named_error"] = choices.add_named(st.session_state["named_input"]) if st.session_state["named_input"] \
        else None


def _network_picker() -> zoo.ModelSpec:
    if choices.chosen("network") not in choices.session_networks():
        choices.add_named(str(choices.chosen("network")))  # chosen by name before this run (a test, a script): list it
    keys = choices.session_networks()
    key = st.selectbox(t("sidebar.network"), keys, index=choices.kept_index("network", keys), key="network",
                       on_change=choices.keep, args=("network",),
                       format_func=i18n.bound(lambda k: zoo.get(k).name),  # a family prefix cut the name off
                       help=t("sidebar.network_help"))
    st.text_input(t("sidebar.by_name"), key="named_input", on_change=_add_typed_name,
                  placeholder="densenet121, convnext_tiny, timm/resnet50d", help=t("sidebar.by_name_help"))
    if st.session_state.get("_named_error"):
        st.error(escape_markdown(st.session_state["_named_error"]), icon=":material/error:")
    return zoo.get(key)


def _image_picker() -> tuple[images.LoadedImage, str, str | None]:
    source = st.radio(t("sidebar.image"), SOURCES, index=choices.kept_index("image_source", SOURCES), horizontal=True,
                      key="image_source", on_change=choices.keep, args=("image_source",),
                      format_func=i18n.names("sidebar.source"))
    sample = st.selectbox(t("sidebar.sample"), list(samples.FILES), index=choices.kept_index("sample", list(samples.FILES)),
                          key="sample", on_change=choices.keep, args=("sample",), disabled=source != "Sample",
                          format_func=i18n.names("sample"))
    if source == "Upload":
        upload = st.file_uploader(t("sidebar.upload"), type=UPLOAD_TYPES, key="upload",
                                  max_upload_size=images.MAX_BYTES // 2**20, help=t("sidebar.upload_help", mb=images.MAX_BYTES // 2**20,
                                         megapixels=images.MAX_PIXELS // 1_000_000))
        st.caption(t("sidebar.upload_not_linked"))
        if upload is not None:
            try:
                return cache.decoded(upload.getvalue(), upload.name), escape_markdown(upload.name), None
            except images.ImageError as error:
                st.error(t("sidebar.upload_failed", error=escape_markdown(str(error)), sample=t(f"sample.{sample}")))
    path = samples.path(sample)
    return cache.sample(path), t("sidebar.sample_label", sample=t(f"sample.{sample}")), sample


def _own_weights(loaded: inference.LoadedModel) -> inference.LoadedModel:
    """An expander where a person uploads weights for this network (and class names); the network
    with them when they fit, else the message and the network as it was. Nothing is written to disk."""
    key = loaded.spec.key
    # open while it holds a file: the rerun after the weights arrive would otherwise close it, and
    # the class file beside them is out of sight
    with st.expander(t("sidebar.own_weights"), expanded=st.session_state.get(f"own_weights:{key}") is not None):
        upload = st.file_uploader(t("sidebar.own_weights_file"), type=list(weights.UPLOAD_TYPES),
                                  key=f"own_weights:{key}", max_upload_size=weights.MAX_WEIGHTS_BYTES // 2**20,
                                  help=t("sidebar.own_weights_help"))
        names = st.file_uploader(t("sidebar.own_classes_file"), type=["txt"], key=f"own_classes:{key}",
                                 max_upload_size=weights.MAX_CLASS_FILE_BYTES // 2**20)
        if upload is None:
            return loaded
        try:
            return cache.user_model(key, upload.file_id, upload.name, names.file_id if names else None,
                                    upload.getvalue(), names.getvalue() if names else None, names.name if names else "")
        except weights.WeightsError as error:
            st.error(escape_markdown(str(error)), icon=":material/error:")
            return loaded


def _fetch_missing_weights(spec: zoo.ModelSpec) -> None:
    """Published weights that are not on this machine are downloaded when their network is
    picked, with a progress bar (one download for all sessions; an offline server gives up in
    seconds, once). A failure is not an error here: the network runs untrained and the banner
    says why."""
    if spec.weights is None or spec.weights.url is None or weights.find_checkpoint(spec) is not None \
            or weights.offline_reason(spec) is not None:
        return
    bar = st.progress(0.0, text=t("sidebar.fetching", name=spec.name, file=spec.weights.filename))
    try:
        downloads.fetch(spec, progress=_progress_bar(bar), automatic=True)
    except weights.WeightsError:
        return
    finally:
        bar.empty()
    cache.forget_model(spec.key)  # a random copy may be cached from before


def _progress_bar(bar) -> weights.ProgressCallback:
    def show(done: int, total: int | None) -> None:
        if total:
            bar.progress(min(done / total, 1.0), text=t("sidebar.fetching_progress", done=done / 2**20,
                                                          total=total / 2**20))
        else:
            bar.progress(0.0, text=t("sidebar.fetching_unknown", done=done / 2**20))
    return show


def _weights_box(loaded: inference.LoadedModel) -> None:
    status, spec = loaded.status, loaded.spec
    if status.pretrained:
        st.success(t("sidebar.weights_in_use", weights=banners.weights_label(status)), icon=":material/check_circle:")
    else:
        st.caption(t("sidebar.weights_seeded"))
    if status.warning:
        st.warning(str(status.warning))
    if spec.weights and spec.weights.url and not status.pretrained \
            and weights.offline_reason(spec, automatic=False) is None and st.button(t("sidebar.download")):
        bar = st.progress(0.0, text=t("sidebar.downloading"))
        try:
            downloads.fetch(spec, progress=_progress_bar(bar))
        except weights.WeightsError as error:
            st.error(t("sidebar.download_failed", error=error, file=spec.weights.filename))
        else:
            cache.forget_model(spec.key)
            st.rerun()


def _switch_language() -> None:
    choices.keep("lang")
    choices.relabel()


def _language_picker() -> None:
    languages = list(i18n.LANGUAGES)
    default = languages[choices.kept_index("lang", languages)]
    st.segmented_control(t("sidebar.language"), languages, default=default, key="lang", on_change=_switch_language,
                         format_func=i18n.LANGUAGES.get, required=True, label_visibility="collapsed")


@contextmanager
def _build_progress(name: str) -> Iterator[weights.Progress]:
    """A progress bar for the session that builds a network, drawn once the build has taken
    0.2 s and updated at most every 0.2 s, gone when it ends. Each update is also where a closed
    tab's run stops, so a build ends within a fraction of a second of the student leaving."""
    bar, last = [], [time.monotonic()]

    def report(share: float) -> None:
        if time.monotonic() - last[0] < 0.2:
            return
        last[0] = time.monotonic()
        text = t("sidebar.building", name=name, percent=100 * share)
        if bar:
            bar[0].progress(share, text=text)
        else:
            bar.append(st.progress(share, text=text))

    try:
        yield report
    finally:
        if bar:
            bar[0].empty()


def render(page: str) -> Selection | None:
    """Draw the sidebar and keep its selection for the pages; None if no model could load."""
    st.session_state.pop(_SHOWN_ANALYSIS, None)  # until this run's page shows one
    with st.sidebar:
        _language_picker()
        _lecture_tools()  # here nothing above it changes, so it never moves
        spec = _network_picker()
        image, label, sample = _image_picker()
        upscaled = images.upscale_note(image.image, spec.preprocess, spec.name)
        for note in (*image.notes, *([upscaled] if upscaled else [])):
            st.caption(str(note))
        _fetch_missing_weights(spec)
        try:
            with st.spinner(t("sidebar.loading", name=spec.name)), _build_progress(spec.name) as report:
                loaded = cache.loaded_model(spec.key, report)
        except (RuntimeError, backend.BackendError) as error:
            st.error(t("sidebar.load_failed", name=spec.name, error=error))
            return None
        loaded = _own_weights(loaded)
        _weights_box(loaded)
        glossary()
    selection = Selection(loaded, image, label, sample)
    st.session_state[_STATE] = selection
    st.session_state["_page"] = page
    permalinks.write_url(page)
    return selection


def _lecture_tools() -> None:
    """Presenter mode and the slides, in an expander that stays as the lecturer left it (a keyed,
    kept state: an unkeyed expander is redrawn closed when the elements before it change)."""
    st.session_state["lecture_tools"] = bool(choices.chosen("lecture_tools"))
    with st.expander(t("sidebar.lecture_tools"), key="lecture_tools", on_change=choices.keep, args=("lecture_tools",)):
        slides.controls(on_start=slides.warm_deck)


GLOSSARY = ("macs", "parameters", "tap", "activation_map", "receptive_field", "jump", "energy_share",
            "gradient_norm", "batchnorm_modes", "lrn", "global_average_pooling", "bottleneck",
            "depthwise_separable", "attribution", "pretrained", "top1")  # texts "glossary.<term>.term|definition"


def glossary() -> None:
    """The words the pages use, explained, one click away on every page."""
    with st.popover(t("glossary.title"), icon=":material/menu_book:", width="stretch"):
        st.markdown("\n\n".join(f"**{t(f'glossary.{term}.term')}** — {t(f'glossary.{term}.definition')}"
                                  for term in GLOSSARY))


