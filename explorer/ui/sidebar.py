"""The shared sidebar: network, image, weights status and backend, defined once in app.py."""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from explorer import backend, images, inference, weights, zoo
from explorer.ui import cache, slides

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT / "assets" / "samples"
SAMPLES = {"Cat": "cat.jpg", "Coffee": "coffee.jpg", "Astronaut": "astronaut.jpg", "Rocket": "rocket.jpg"}
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"]
_STATE = "_explorer_selection"


@dataclass(frozen=True)
class Selection:
    """What every page works on in this run."""
    loaded: inference.LoadedModel
    image: images.LoadedImage
    image_label: str

    @property
    def spec(self) -> zoo.ModelSpec:
        return self.loaded.spec

    def analysis(self) -> inference.Analysis:
        return cache.analysis(self.loaded, self.image)


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


@st.cache_resource(show_spinner=False, max_entries=16)
def _decode(data: bytes, name: str) -> images.LoadedImage:
    return images.load(data, name)


def _network_picker() -> zoo.ModelSpec:
    keys = [spec.key for specs in zoo.by_family().values() for spec in specs]
    key = st.selectbox("Network", keys, key="network",
                       format_func=lambda k: f"{zoo.FAMILIES[zoo.get(k).family]} · {zoo.get(k).name}",
                       help="Grouped in the lecture's order: AlexNet → ZFNet → VGG → "
                            "GoogLeNet/Inception → ResNet → efficient nets.")
    return zoo.get(key)


def _image_picker() -> tuple[images.LoadedImage, str]:
    source = st.radio("Image", ["Sample", "Upload"], horizontal=True, key="image_source")
    sample = st.selectbox("Sample image", list(SAMPLES), key="sample",
                          disabled=source != "Sample")
    if source == "Upload":
        upload = st.file_uploader("Upload an image", type=UPLOAD_TYPES, key="upload",
                                  help=f"Up to {images.MAX_BYTES // 2**20} MB and "
                                       f"{images.MAX_PIXELS // 1_000_000} megapixels.")
        if upload is not None:
            try:
                return _decode(upload.getvalue(), upload.name), escape_markdown(upload.name)
            except images.ImageError as error:
                st.error(f"{escape_markdown(str(error))} Showing the sample image “{sample}” instead.")
    path = SAMPLES_DIR / SAMPLES[sample]
    return _decode(path.read_bytes(), path.name), f"sample: {sample}"


def _weights_box(loaded: inference.LoadedModel) -> None:
    status, spec = loaded.status, loaded.spec
    if status.pretrained:
        st.success(f"Weights: pretrained ({status.source})", icon=":material/check_circle:")
    else:
        st.caption("Weights: **random** (seeded, the same every run)")
    if status.warning:
        st.warning(status.warning)
    if spec.weights and not status.pretrained and st.button("Download pretrained weights"):
        bar = st.progress(0.0, text="Downloading…")
        try:
            weights.fetch(spec, progress=lambda done, total: bar.progress(
                min(done / total, 1.0) if total else 0.0, text=f"{done / 2**20:.0f} MB"))
        except weights.WeightsError as error:
            st.error(f"{error}. On an offline machine, copy the file "
                     f"`{spec.weights.filename}` into EXPLORER_WEIGHTS_DIR instead.")
        else:
            cache.loaded_model.clear()
            st.rerun()


def _restore_from_url() -> None:
    """Take network and sample image from a view a slide asked for, or from the URL when it
    says something we did not write: a permalink opened or a link followed."""
    params = st.session_state.pop("_pending_view", None)
    if params is None:
        params = {k: st.query_params[k] for k in st.query_params}
        if params == st.session_state.get("_url_written"):
            return
    if params.get("net") in zoo.REGISTRY:
        st.session_state["network"] = params["net"]
    if params.get("img") in SAMPLES:
        st.session_state["sample"] = params["img"]
        st.session_state["image_source"] = "Sample"


def _write_url(spec: zoo.ModelSpec) -> None:
    """Keep the URL a permalink of what is shown (uploads cannot travel in a URL)."""
    wanted = {"net": spec.key}
    if st.session_state.get("image_source", "Sample") == "Sample":
        wanted["img"] = st.session_state.get("sample", next(iter(SAMPLES)))
    if {k: st.query_params[k] for k in st.query_params} != wanted:
        st.query_params.from_dict(wanted)
    st.session_state["_url_written"] = wanted


def render() -> Selection | None:
    """Draw the sidebar and keep its selection for the pages; None if no model could load."""
    _restore_from_url()
    with st.sidebar:
        spec = _network_picker()
        image, label = _image_picker()
        for note in image.notes:
            st.caption(note)
        try:
            with st.spinner(f"Loading {spec.name}…"):
                loaded = cache.loaded_model(spec.key)
        except (RuntimeError, backend.BackendError) as error:
            st.error(f"{spec.name} could not be loaded: {error}")
            return None
        _weights_box(loaded)
        with st.expander("Lecture: slides and presenter mode"):
            slides.controls()
    selection = Selection(loaded, image, label)
    st.session_state[_STATE] = selection
    _write_url(spec)
    return selection


def backend_box(selection: Selection) -> None:
    """Device, and the forward time of the last analysis, if this page ran one."""
    with st.sidebar:
        st.caption(f"Backend: {backend.device_name(selection.loaded.device)}")
        key = (selection.spec.key, selection.loaded.status.label, selection.image.digest)
        if key in cache.analyses():
            run = selection.analysis().run
            st.caption(f"Last analysis: {run.seconds * 1000:.0f} ms on {run.device}")
            if run.fell_back:
                st.warning(run.fell_back)


def random_weights_banner(selection: Selection) -> None:
    status, spec = selection.loaded.status, selection.spec
    if status.pretrained:
        return
    if spec.weights is None:
        why = f"No pretrained weights were ever published for {spec.name}, so it runs untrained"
    else:
        why = (f"{spec.name} runs with **untrained (random) weights**: pretrained weights were not "
               "found on this machine. Run `make weights` on a machine with internet, or put "
               f"`{spec.weights.filename}` in EXPLORER_WEIGHTS_DIR")
    st.warning(f"{why}. Activations show random filters and predictions are meaningless; "
               "shapes, parameter and MAC counts are exact either way.", icon=":material/warning:")
