"""On a CUDA machine: every registered network on cuda and on the cpu, same weights, same image.

Prints one JSON document: per network the largest difference of the logits and of any tap's
activations, relative to the CPU values' largest magnitude (target 1e-3, TF32 off), and the
speed-up of a batch-16 forward pass. Without CUDA it says so and exits 0.
`python -m bench.gpu_check [--networks alexnet vgg16 ...]`
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from explorer import images, inference, zoo

SAMPLE = "assets/samples/cat.jpg"
TOLERANCE = 1e-3


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max().clamp_min(1e-12))


def _median_seconds(model, x, device: torch.device, repeats: int = 5) -> float:
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            model(x)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def check(key: str, image: images.LoadedImage, cuda: torch.device) -> dict:
    cpu_model = inference.load(key, torch.device("cpu"))
    gpu_model = inference.load(key, cuda)  # the same seeded (or pretrained) weights
    on_cpu = inference.analyse(cpu_model, image).record
    on_gpu = inference.analyse(gpu_model, image).record
    logits = _relative(on_gpu.logits, on_cpu.logits)
    activations = max(_relative(on_gpu.outputs[name], tensor) for name, tensor in on_cpu.outputs.items())
    batch = torch.zeros(16, *cpu_model.spec.input_size)
    speedup = cpu_model.run(lambda model, on: _median_seconds(model, batch.to(on), on, 2))[0] / \
        gpu_model.run(lambda model, on: _median_seconds(model, batch.to(on), on))[0]
    return {"key": key, "logits_rel_diff": logits, "activations_rel_diff": activations,
            "speedup_batch16": round(speedup, 2), "ok": max(logits, activations) <= TOLERANCE}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="*", default=list(zoo.REGISTRY))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"device": "cpu", "skipped": "no CUDA device on this machine"}))
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False  # compare float32 with float32
    torch.backends.cudnn.allow_tf32 = False
    cuda = torch.device("cuda")
    image = images.load(open(SAMPLE, "rb").read())
    results = [check(key, image, cuda) for key in args.networks]
    print(json.dumps({"device": torch.cuda.get_device_name(cuda), "tolerance": TOLERANCE, "results": results,
                      "all_ok": all(r["ok"] for r in results)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
