"""Shared fixtures: an isolated weights cache, sample images, the AppTest workaround."""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "assets" / "samples"
ARTIFACTS = ROOT / "tests" / "artifacts"


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
    from tests.apptest import navigation_pinned

    with navigation_pinned():
        yield


def rss_mb() -> float:
    """This process's resident memory, in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="session")
def cat_bytes() -> bytes:
    return (SAMPLES / "cat.jpg").read_bytes()


@pytest.fixture(scope="session")
def cat_image(cat_bytes):
    from explorer import images

    return images.load(cat_bytes, "cat.jpg")


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
