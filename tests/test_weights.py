"""Weight resolution on files the tests make: a TORCH_HOME checkpoint, a loopback download."""
import http.server
import threading
import time
from pathlib import Path

import pytest
import torch

from explorer import weights, zoo

KEY = "squeezenet1_1"  # the smallest torchvision checkpoint layout


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


@pytest.fixture
def cached_checkpoint(torch_home):
    """Where torchvision's loader (and ours) looks for KEY's checkpoint, folder created."""
    path = torch_home / "hub" / "checkpoints" / zoo.get(KEY).weights.filename
    path.parent.mkdir(parents=True)
    return path


def _marked_state_dict(key: str, value: float = 0.125) -> dict:
    state = weights.random_model(zoo.get(key)).state_dict()
    first = next(k for k in state if k.endswith("weight"))
    state[first] = torch.full_like(state[first], value)
    return state


def test_random_init_is_seeded_and_identical_across_runs():
    spec = zoo.get(KEY)
    first, status = weights.load(spec)
    second, _ = weights.load(spec)
    assert not status.pretrained and status.label == "random"
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    assert weights.seed_for(KEY) == weights.seed_for(KEY) != weights.seed_for("alexnet")


def test_checkpoint_in_torch_home_is_picked_up(cached_checkpoint):
    spec, path = zoo.get(KEY), cached_checkpoint
    torch.save(_marked_state_dict(KEY), path)
    model, status = weights.load(spec)
    assert status.pretrained and status.label == f"pretrained:{spec.weights.name}"
    assert status.location == str(path)
    assert (model.features[0].weight == 0.125).all()


def test_weights_dir_comes_before_the_cache(torch_home, tmp_path, monkeypatch):
    spec = zoo.get(KEY)
    folder = tmp_path / "mine"
    folder.mkdir()
    torch.save(_marked_state_dict(KEY, 0.5), folder / spec.weights.filename)
    cached = torch_home / "hub" / "checkpoints" / spec.weights.filename
    cached.parent.mkdir(parents=True)
    torch.save(_marked_state_dict(KEY, 0.25), cached)
    monkeypatch.setenv("EXPLORER_WEIGHTS_DIR", str(folder))
    model, status = weights.load(spec)
    assert (model.features[0].weight == 0.5).all() and status.location.startswith(str(folder))


def test_googlenet_checkpoint_with_aux_heads_loads_and_drops_them(torch_home):
    spec = zoo.get("googlenet")
    state = weights.random_model(spec).state_dict()  # the checkpoint layout keeps aux1/aux2
    assert any(k.startswith("aux1.") for k in state)
    path = torch_home / "hub" / "checkpoints" / spec.weights.filename
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    model, status = weights.load(spec)
    assert status.pretrained and model.aux1 is None
    assert sum(p.numel() for p in model.parameters()) == 6_624_904


def test_timm_safetensors_in_the_weights_dir(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    spec = zoo.get("inception_v4")
    state = {k: v.contiguous() for k, v in weights.random_model(spec).state_dict().items()}
    state["last_linear.bias"] = torch.full_like(state["last_linear.bias"], 3.0)
    save_file(state, tmp_path / spec.weights.filename)
    monkeypatch.setenv("EXPLORER_WEIGHTS_DIR", str(tmp_path))
    model, status = weights.load(spec)
    assert status.pretrained and (model.last_linear.bias == 3.0).all()


def test_corrupt_checkpoint_falls_back_to_random_with_a_warning(cached_checkpoint):
    spec, path = zoo.get(KEY), cached_checkpoint
    path.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    model, status = weights.load(spec)
    assert not status.pretrained
    assert "not a readable checkpoint" in str(status.warning) and "random weights" in str(status.warning)


def test_checkpoint_of_another_network_falls_back_with_a_warning(cached_checkpoint):
    spec, path = zoo.get(KEY), cached_checkpoint
    torch.save({"conv.weight": torch.zeros(1)}, path)
    _, status = weights.load(spec)
    assert not status.pretrained
    assert "does not fit SqueezeNet 1.1" in str(status.warning) and "1 unexpected" in str(status.warning)


def test_pickled_code_is_refused(cached_checkpoint):
    torch.save({"evil": Path("/")}, cached_checkpoint)  # an arbitrary object: weights_only must refuse it
    with pytest.raises(weights.WeightsError):
        weights.read_state_dict(cached_checkpoint)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # the stalled-download test hangs up on purpose


@pytest.fixture
def loopback(tmp_path):
    """A file server on 127.0.0.1 for tmp_path/served; slow paths stall before answering."""
    served = tmp_path / "served"
    served.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def do_GET(self):
            if "slow" in self.path:
                time.sleep(3)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_downloads_from_a_mirror_with_progress(torch_home, loopback, monkeypatch):
    served, url = loopback
    spec = zoo.get(KEY)
    torch.save(_marked_state_dict(KEY, 0.75), served / spec.weights.filename)
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", url)
    seen = []
    path = weights.fetch(spec, progress=lambda done, total: seen.append((done, total)), timeout=5)
    size = (served / spec.weights.filename).stat().st_size
    assert path == torch_home / "hub" / "checkpoints" / spec.weights.filename
    assert seen[-1] == (size, size) and len(seen) >= 2  # 1 MiB chunks of a ~5 MB file
    model, status = weights.load(spec)
    assert status.pretrained and (model.features[0].weight == 0.75).all()


def test_failed_and_stalled_downloads_leave_nothing_behind(torch_home, loopback, monkeypatch):
    _, url = loopback
    spec = zoo.get(KEY)
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", url)
    with pytest.raises(weights.WeightsError, match="failed"):
        weights.fetch(spec, timeout=5)  # 404
    with pytest.raises(weights.WeightsError, match="timed out"):
        weights.download(f"{url}/slow", torch_home / "x.pth", timeout=0.5)
    checkpoints = torch_home / "hub" / "checkpoints"
    assert not checkpoints.exists() or not any(checkpoints.iterdir())


def test_fetch_refuses_networks_without_published_weights():
    with pytest.raises(weights.WeightsError, match="no published weights"):
        weights.fetch(zoo.get("zfnet"))


def test_seeded_init_is_identical_when_networks_are_built_concurrently():
    from concurrent.futures import ThreadPoolExecutor

    keys = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "resnet18"] * 2
    alone = {key: weights.random_model(zoo.get(key)).state_dict() for key in set(keys)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda key: weights.random_model(zoo.get(key)).state_dict(), keys))
    for key, state in zip(keys, together):
        assert all(torch.equal(state[name], value) for name, value in alone[key].items()), key
