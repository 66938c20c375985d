"""`python -m explorer`: the compute core for scripts, notebooks and our own checks.

With --json each command prints one JSON document; errors print one line on stderr
and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Callable, Sequence

from PIL import Image

from . import backend, costs, downloads, featurevis, graph, i18n, images, inference, lecture, samples, weights, zoo
from .i18n import t


def models_command(args: argparse.Namespace) -> object:
    rows = []
    for spec in zoo.REGISTRY.values():
        total = costs.summary(spec.key)
        rows.append({"key": spec.key, "name": spec.name, "family": spec.family,
                     "input_size": list(spec.input_size), "params": total.params, "macs": total.macs,
                     "top1": spec.top1, "top5": spec.top5,
                     "weights": weights.checkpoint_label(spec)})
    return rows


def summary_command(args: argparse.Namespace) -> object:
    total = costs.summary(zoo.get(args.model).key)
    return {"key": total.key, "params": total.params, "macs": total.macs,
            "taps": [{"name": t.name, "module": t.module, "kind": t.kind, "shape": list(t.shape),
                      "params": t.params, "macs": t.macs, "rf": t.rf} for t in total.taps]}


def predict_command(args: argparse.Namespace) -> object:
    spec = zoo.get(args.model)
    path = Path(args.image)
    image = images.load(images.read_file(path), path.name)
    device = backend.choose_device(args.device)
    if args.weights:
        weights_file, classes_file = Path(args.weights), Path(args.classes) if args.classes else None
        loaded = inference.load_user(spec.key, weights.read_file(weights_file, weights.MAX_WEIGHTS_BYTES),
                                     weights_file.name, weights.read_file(classes_file, weights.MAX_CLASS_FILE_BYTES)
                                     if classes_file else None, classes_file.name if classes_file else "", device)
    elif args.classes:
        raise ValueError("--classes names the outputs of --weights: give both")
    else:
        loaded = inference.load(spec.key, device)
    analysis = inference.analyse(loaded, image, taps=())
    why_random = weights.why_random(spec, loaded.status)
    if why_random is not None:  # on stderr: the JSON fields are fixed (shared/design.md)
        warnings.warn(t("cli.random_predictions", why=why_random))
    return {"key": spec.key, "weights": loaded.status.label, "device": analysis.run.device,
            "top5": [vars(p) for p in inference.top_k(analysis.record.logits, classes=loaded.class_names)]}


def weights_command(args: argparse.Namespace) -> object:
    specs = [zoo.get(key) for key in args.models] or list(zoo.REGISTRY.values())
    rows = []
    for spec in specs:
        if args.action == "fetch" and spec.weights is not None:
            downloads.fetch(spec, progress=_stderr_progress(spec.key) if not args.json else None)
        path = weights.find_checkpoint(spec)
        rows.append({"key": spec.key, "published": spec.weights is not None,
                     "weights": weights.checkpoint_label(spec),
                     "path": str(path) if path else None,
                     "url": weights.download_url(spec.weights) if spec.weights else None})
    return rows


def visualize_command(args: argparse.Namespace) -> object:
    """An image optimised to excite one channel of a tap (explorer.featurevis), saved as PNG."""
    spec = zoo.get(args.model)
    tap = featurevis.tap_of(spec.key, args.tap)
    channels = costs.summary(spec.key).tap(tap.name).shape[0]
    if not 0 <= args.channel < channels:
        raise ValueError(f"{spec.key} {tap.name} has channels 0 to {channels - 1}, not {args.channel}")
    if args.steps < 1 or args.size < 32:
        raise ValueError("--steps must be at least 1 and --size at least 32 pixels")
    loaded = inference.load(spec.key, backend.choose_device(args.device))
    settings = featurevis.Settings(steps=args.steps, size=args.size, seed=args.seed)
    result = featurevis.visualise(loaded, tap, [args.channel], settings)[0]
    natural = featurevis.natural_means(loaded, tap)[args.channel]
    Image.fromarray(result.image).save(args.out)
    why_random = weights.why_random(spec, loaded.status)
    if why_random is not None:
        warnings.warn(t("cli.random_visualisation", why=why_random))
    return {"key": spec.key, "tap": tap.name, "channel": args.channel, "steps": args.steps,
            "seconds": round(result.seconds, 3), "activation_start": result.activation_start,
            "activation_end": result.activation_end, "natural_mean": float(natural)}


VERDICTS = {"holds": "holds", "roughly": "roughly", "differs": "differs", "unseen": "not shown here",
            "paper": "paper only"}  # as the cards say in English


def claims_command(args: argparse.Namespace) -> object:
    """Every card of the Lecture, measured on the Cat photo (or --image), in --lang."""
    image = images.load(Path(args.image).read_bytes() if args.image else samples.path("Cat").read_bytes())
    network = zoo.get(args.network).key if args.network else weights.trained_network()
    rows = []
    with i18n.use(args.lang):
        for section in lecture.SECTIONS:
            for card in lecture.cards(section, image, network, lecture.Uncached()):
                claim = card.claim
                rows.append({"id": claim.id, "section": section, "claim": claim.statement, "measured": claim.measured,
                             "verdict": VERDICTS[claim.verdict], "network": claim.network or card.view.network,
                             "trained": claim.trained, "source": claim.source})
    return rows


def graph_command(args: argparse.Namespace) -> object:
    """The network graph at a level: boxes with their block, kind, shape, parameters and MACs, and edges."""
    found = graph.at_level(zoo.get(args.model).key, args.level)
    return {"key": found.key, "level": found.level,
            "nodes": [{"id": box.id, "label": box.label, "block": box.block, "kind": box.kind, "shape": list(box.shape),
                       "params": box.params, "macs": box.macs} for box in found.boxes],
            "edges": [list(edge) for edge in found.edges]}


def _stderr_progress(key: str) -> Callable[[int, int | None], None]:
    def report(done: int, total: int | None) -> None:
        share = f"{done / total:6.1%}" if total else f"{done / 2**20:.0f} MB"
        print(f"\r{key}: {share}", end="", file=sys.stderr, flush=True)
    return report


def _print_table(result: object) -> None:
    rows = result if isinstance(result, list) else \
        result.get("taps") or result.get("top5") or result.get("results") or result.get("nodes") or [result]
    if isinstance(result, dict):
        print("  ".join(f"{k}={v}" for k, v in result.items() if not isinstance(v, list)))
    for row in rows:
        print("  ".join(str(v) for v in row.values()))


class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not a usage dump
        raise _ArgumentError(message)


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="python -m explorer", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, handler, help_text in (("models", models_command, "registered networks"),
                                     ("summary", summary_command, "per-layer counts of one network"),
                                     ("predict", predict_command, "top-5 classes for an image"),
                                     ("weights", weights_command, "where weights come from; fetch them"),
                                     ("visualize", visualize_command, "what one channel looks for, as a PNG"),
                                     ("claims", claims_command, "the lecture's claims, each measured"),
                                     ("graph", graph_command, "the network as boxes and edges, by block or every module")):
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(handler=handler)
        command.add_argument("--json", action="store_true", help="print one JSON document")
        if name in ("summary", "predict", "graph"):
            command.add_argument("model", metavar="MODEL", help="a registered key, a torchvision name, or timm/<name>")
        if name == "predict":
            command.add_argument("image")
            command.add_argument("--weights", default=None, help="your state dict (.safetensors or .pth)")
            command.add_argument("--classes", default=None, help="its class names, one per line")
            command.add_argument("--device", default=None, help="cpu, cuda, mps (default: best)")
        if name == "visualize":
            command.add_argument("model", choices=list(zoo.REGISTRY), metavar="MODEL")
            command.add_argument("tap")
            command.add_argument("channel", type=int)
            command.add_argument("--steps", type=int, default=featurevis.Settings.steps)
            command.add_argument("--size", type=int, default=featurevis.Settings.size, help="pixels, square")
            command.add_argument("--seed", type=int, default=0)
            command.add_argument("--out", required=True, help="the PNG to write")
            command.add_argument("--device", default=None, help="cpu, cuda, mps (default: best)")
        if name == "claims":
            command.add_argument("--lang", choices=list(i18n.LANGUAGES), default=i18n.DEFAULT)
            command.add_argument("--image", default=None, help="measure on this image (default: the Cat sample)")
            command.add_argument("--network", default=None,
                                 help="the network picked, for the sparsity card (default: a trained one)")
        if name == "graph":
            command.add_argument("--level", choices=graph.LEVELS, default="blocks")
        if name == "weights":
            command.add_argument("action", choices=("status", "fetch"))
            command.add_argument("models", nargs="*", metavar="MODEL")
    return root


def _finite(value: object) -> object:
    """NaN and infinities as null: strict JSON parsers reject them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _one_line(error: BaseException) -> str:
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            args = parser().parse_args(argv)
            result = _finite(args.handler(args))
        except (_ArgumentError, KeyError, ValueError, images.ImageError, weights.WeightsError,
                backend.BackendError, OSError) as error:
            failure = _one_line(error)
        except Exception as error:  # anything unforeseen is still one line, not a traceback
            failure = f"{type(error).__name__}: {_one_line(error)}"
    for message in dict.fromkeys(_one_line(w.message) for w in caught):  # each once, on one line
        print(f"warning: {message}", file=sys.stderr)
    if failure is not None:
        print(f"error: {failure}", file=sys.stderr)
        return 2
    if args.json:
        json.dump(result, sys.stdout, allow_nan=False)
        print()
    else:
        _print_table(result)
    return 0
