"""Device choice and the out-of-memory fallback, simulated on the CPU."""
import pytest
import torch

from explorer import backend


def test_cpu_is_chosen_on_a_machine_without_accelerators(monkeypatch):
    monkeypatch.delenv("EXPLORER_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert backend.choose_device() == torch.device("cpu")
    assert backend.device_name(torch.device("cpu")).startswith("CPU (")


def test_cuda_comes_before_mps(monkeypatch):
    monkeypatch.delenv("EXPLORER_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert backend.choose_device().type == "cuda"


def test_environment_override_and_a_missing_device(monkeypatch):
    monkeypatch.setenv("EXPLORER_DEVICE", "cpu")
    assert backend.choose_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("EXPLORER_DEVICE", "cuda")
    with pytest.raises(backend.BackendError, match="not available"):
        backend.choose_device()


def test_out_of_memory_retries_once_on_the_cpu_and_says_so():
    calls = []

    def work(device):
        calls.append(device.type)
        if device.type != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return 42

    result, run = backend.run_with_fallback(work, torch.device("meta"))
    assert result == 42 and calls == ["meta", "cpu"] and run.device == "cpu"
    assert "ran out of memory" in str(run.fell_back)


def test_other_errors_are_not_hidden():
    def work(device):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        backend.run_with_fallback(work, torch.device("meta"))
