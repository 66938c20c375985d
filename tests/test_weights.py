"""Weight resolution on files the tests make: a TORCH_HOME checkpoint, a loopback download."""
import dataclasses
import hashlib
import http.server
import json
import re
import socket
import socketserver
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from explorer import downloads, weights, zoo

KEY = "squeezenet1_1"  # the smallest torchvision checkpoint layout
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "samples" / "cat.jpg"


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


@pytest.fixture
def loopback(tmp_path):
    """A file server on 127.0.0.1 for tmp_path/served."""
    served = tmp_path / "served"
    served.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _integer_keys(state):
    return {index: value for index, value in enumerate(state.values())}


def _tuple_keys(state):
    return {tuple(name.split(".")): value for name, value in state.items()}


def _with_nan(state):
    first = next(k for k in state if k.endswith("weight"))
    state[first][0, 0, 0, 0] = float("nan")
    return state


def _as_integers(state):
    first = next(k for k in state if k.endswith("weight"))
    state[first] = (state[first] * 1000).long()
    return state


def _a_number_inside(state):
    state[next(iter(state))] = 0.5
    return state


REFUSED = {"integer keys": (_integer_keys, "keyed by something other than parameter names .*0"),
           "tuple keys": (_tuple_keys, "keyed by something other than parameter names .*'features'"),
           "NaN": (_with_nan, "features.0.weight holds NaN or infinite values"),
           "int64": (_as_integers, "features.0.weight holds torch.int64 numbers"),
           "not a tensor": (_a_number_inside, "something other than a tensor under features.0.weight")}


@pytest.mark.parametrize("case", REFUSED)
def test_a_checkpoint_on_disk_is_validated_and_the_refusal_says_why(case, cached_checkpoint, capsys):
    spoil, reason = REFUSED[case]
    torch.save(spoil(_marked_state_dict(KEY)), cached_checkpoint)
    model, status = weights.load(zoo.get(KEY))
    assert not status.pretrained and status.label == "random"
    assert re.search(reason, str(status.warning))
    assert weights.why_random(zoo.get(KEY), status) == status.warning
    assert torch.isfinite(model.features[0].weight).all()  # the seeded random init, whole
    from explorer import cli

    assert cli.main(["predict", KEY, str(SAMPLE), "--json"]) == 0
    printed = capsys.readouterr()
    result = json.loads(printed.out)  # strict JSON: no NaN
    assert set(result) == {"key", "weights", "device", "top5"} and result["weights"] == "random"
    assert re.search(reason, printed.err) and "random weights and mean nothing" in printed.err


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """Downloads allowed (the suite sets EXPLORER_OFFLINE), and no failure remembered from
    another test (the server's memory of failed downloads lives as long as the process)."""
    monkeypatch.delenv("EXPLORER_OFFLINE", raising=False)
    monkeypatch.setattr(weights, "FAILED", {})


def _with_hashed_name(key: str, path: Path) -> zoo.ModelSpec:
    """KEY's spec with its checkpoint named torchvision's way after the file at path, whose
    SHA-256 prefix the name then carries."""
    spec = zoo.get(key)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    url = f"https://download.pytorch.org/models/{key}-{digest}.pth"
    return dataclasses.replace(spec, weights=dataclasses.replace(spec.weights, url=url))


def _checkpoints(torch_home: Path) -> list[Path]:
    folder = torch_home / "hub" / "checkpoints"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_fetch_downloads_from_a_mirror_with_progress_and_checks_the_hash(torch_home, loopback, monkeypatch):
    served, url = loopback
    made = served / "made.pth"
    torch.save(_marked_state_dict(KEY, 0.75), made)
    spec = _with_hashed_name(KEY, made)
    made.rename(served / spec.weights.filename)
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", url)
    seen = []
    path = downloads.fetch(spec, progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert path == torch_home / "hub" / "checkpoints" / spec.weights.filename
    assert seen[-1] == (size, size) and all(0 <= done <= size for done, _ in seen)
    assert _checkpoints(torch_home) == [path]  # no partial file left beside it
    model, status = weights.load(spec)
    assert status.pretrained and (model.features[0].weight == 0.75).all()


def test_a_file_that_does_not_match_the_hash_in_its_name_is_refused(torch_home, loopback, monkeypatch):
    served, url = loopback
    spec = zoo.get(KEY)  # squeezenet1_1-b8a52dc0.pth: our file's hash starts otherwise
    torch.save(_marked_state_dict(KEY), served / spec.weights.filename)
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", url)
    with pytest.raises(weights.WeightsError, match="does not match its checksum.*b8a52dc0"):
        downloads.fetch(spec)
    assert _checkpoints(torch_home) == []
    assert not weights.load(spec)[1].pretrained


@pytest.fixture
def raw_server():
    """A loopback TCP server playing a broken or hostile web server: every request is answered by
    the function the test sets, writing whatever bytes it likes to the socket. Counts requests."""
    behaviour = {"requests": 0}

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.recv(65536)
            behaviour["requests"] += 1
            try:
                behaviour["reply"](self.request)
            except OSError:
                pass  # the client gave up first, as it should

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    behaviour["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield behaviour
    server.shutdown()
    server.server_close()


def _reply(raw: bytes):
    return lambda sock: sock.sendall(raw)


HOSTILE = {
    "not HTTP": (_reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n"), "download of .* failed"),
    "length abc": (_reply(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nnot a checkpoint"), "checksum"),
    "negative length": (_reply(b"HTTP/1.1 200 OK\r\nContent-Length: -400\r\n\r\n" + b"x" * 1000), "checksum"),
    "64 KB header": (_reply(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 70_000 + b"\r\n\r\n"),
                     "download of .* failed"),
    "huge length": (_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n"), "offers 9536.7 MB"),
    "endless body": (lambda sock: [sock.sendall(b"HTTP/1.1 200 OK\r\n\r\n")] + [sock.sendall(b"x" * 2**20)
                                                                                for _ in range(64)],
                     "more than the .* MB this checkpoint can be"),
    "cut short": (_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 10), "ended early: 10 of 5000"),
    "server error": (_reply(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"), "500"),
    "empty": (_reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), "ended early: 0"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_broken_or_hostile_server_gives_one_clear_message_and_leaves_nothing(case, torch_home, raw_server,
                                                                             monkeypatch):
    reply, message = HOSTILE[case]
    raw_server["reply"] = reply
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", raw_server["url"])
    seen = []
    started = time.monotonic()
    with pytest.raises(weights.WeightsError, match=message) as caught:
        downloads.fetch(zoo.get(KEY), progress=lambda done, total: seen.append((done, total)))
    assert time.monotonic() - started < 10
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400
    assert all(total is None or 0 <= done <= total for done, total in seen)  # a bar never leaves [0, 1]
    assert _checkpoints(torch_home) == []


def test_a_trickling_server_meets_the_deadline(torch_home, raw_server, monkeypatch):
    def trickle(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n")
        for _ in range(400):
            sock.sendall(b"x")
            time.sleep(0.02)

    raw_server["reply"] = trickle
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", raw_server["url"])
    started = time.monotonic()
    with pytest.raises(weights.WeightsError, match="too slow"):
        downloads.fetch(zoo.get(KEY), deadline_s=1.0)
    assert time.monotonic() - started < 3
    assert _checkpoints(torch_home) == []


def test_a_server_slower_than_the_minimum_rate_is_dropped_after_the_grace_period(torch_home, raw_server):
    def trickle(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n")
        for _ in range(400):
            sock.sendall(b"x" * 100)
            time.sleep(0.02)

    raw_server["reply"] = trickle  # 5 KB/s
    started = time.monotonic()
    with pytest.raises(weights.WeightsError, match="too slow"):
        downloads.download(raw_server["url"] + "/x.pth", torch_home / "x.pth", max_bytes=2**23, min_rate=50_000,
                         grace_s=0.5)
    assert time.monotonic() - started < 2.5
    assert not list(torch_home.iterdir())


def test_a_silent_server_is_dropped_after_the_stall_timeout(torch_home, raw_server):
    raw_server["reply"] = lambda sock: time.sleep(5)
    started = time.monotonic()
    with pytest.raises(weights.WeightsError, match="timed out"):
        downloads.download(raw_server["url"] + "/x.pth", torch_home / "x.pth", max_bytes=1000, stall_s=0.5)
    assert time.monotonic() - started < 3
    assert not (torch_home / "x.pth").exists() and not list(torch_home.iterdir())


def test_offline_a_fetch_fails_within_three_seconds_once_per_server_start(torch_home, monkeypatch):
    lookups = []

    def slow_lookup(*args, **kwargs):  # a machine whose name server never answers
        lookups.append(args)
        time.sleep(30)

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    spec = zoo.get(KEY)
    started = time.monotonic()
    with pytest.raises(weights.WeightsError, match="cannot be reached"):
        downloads.fetch(spec, automatic=True)
    assert time.monotonic() - started < downloads.CONNECT_TIMEOUT_S + 1
    asked = len(lookups)  # the next visit does not try again: no new lookup
    with pytest.raises(weights.WeightsError, match="not retried until the server restarts"):
        downloads.fetch(spec, automatic=True)
    assert asked >= 1 and len(lookups) == asked
    assert "not downloaded" in str(weights.why_random(spec, weights.load(spec)[1]))
    monkeypatch.setattr(weights, "FAILED", {})  # a restart
    monkeypatch.setenv("EXPLORER_OFFLINE", "1")
    with pytest.raises(weights.WeightsError, match="EXPLORER_OFFLINE"):
        downloads.fetch(spec)
    assert "EXPLORER_OFFLINE" in str(weights.why_random(spec, weights.load(spec)[1]))


def test_an_explicit_fetch_tries_again_after_an_automatic_one_failed(torch_home, raw_server, monkeypatch):
    raw_server["reply"] = _reply(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", raw_server["url"])
    spec = zoo.get(KEY)
    for automatic in (True, True, False):
        with pytest.raises(weights.WeightsError):
            downloads.fetch(spec, automatic=automatic)
    assert raw_server["requests"] == 2


def test_sessions_asking_at_once_share_one_download(torch_home, raw_server, monkeypatch):
    checkpoint = torch_home.parent / "made.pth"
    torch.save(_marked_state_dict(KEY, 0.5), checkpoint)
    spec = _with_hashed_name(KEY, checkpoint)
    body = checkpoint.read_bytes()

    def slowly(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), len(body) // 20 + 1):
            sock.sendall(body[start:start + len(body) // 20 + 1])
            time.sleep(0.05)

    raw_server["reply"] = slowly
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", raw_server["url"])
    progress = [[] for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        paths = list(pool.map(lambda i: downloads.fetch(spec, progress=lambda d, t: progress[i].append((d, t)),
                                                      automatic=True), range(8)))
    assert raw_server["requests"] == 1 and len(set(paths)) == 1
    assert all(seen[-1] == (len(body), len(body)) and len(seen) > 2 for seen in progress)
    assert _checkpoints(torch_home) == paths[:1]


def test_the_size_cap_fits_every_published_torchvision_file():
    """The cap is computed from the network's tensors; torchvision publishes each file's size."""
    from torchvision import models

    published = {w.url: w for name in models.list_models(models) for w in models.get_model_weights(name)}
    for spec in zoo.REGISTRY.values():
        if spec.weights is None or spec.weights.library != "torchvision":
            continue
        size, expected = published[spec.weights.url].meta["_file_size"] * 2**20, downloads.expected_bytes(spec)
        assert expected <= size <= expected * 1.01 + 2**16, spec.key


def test_fetch_refuses_networks_without_published_weights():
    with pytest.raises(weights.WeightsError, match="no published weights"):
        downloads.fetch(zoo.get("zfnet"))


def test_seeded_init_is_identical_when_networks_are_built_concurrently():
    from concurrent.futures import ThreadPoolExecutor

    keys = ["squeezenet1_1", "shufflenet_v2_x0_5", "mobilenet_v3_small", "resnet18"] * 2
    alone = {key: weights.random_model(zoo.get(key)).state_dict() for key in set(keys)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda key: weights.random_model(zoo.get(key)).state_dict(), keys))
    for key, state in zip(keys, together):
        assert all(torch.equal(state[name], value) for name, value in alone[key].items()), key


@pytest.fixture
def fresh_models():
    """No network loaded by an earlier test: the app must load (and fetch) it anew."""
    from explorer.ui import cache

    cache.forget_models()
    yield
    cache.forget_models()


def test_the_app_downloads_missing_weights_when_a_network_is_picked(torch_home, loopback, monkeypatch,
                                                                      fresh_models):
    from harness import apptest

    served, url = loopback
    made = served / "made.pth"
    torch.save(_marked_state_dict(KEY, 0.25), made)
    spec = _with_hashed_name(KEY, made)
    made.rename(served / spec.weights.filename)
    monkeypatch.setitem(zoo.REGISTRY, KEY, spec)
    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", url)
    app = apptest.start(KEY)
    assert not apptest.errors(app)
    assert any(spec.weights.name in s.value for s in app.success) and "runs with untrained" not in apptest.texts(app)
    assert _checkpoints(torch_home) == [weights.hub_path(spec.weights)]


def test_offline_the_app_says_why_the_network_runs_untrained_without_waiting(torch_home, monkeypatch, fresh_models):
    from harness import apptest

    monkeypatch.setenv("EXPLORER_WEIGHTS_MIRROR", "http://127.0.0.1:9")  # the discard port: nobody listens
    for visit in range(2):  # the second visit does not try again
        started = time.monotonic()
        app = apptest.start(KEY)
        assert not apptest.errors(app)
        text = apptest.texts(app)
        assert "runs with untrained (random) weights" in text
        assert "were not downloaded" in text and "cannot be reached" in text, text
        assert time.monotonic() - started < (downloads.CONNECT_TIMEOUT_S + 20 if visit == 0 else 20)
    assert any(b.label == "Download pretrained weights" for b in app.button)  # an explicit retry
    monkeypatch.setenv("EXPLORER_OFFLINE", "1")
    app = apptest.start(KEY)
    assert "EXPLORER_OFFLINE is set" in apptest.texts(app)
    assert not any(b.label == "Download pretrained weights" for b in app.button)
