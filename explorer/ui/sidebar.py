"""The shared sidebar: network, image, weights status and backend, defined once in app.py."""
from __future__ import annotations

import inspect
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx

from explorer import backend, i18n, images, inference, samples, weights, zoo
from explorer.i18n import t
from explorer.ui import cache, slides

ROOT = Path(__file__).resolve().parents[2]
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
_STATE = "_explorer_selection"


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

    def analysis(self) -> inference.Analysis:
        with within_limits():
            return cache.analysis(self.loaded, self.image)


@contextmanager
def within_limits() -> Iterator[None]:
    """An analysis over the server's limit ends the page with its sentence (what it would keep,
    the limit, how to ask for less), not a traceback; the widgets above it stay to change."""
    try:
        yield
    except inference.TooMuchToRecord as error:
        st.warning(str(error), icon=":material/memory:")
        st.stop()


def current() -> Selection:
    """The selection app.py made for this run; pages start here.

    A fresh server runs a deep-linked page file without app.py on its very first request
    (Streamlit's legacy mode for a pages/ folder): go through app.py once, then come back.
    """
    if _STATE not in st.session_state:
        page = Path(inspect.stack()[1].filename).resolve().relative_to(ROOT)
        st.session_state["_deep_link"] = (str(page), {k: st.query_params[k] for k in st.query_params})
        st.switch_page(str(ROOT / "app.py"))
    return st.session_state[_STATE]


def follow_deep_link() -> None:
    """In app.py: finish the detour `current` started, with the link's query parameters."""
    link = st.session_state.pop("_deep_link", None)
    if link:
        st.session_state["_pending_view"] = link[1]
        st.switch_page(link[0], query_params=link[1])


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def escape_markdown(text: str) -> str:
    """User text (file names, messages quoting them) shown literally in st.markdown/captions."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


# ---------------------------------------------------------------- the session's choices

_KEPT = "_kept"  # widget key -> the value the session chose: the truth behind the sidebar's widgets
DEFAULTS = {"image_source": "Sample", "sample": next(iter(samples.FILES)), "named": []}
SOURCES = ("Sample", "Upload")


def _default(key: str) -> object:
    """A first visit's choice; its network is one with trained weights on this machine."""
    return weights.trained_network() if key == "network" else DEFAULTS.get(key)


def choose(key: str, value: object) -> None:
    """Make a choice for the session (a link, a slide, a button): its widget shows it when drawn."""
    st.session_state.setdefault(_KEPT, {})[key] = value


def chosen(key: str) -> object:
    """The session's choice for a sidebar widget, whether or not the widget was drawn this run."""
    kept = st.session_state.setdefault(_KEPT, {})
    if key not in kept:  # first run: a value set before it (AppTest, restore_view), else the default
        kept[key] = st.session_state[key] if key in st.session_state else _default(key)
    return kept[key]


def _keep(key: str) -> None:
    choose(key, st.session_state[key])


def _kept_index(key: str, options: Sequence[object]) -> int:
    """Before a sidebar widget: its value and default index from the kept choice.

    A run that is interrupted (a rerun under load) or never draws the widget would otherwise
    leave the widget to its first option, and a browser that mounts it afresh sends that
    first option back as if the person had chosen it; with the kept choice as the default,
    whatever the browser sends is the session's own choice."""
    value = chosen(key)
    if value not in options:
        default = _default(key)
        value = default if default in options else options[0]
        choose(key, value)
    st.session_state[key] = value
    return list(options).index(value)


def add_named(name: str, pick: bool = True) -> str | None:
    """Add a network found by name to this session's list (and choose it, if `pick`); the
    reason, if it cannot be (an unknown name, a network that is not a CNN)."""
    name = name.strip()
    try:
        key = zoo.get(name).key
    except (KeyError, ValueError) as error:
        return str(error.args[0]) if error.args else str(error)
    if key not in zoo.REGISTRY:
        choose("named", list(dict.fromkeys([*(chosen("named") or []), key])))
    if pick:
        choose("network", key)
    return None


def session_networks() -> list[str]:
    """The networks this session can pick: the registered ones in the lecture's order, then
    those it found by name."""
    return [spec.key for specs in zoo.by_family().values() for spec in specs] + list(chosen("named") or [])


def linked_networks(param: str, state_key: str, most: int) -> list[str]:
    """Before a multiselect of networks: `linked_list` over this session's networks, where the
    link may name networks found by name (they join the session's list). The options."""
    wanted = st.session_state.get("_incoming_view", {}).get(param) or ""
    for name in wanted.split(","):
        if name and name not in zoo.REGISTRY:
            add_named(name, pick=False)  # an unknown name adds nothing; linked_list then drops it
    options = session_networks()
    linked_list(param, state_key, options, most)
    return options


def _add_typed_name() -> None:
    st.session_state["_named_error"] = add_named(st.session_state["named_input"]) if st.session_state["named_input"] \
        else None


def _network_picker() -> zoo.ModelSpec:
    if chosen("network") not in session_networks():
        add_named(str(chosen("network")))  # chosen by name before this run (a test, a script): list it
    keys = session_networks()
    key = st.selectbox(t("sidebar.network"), keys, index=_kept_index("network", keys), key="network",
                       on_change=_keep, args=("network",),
                       format_func=i18n.bound(lambda k: zoo.get(k).name),  # a family prefix cut the name off
                       help=t("sidebar.network_help"))
    st.text_input(t("sidebar.by_name"), key="named_input", on_change=_add_typed_name,
                  placeholder="densenet121, convnext_tiny, timm/resnet50d", help=t("sidebar.by_name_help"))
    if st.session_state.get("_named_error"):
        st.error(escape_markdown(st.session_state["_named_error"]), icon=":material/error:")
    return zoo.get(key)


def _image_picker() -> tuple[images.LoadedImage, str, str | None]:
    source = st.radio(t("sidebar.image"), SOURCES, index=_kept_index("image_source", SOURCES), horizontal=True,
                      key="image_source", on_change=_keep, args=("image_source",),
                      format_func=i18n.names("sidebar.source"))
    sample = st.selectbox(t("sidebar.sample"), list(samples.FILES), index=_kept_index("sample", list(samples.FILES)),
                          key="sample", on_change=_keep, args=("sample",), disabled=source != "Sample",
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


def weights_label(status: weights.WeightsStatus) -> str:
    """How a page names the weights in use."""
    if status.yours:
        return t("sidebar.weights_yours", file=escape_markdown(status.uploaded_file))
    return t("sidebar.weights_pretrained", source=status.source) if status.pretrained else t("sidebar.weights_random")


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
        weights.fetch(spec, progress=_progress_bar(bar), automatic=True)
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
        st.success(t("sidebar.weights_in_use", weights=weights_label(status)), icon=":material/check_circle:")
    else:
        st.caption(t("sidebar.weights_seeded"))
    if status.warning:
        st.warning(str(status.warning))
    if spec.weights and spec.weights.url and not status.pretrained \
            and weights.offline_reason(spec, automatic=False) is None and st.button(t("sidebar.download")):
        bar = st.progress(0.0, text=t("sidebar.downloading"))
        try:
            weights.fetch(spec, progress=_progress_bar(bar))
        except weights.WeightsError as error:
            st.error(t("sidebar.download_failed", error=error, file=spec.weights.filename))
        else:
            cache.forget_model(spec.key)
            st.rerun()


# ---------------------------------------------------------------- permalinks and language

def restore_view() -> None:
    """Before anything is drawn: take the view a slide asked for, or the URL's when it says
    something we did not write (a permalink opened, a link followed), and set the language.
    Network, sample and language are applied here; page parameters wait for `linked`."""
    params = st.session_state.pop("_pending_view", None)
    if params is None:
        params = {k: st.query_params[k] for k in st.query_params}
        if params in st.session_state.get("_urls_written", ()):
            params = {}
    st.session_state["_incoming_view"] = params
    slides.restore(params)
    if params.get("slide"):
        choose("lecture_tools", True)  # a reloaded deck shows its controls
    if params.get("net"):
        add_named(params["net"])  # a registered network, or one found by name; an unknown name changes nothing
    if params.get("img") in samples.FILES:
        choose("sample", params["img"])
        choose("image_source", "Sample")
    if params.get("lang") in i18n.LANGUAGES:
        choose("lang", params["lang"])
    if chosen("lang") not in i18n.LANGUAGES:  # a first visit: the browser's language
        choose("lang", "zh" if (st.context.locale or "").lower().startswith("zh") else i18n.DEFAULT)
    i18n.set_language(chosen("lang"))


def linked(param: str, state_key: str, options: Sequence[object]) -> None:
    """Before a page's widget: a link naming `param` chooses the widget's value, if it is one of
    `options` (compared as text, as URLs carry them). A link applies once: a fragment's rerun,
    which does not read the URL again, must not set the widget back."""
    wanted = st.session_state.get("_incoming_view", {}).pop(param, None)
    match = next((option for option in options if str(option) == wanted), None)
    if wanted is not None and match is not None:
        st.session_state[state_key] = match


def linked_list(param: str, state_key: str, options: Sequence[object], most: int) -> None:
    """Before a multiselect: a link naming `param` ("a,b,c") chooses those of its values that are
    `options`, at most `most` of them (once, as `linked`)."""
    wanted = st.session_state.get("_incoming_view", {}).pop(param, None)
    if wanted is not None:
        by_text = {str(option): option for option in options}
        chosen = [by_text[value] for value in dict.fromkeys(wanted.split(",")) if value in by_text][:most]
        if chosen:
            st.session_state[state_key] = chosen


def share(**params: object) -> None:
    """After a page's widgets: the URL carries their values, so a copied link reopens this view
    (None takes a parameter out, as when the view no longer has it)."""
    page = st.session_state["_page"]
    shared = st.session_state.setdefault("_shared", {}).setdefault(page, {})
    for name, value in params.items():
        if value is None:
            shared.pop(name, None)
        else:
            shared[name] = str(value)
    _write_url(page)


def _write_url(page: str) -> None:
    """Keep the URL a permalink of what is shown (uploads cannot travel in a URL)."""
    wanted = {"net": chosen("network")}
    if chosen("image_source") == "Sample":
        wanted["img"] = chosen("sample")
    if chosen("lang") != i18n.DEFAULT:
        wanted["lang"] = chosen("lang")
    wanted |= slides.url_params() | st.session_state.get("_shared", {}).get(page, {})
    if {k: st.query_params[k] for k in st.query_params} != wanted:
        st.query_params.from_dict(wanted)
    # Every URL this session wrote, not only the last: under load the browser can ask for a
    # rerun before it has applied the newest one, and an older URL of ours is no new link (taking
    # it for one turned a fresh "Upload" choice back into the sample).
    written = st.session_state.setdefault("_urls_written", [])
    if wanted not in written:
        written[:] = written[-31:] + [wanted]


def network_name() -> Callable[[str], str]:
    """A select box's format_func naming networks in the language active now (keys relabelled)."""
    return i18n.bound(lambda key: zoo.get(key).name)


def relabelled(key: str) -> str:
    """The key of a select box whose option labels are texts: the browser keeps showing the old
    label after a language switch unless the value is sent again, which `_relabel` does."""
    st.session_state.setdefault("_relabelled", set()).add(key)
    return key


def _relabel() -> None:
    for key in st.session_state.get("_relabelled", ()):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _switch_language() -> None:
    _keep("lang")
    _relabel()


def _language_picker() -> None:
    languages = list(i18n.LANGUAGES)
    default = languages[_kept_index("lang", languages)]
    st.segmented_control(t("sidebar.language"), languages, default=default, key="lang", on_change=_switch_language,
                         format_func=i18n.LANGUAGES.get, required=True, label_visibility="collapsed")


def moved_notice() -> None:
    """Behind the load balancer (deploy/): when the replica that held this browser's session has
    stopped, the balancer sends it to another one, which starts a new session from the page's URL;
    say so once, so a student knows why widgets not in the link are back to their defaults."""
    here = os.environ.get("EXPLORER_REPLICA_NAME")
    before = st.context.headers.get("X-Explorer-Was")
    if here and before and before != here and not st.session_state.get("_moved_told"):
        st.session_state["_moved_told"] = True
        st.info(t("sidebar.moved"), icon=":material/swap_horiz:")


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
    _write_url(page)
    return selection


def _lecture_tools() -> None:
    """Presenter mode and the slides, in an expander that stays as the lecturer left it (a keyed,
    kept state: an unkeyed expander is redrawn closed when the elements before it change)."""
    st.session_state["lecture_tools"] = bool(chosen("lecture_tools"))
    with st.expander(t("sidebar.lecture_tools"), key="lecture_tools", on_change=_keep, args=("lecture_tools",)):
        slides.controls(on_start=_warm_deck)


def _warm_deck() -> None:
    """Compute every slide's network and analysis in the background when a deck is opened, so each
    slide opens at once (the results are shared by every session)."""
    def warm() -> None:
        for slide in slides.SLIDES:
            path = samples.path(slide.sample)
            try:
                cache.analysis(cache.loaded_model(slide.shown), cache.sample(path))
            except Exception:  # the slide itself computes again and shows what went wrong
                logging.getLogger(__name__).warning("warming slide %s failed", slide.name, exc_info=True)

    thread = threading.Thread(target=warm, daemon=True, name=cache.BACKGROUND_THREADS[1])
    add_script_run_ctx(thread)  # Streamlit's caches expect a session's context
    thread.start()


GLOSSARY = ("macs", "parameters", "tap", "activation_map", "receptive_field", "jump", "energy_share",
            "gradient_norm", "batchnorm_modes", "lrn", "global_average_pooling", "bottleneck",
            "depthwise_separable", "attribution", "pretrained", "top1")  # texts "glossary.<term>.term|definition"


def glossary() -> None:
    """The words the pages use, explained, one click away on every page."""
    with st.popover(t("glossary.title"), icon=":material/menu_book:", width="stretch"):
        st.markdown("\n\n".join(f"**{t(f'glossary.{term}.term')}** — {t(f'glossary.{term}.definition')}"
                                  for term in GLOSSARY))


def backend_box(selection: Selection) -> None:
    """Device, and the forward time of the last analysis, if this page ran one."""
    with st.sidebar:
        st.caption(t("sidebar.backend", device=backend.device_name(selection.loaded.device)))
        if cache.is_cached("analysis", selection.loaded, selection.image):
            run = selection.analysis().run
            st.caption(t("sidebar.last_analysis", ms=run.seconds * 1000, device=run.device))
            if run.fell_back:
                st.warning(str(run.fell_back))


def random_weights_banner(selection: Selection) -> None:
    """One sentence for students; why, and the fix for teachers, behind a toggle."""
    status, spec = selection.loaded.status, selection.spec
    why = weights.why_random(spec, status)
    if why is None:
        return
    if slides.presenting():  # one line: on a projector the slide's subject comes first
        slide = slides.on_screen(st.session_state["_page"], spec.key)
        text = f"slides.random.{slide.rests_on}" if slide else "sidebar.random_one_line"
        st.caption(f":material/warning: {t(text, name=spec.name)}")
        return
    trained = weights.trained_network(spec.key)
    short = t("sidebar.random_short", name=spec.name)
    if trained != spec.key:
        short += " " + t("sidebar.trained_elsewhere", name=zoo.get(trained).name)
    st.warning(short, icon=":material/warning:")
    with st.expander(t("sidebar.random_details")):
        st.markdown(t("sidebar.random_banner", why=why))
        if trained != spec.key:
            st.button(t("sidebar.try_trained", name=zoo.get(trained).name), key="try_trained", on_click=choose,
                      args=("network", trained))
