"""Shared fixtures: an isolated weights cache, sample images, the AppTest workaround (helpers
that tests and benchmarks share live in harness/)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.paths import ARTIFACTS, SAMPLES


@pytest.fixture(scope="session", autouse=True)
def isolated_caches(tmp_path_factory):
    """No test sees the developer's own torch/HF caches or weights folder, and no test downloads
    (the tests of downloading lift EXPLORER_OFFLINE and serve files from a loopback server)."""
    home = tmp_path_factory.mktemp("torch_home")
    saved = {k: os.environ.get(k) for k in ("TORCH_HOME", "HF_HOME", "EXPLORER_WEIGHTS_DIR",
                                            "EXPLORER_WEIGHTS_MIRROR", "EXPLORER_DEVICE", "EXPLORER_OFFLINE")}
    os.environ.update(TORCH_HOME=str(home / "torch"), HF_HOME=str(home / "hf"), EXPLORER_OFFLINE="1")
    for key in ("EXPLORER_WEIGHTS_DIR", "EXPLORER_WEIGHTS_MIRROR", "EXPLORER_DEVICE"):
        os.environ.pop(key, None)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def background_work_ends_before_the_process():
    """Pages leave work running in threads (latency probes, warming the slides); torch still running
    in one when the interpreter exits aborts the process."""
    yield
    from explorer.ui import cache

    cache.wait_for_background()


@pytest.fixture(scope="session", autouse=True)
def apptest_with_pages_folder():
    from harness.apptest import navigation_pinned

    with navigation_pinned():
        yield


@pytest.fixture(scope="session")
def cat_bytes() -> bytes:
    return (SAMPLES / "cat.jpg").read_bytes()


@pytest.fixture(scope="session")
def cat_image(cat_bytes):
    from explorer import images

    return images.load(cat_bytes, "cat.jpg")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
