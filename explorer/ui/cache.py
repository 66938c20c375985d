"""Process-wide caches shared by all sessions: models with their locks, captured records."""
from __future__ import annotations

import streamlit as st

from explorer import inference
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
