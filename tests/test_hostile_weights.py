"""One student's hostile weights file cannot hurt the server (issue 27): each file of the corpus
(tests/data/hostile_weights.py) is refused in one sentence, before the reader allocates more than
twice the network's own weights, and the CLI reads weight and class files within bounds."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
import torch

from explorer import inference, weights, zoo
from harness import memory
from harness.paths import ROOT, SAMPLES
from tests.data import hostile_weights

NETWORK = "resnet18"


@pytest.fixture(scope="module")
def own_state() -> dict[str, torch.Tensor]:
    return weights.random_model(zoo.get(NETWORK)).state_dict()


@pytest.fixture(scope="module")
def corpus(own_state) -> dict[str, hostile_weights.Case]:
    return {case.name: case for case in hostile_weights.cases(own_state, "fc")}


def _peak_while(work) -> tuple[int, object]:
    """The most resident memory above the start while work() runs (sampled every millisecond)."""
    start, peak, done = memory.rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], memory.rss_bytes() - start)
            done.wait(0.001)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        outcome = work()
    except Exception as error:  # the refusal is the outcome
        outcome = error
    finally:
        done.set()
        sampler.join()
    return max(peak[0], memory.rss_bytes() - start), outcome


@pytest.mark.parametrize("name", ["stride0_head", "stride0_extra", "overlapping", "zip_bomb", "legacy_pickle",
                                  "huge_header", "float64_overflow", "float8", "sparse_coo", "sparse_csr", "meta",
                                  "long_key"])
def test_a_hostile_weights_file_is_refused_in_one_sentence_within_bounded_memory(name, corpus, own_state):
    case = corpus[name]
    own_bytes = sum(t.numel() * t.element_size() for t in own_state.values())
    peak, outcome = _peak_while(lambda: inference.load_user(NETWORK, case.data, case.file))
    assert isinstance(outcome, weights.WeightsError), repr(outcome)
    sentence = str(outcome)
    assert case.says in sentence and "\n" not in sentence and len(sentence) < 400, sentence
    assert peak <= 2 * own_bytes, (peak / 2**20, own_bytes / 2**20)


def test_a_class_name_file_with_an_endless_name_is_refused():
    with pytest.raises(weights.WeightsError, match="longer than 200 characters"):
        weights.read_class_names(b"cat\n" + b"x" * 10_000_000 + b"\n", "classes.txt")


def _predict(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", "predict", NETWORK, str(SAMPLES / "cat.jpg"), *extra,
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_cli_refuses_a_device_or_a_fifo_as_weights_without_reading_or_waiting(tmp_path):
    fifo = tmp_path / "weights.pth"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        done = _predict("--weights", path)
        assert done.returncode == 2 and "is not a regular file" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_the_cli_says_one_sentence_for_weights_torch_cannot_convert(tmp_path, corpus):
    path = tmp_path / "f8.pth"
    path.write_bytes(corpus["float8"].data)
    done = _predict("--weights", str(path))
    assert done.returncode == 2 and "float8_e4m3fn" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_a_refused_upload_is_not_read_again_on_the_next_rerun(corpus, monkeypatch):
    from explorer.ui import cache

    reads = []
    real = inference.load_user
    monkeypatch.setattr(inference, "load_user", lambda *args: reads.append(args[2]) or real(*args))
    case = corpus["long_key"]
    messages = []
    for _ in range(3):  # three reruns of the session that keeps the file in its uploader
        with pytest.raises(weights.WeightsError) as refused:
            cache.user_model(NETWORK, "upload-1", case.file, None, case.data, None, "")
        messages.append(str(refused.value))
    assert reads == [case.file] and len(set(messages)) == 1
    with pytest.raises(weights.WeightsError):  # another upload is read afresh
        cache.user_model(NETWORK, "upload-2", case.file, None, case.data, None, "")
    assert reads == [case.file, case.file]
