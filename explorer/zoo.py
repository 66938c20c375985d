"""The one registry of networks: every page, the CLI and the tests read it from here.

Facts torchvision publishes (parameter count, preprocessing, accuracy, checkpoint URL,
class names) are read from its weight metadata at import time, never copied.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import timm
import torch
from torch import nn
import torchvision.models
from torchvision.models import get_model, get_model_weights, list_models

from . import i18n, layouts, rng
from .architectures import alexnet2012, efficientnet_lite, googlenet_paper, plain, zfnet
from .cache import memoize
from .i18n import Text
from .taps import Tap


@dataclass(frozen=True)
class Paper:
    title: str
    authors: str
    year: int


@dataclass(frozen=True)
class Preprocess:
    resize: int  # shorter side before the centre crop
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str  # "bilinear" or "bicubic"


@dataclass(frozen=True)
class WeightsSource:
    library: str  # "torchvision", "timm", or "package" (a checkpoint an installed package ships)
    name: str  # e.g. "IMAGENET1K_V1", "inception_v4.tf_in1k", "efficientnet-lite0-57934424"
    url: str | None  # None: nothing to download
    bundled: Callable[[], Path | None] | None = None  # where an installed package keeps the file
    adapt: Callable[[nn.Module, dict], dict] | None = None  # the file's tensors under the model's names

    @property
    def filename(self) -> str:
        if self.library == "timm":
            return self.name + ".safetensors"
        return self.url.rsplit("/", 1)[-1] if self.url else self.name + ".pth"


# He et al. 2015, Table 2: top-1 error (%, 10-crop testing) on ImageNet val, the degradation problem
RESNET_TABLE_2 = {"plain18": 27.94, "plain34": 28.54, "resnet18": 27.88, "resnet34": 25.03}

# How a published accuracy was measured (named by the texts "zoo.protocol.<key>"), and whether it
# compares like with like: single-crop evaluation of a network trained as its paper did. Ten-crop
# tables score a few points higher; torchvision's V2 weights come from a newer training recipe.
PROTOCOLS = {"torchvision_v1": True, "paper_1crop": True, "release_1crop": True,
             "torchvision_v2": False, "paper_10crop": False}


@dataclass(frozen=True)
class ModelSpec:
    key: str
    english_name: str  # as the papers and libraries spell it; `name` is what a reader sees
    family: str
    paper: Paper | None  # None: a network found by name
    preprocess: Preprocess
    build: Callable[[], nn.Module]  # the layout a checkpoint is saved in
    layout: Callable[[nn.Module], list[Tap]]
    weights: WeightsSource | None = None
    top1: float | None = None
    top5: float | None = None
    metrics_source: Text | None = None  # texts are in explorer/locales, by key
    protocol: str = "paper_1crop"  # how top1/top5 were measured: a key of PROTOCOLS
    original_recipe: tuple[float, float] | None = None  # torchvision's V1 top-1/top-5 when the weights are V2
    finalize: Callable[[nn.Module], None] | None = None  # after weights are loaded
    notes: Text | None = None

    @property
    def name(self) -> str:
        """The name in the active language: a text "zoo.name.<key>" where the English name says
        more than a proper noun ("AlexNet (2012 paper)"), else the English name."""
        text = f"zoo.name.{self.key}"
        return i18n.t(text) if text in i18n.table(i18n.DEFAULT) else self.english_name

    def accuracy(self, like_with_like: bool = True) -> tuple[float | None, float | None, str]:
        """(top-1, top-5, protocol). Like with like: single-crop numbers of original training
        recipes only — torchvision's V1 numbers for V2 weights, nothing for 10-crop paper tables."""
        if not like_with_like or PROTOCOLS[self.protocol]:
            return self.top1, self.top5, self.protocol
        if self.original_recipe is not None:
            return *self.original_recipe, "torchvision_v1"
        return None, None, self.protocol

    @property
    def input_size(self) -> tuple[int, int, int]:
        return (3, self.preprocess.crop, self.preprocess.crop)

    def instantiate(self) -> nn.Module:
        """The network as used, in eval mode; weights are the builder's initialisation."""
        model = self.build()
        if self.finalize:
            self.finalize(model)
        return model.eval()


FAMILIES = (  # the lecture's order; their names are texts "zoo.family.<key>"
    "alexnet", "zfnet", "vgg", "inception", "resnet", "plain", "squeezenet", "mobilenet", "shufflenet",
    "efficientnet",
)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ALEXNET = Paper("ImageNet Classification with Deep Convolutional Neural Networks",
                "Krizhevsky, Sutskever, Hinton", 2012)
ZFNET = Paper("Visualizing and Understanding Convolutional Networks", "Zeiler, Fergus", 2013)
VGG = Paper("Very Deep Convolutional Networks for Large-Scale Image Recognition",
            "Simonyan, Zisserman", 2014)
GOOGLENET = Paper("Going Deeper with Convolutions", "Szegedy et al.", 2014)
INCEPTION_V3 = Paper("Rethinking the Inception Architecture for Computer Vision",
                     "Szegedy et al.", 2015)
INCEPTION_V4 = Paper("Inception-v4, Inception-ResNet and the Impact of Residual Connections "
                     "on Learning", "Szegedy, Ioffe, Vanhoucke, Alemi", 2016)
RESNET = Paper("Deep Residual Learning for Image Recognition", "He, Zhang, Ren, Sun", 2015)
SQUEEZENET = Paper("SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB "
                   "model size", "Iandola et al.", 2016)
MOBILENET_V2 = Paper("MobileNetV2: Inverted Residuals and Linear Bottlenecks",
                     "Sandler et al.", 2018)
MOBILENET_V3 = Paper("Searching for MobileNetV3", "Howard et al.", 2019)
EFFICIENTNET = Paper("EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks "
                     "(Lite variants: TensorFlow, 2020)", "Tan, Le", 2019)
SHUFFLENET_V2 = Paper("ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
                      "Ma, Zhang, Zheng, Sun", 2018)


def _drop_aux_heads(model: nn.Module) -> None:
    # torchvision's GoogLeNet checkpoint holds the auxiliary classifiers, but the
    # pretrained model drops them (6,624,904 parameters); do the same.
    model.aux_logits, model.aux1, model.aux2 = False, None, None


TIMM_PREFIX = "timm/"


def _torchvision(key: str, name: str | None = None, family: str = "named", paper: Paper | None = None,
                 layout=None, notes: bool = False, finalize=None, **build_kwargs) -> ModelSpec:
    """A torchvision network: preprocessing, weights and accuracy from its DEFAULT weights'
    metadata (and the V1 recipe's accuracy beside V2 weights); without a `layout`, the taps that
    `layouts.auto_layout` finds (a network found by name)."""
    weights = get_model_weights(key).DEFAULT
    transforms = weights.transforms()
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    v2 = weights.name.endswith("_V2")
    v1 = get_model_weights(key)["IMAGENET1K_V1"].meta["_metrics"]["ImageNet-1K"] if v2 else None
    crop = transforms.crop_size[0]
    return ModelSpec(
        key=key, english_name=name or key, family=family, paper=paper,
        preprocess=Preprocess(resize=transforms.resize_size[0], crop=crop,
                              mean=tuple(transforms.mean), std=tuple(transforms.std),
                              interpolation=transforms.interpolation.value),
        build=partial(get_model, key, weights=None, **build_kwargs),
        layout=layout or partial(layouts.auto_layout, size=crop),
        weights=WeightsSource("torchvision", weights.name, weights.url),
        top1=metrics["acc@1"], top5=metrics["acc@5"],
        metrics_source=Text("zoo.source.torchvision", weights=weights.name),
        protocol="torchvision_v2" if v2 else "torchvision_v1",
        original_recipe=(v1["acc@1"], v1["acc@5"]) if v1 else None,
        finalize=finalize, notes=Text(f"zoo.notes.{key}") if notes else None)


def _timm(name: str, key: str | None = None, english_name: str | None = None, family: str = "named",
          paper: Paper | None = None, layout=None, top1: float | None = None, top5: float | None = None,
          protocol: str = "release_1crop") -> ModelSpec:
    """A timm network from its pretrained config (timm's defaults where a config leaves a field
    out); curated ones bring their paper's accuracy (texts "zoo.source.<key>"), one found by name
    its `auto_layout` taps and none."""
    cfg = timm.models.get_pretrained_cfg(name)
    cfg = cfg.to_dict() if cfg is not None else {}
    size = (cfg.get("input_size") or (3, 224, 224))[-1]
    hub = cfg.get("hf_hub_id")
    key = key or TIMM_PREFIX + name
    return ModelSpec(
        key=key, english_name=english_name or key, family=family, paper=paper,
        preprocess=Preprocess(resize=round(size / cfg.get("crop_pct", 0.875)), crop=size,
                              mean=tuple(cfg.get("mean", IMAGENET_MEAN)), std=tuple(cfg.get("std", IMAGENET_STD)),
                              interpolation=cfg.get("interpolation", "bicubic")),
        build=partial(timm.create_model, name, pretrained=False),
        layout=layout or partial(layouts.auto_layout, size=size),
        weights=WeightsSource("timm", hub.split("/")[-1], f"https://huggingface.co/{hub}/resolve/main/model.safetensors")
        if hub else None, top1=top1, top5=top5,
        metrics_source=Text(f"zoo.source.{key}" if top1 is not None else "zoo.source.timm_named"), protocol=protocol)


def _paper_only(key: str, name: str, family: str, paper: Paper, build, layout, crop: int,
                top1: float | None, top5: float | None, protocol: str = "paper_10crop") -> ModelSpec:
    """A network no library publishes weights for; its source and notes are in the text tables.
    Its paper's table was measured with ten crops unless it says otherwise."""
    return ModelSpec(key=key, english_name=name, family=family, paper=paper,
                     preprocess=Preprocess(256, crop, IMAGENET_MEAN, IMAGENET_STD, "bilinear"),
                     build=build, layout=layout, top1=top1, top5=top5, protocol=protocol,
                     metrics_source=Text(f"zoo.source.{key}"), notes=Text(f"zoo.notes.{key}"))


def _registry() -> dict[str, ModelSpec]:
    specs = [
        _torchvision("alexnet", "AlexNet (torchvision)", "alexnet", ALEXNET, layouts.alexnet_layout, notes=True),
        _paper_only("alexnet2012", "AlexNet (2012 paper)", "alexnet", ALEXNET, alexnet2012.AlexNet2012,
                    layouts.alexnet_layout, 227, 59.3, 81.8),
        _paper_only("zfnet", "ZFNet", "zfnet", ZFNET, zfnet.zfnet, layouts.alexnet_layout, 224,
                    61.6, 83.5),
        _paper_only("zfnet_wide", "ZFNet (wide conv3-5)", "zfnet", ZFNET, zfnet.zfnet_wide,
                    layouts.alexnet_layout, 224, 62.5, 84.0),
    ]
    for depth in (11, 13, 16, 19):
        for bn in ("", "_bn"):
            specs.append(_torchvision(f"vgg{depth}{bn}", f"VGG{depth}{' + BN' if bn else ''}", "vgg",
                                      VGG, layouts.vgg_layout))
    specs += [
        _torchvision("googlenet", "GoogLeNet (Inception v1)", "inception", GOOGLENET,
                     layouts.googlenet_layout, finalize=_drop_aux_heads,
                     aux_logits=True, transform_input=True, init_weights=True, notes=True),
        _paper_only("googlenet_paper", "GoogLeNet (2014 paper)", "inception", GOOGLENET,
                    googlenet_paper.googlenet_paper, layouts.googlenet_layout, 224, None, 89.93, "paper_1crop"),
        _torchvision("inception_v3", "Inception v3", "inception", INCEPTION_V3,
                     layouts.inception_v3_layout, aux_logits=True, transform_input=True,
                     init_weights=True, notes=True),
        _timm("inception_v4", key="inception_v4", english_name="Inception v4", family="inception",
              paper=INCEPTION_V4, layout=layouts.inception_v4_layout, top1=80.0, top5=95.0, protocol="paper_1crop"),
    ]
    for depth in (18, 34, 50, 101, 152):
        specs.append(_torchvision(f"resnet{depth}", f"ResNet-{depth}", "resnet", RESNET,
                                  layouts.resnet_layout))
    specs += [
        _paper_only("plain18", "Plain-18", "plain", RESNET, plain.plain18, layouts.resnet_layout,
                    224, round(100 - RESNET_TABLE_2["plain18"], 2), None),
        _paper_only("plain34", "Plain-34", "plain", RESNET, plain.plain34, layouts.resnet_layout,
                    224, round(100 - RESNET_TABLE_2["plain34"], 2), None),
        _torchvision("squeezenet1_0", "SqueezeNet 1.0", "squeezenet", SQUEEZENET,
                     layouts.squeezenet_layout),
        _torchvision("squeezenet1_1", "SqueezeNet 1.1", "squeezenet", SQUEEZENET,
                     layouts.squeezenet_layout),
        _torchvision("mobilenet_v2", "MobileNet v2", "mobilenet", MOBILENET_V2,
                     layouts.mobilenet_layout),
        _torchvision("mobilenet_v3_small", "MobileNet v3 Small", "mobilenet", MOBILENET_V3,
                     layouts.mobilenet_layout),
        _torchvision("mobilenet_v3_large", "MobileNet v3 Large", "mobilenet", MOBILENET_V3,
                     layouts.mobilenet_layout),
        _torchvision("shufflenet_v2_x0_5", "ShuffleNet v2 0.5x", "shufflenet", SHUFFLENET_V2,
                     layouts.shufflenet_layout),
        _torchvision("shufflenet_v2_x1_0", "ShuffleNet v2 1.0x", "shufflenet", SHUFFLENET_V2,
                     layouts.shufflenet_layout),
    ]
    specs.append(ModelSpec(
        key="efficientnet_lite0", english_name="EfficientNet-Lite0", family="efficientnet", paper=EFFICIENTNET,
        # Resize 256 (bilinear), crop 224, ImageNet mean/std: what this checkpoint scores best with
        # on the samples (timm's bicubic 0.875 crop and a 0.5/0.5 normalisation were worse).
        preprocess=Preprocess(256, 224, IMAGENET_MEAN, IMAGENET_STD, "bilinear"),
        build=efficientnet_lite.efficientnet_lite0, layout=layouts.efficientnet_layout,
        weights=WeightsSource("package", efficientnet_lite.FILENAME.removesuffix(".pth"), None,
                              bundled=efficientnet_lite.bundled_checkpoint, adapt=efficientnet_lite.rename),
        top1=75.1, top5=None, metrics_source=Text("zoo.source.efficientnet_lite0"), protocol="release_1crop",
        notes=Text("zoo.notes.efficientnet_lite0")))
    return {spec.key: spec for spec in specs}


REGISTRY: dict[str, ModelSpec] = _registry()


class NotACNN(ValueError):
    """A network found by name that is not convolutional (a vision transformer, an MLP-mixer)."""


class TooLarge(ValueError):
    """A network found by name with more parameters than one request may build (MAX_PARAMS)."""


# What one request may build: regnet_y_128gf (644 M parameters) took 76 s and 3.3 GB to build here.
# The largest registered network, VGG19, has 143.7 M; a teacher raises it with EXPLORER_MAX_PARAMS.
MAX_PARAMS = int(float(os.environ.get("EXPLORER_MAX_PARAMS", "200e6")))


def _too_large(name: str, params: int) -> TooLarge:
    return TooLarge(i18n.t("zoo.too_large", name=name, params=params / 1e6, limit=MAX_PARAMS / 1e6))


def _unknown(key: str) -> KeyError:
    """An unknown name, with the closest names a person may have meant ("resnet5O" → resnet50)."""
    if key.startswith(TIMM_PREFIX):
        known = [TIMM_PREFIX + name for name in timm.list_models()]
    else:
        known = list(dict.fromkeys([*REGISTRY, *torchvision_names()]))
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.75)
    message = i18n.t("zoo.unknown", name=key)
    return KeyError(message + (i18n.t("zoo.did_you_mean", names=", ".join(close)) if close else ""))


def get(key: str) -> ModelSpec:
    """A registered network, or any torchvision classification network by its name
    ("densenet121") or timm model as "timm/<name>"; KeyError for other names, NotACNN for a
    network with no convolutions beyond a patch embedding."""
    if key in REGISTRY:
        return REGISTRY[key]
    return named(key)


@memoize
def torchvision_names() -> list[str]:
    """torchvision's classification networks, by the names `get_model` takes."""
    return list_models(module=torchvision.models)  # the package's own: classification only


@memoize
def named(key: str) -> ModelSpec:
    """The spec of a network found by name: its builder, preprocessing and (torchvision's) weights
    and accuracy from the library's own metadata; its taps found by `layouts.auto_layout`."""
    if key.startswith(TIMM_PREFIX) and timm.is_model(key.removeprefix(TIMM_PREFIX)):
        spec = _timm(key.removeprefix(TIMM_PREFIX))
    elif key in torchvision_names():
        published = get_model_weights(key).DEFAULT.meta.get("num_params", 0)
        if published > MAX_PARAMS:  # refused before anything is built (RegNet builds on the CPU)
            raise _too_large(key, published)
        spec = _torchvision(key)
    else:
        raise _unknown(key)
    meta = _meta_instance(spec)
    convolutions = sum(isinstance(m, nn.Conv2d) for m in meta.modules())
    if convolutions <= 1:  # a patch embedding at most
        raise NotACNN(i18n.t("zoo.not_a_cnn", name=key, convolutions=convolutions))
    params = sum(p.numel() for p in meta.parameters())
    if params > MAX_PARAMS:
        raise _too_large(key, params)
    return spec


def _meta_instance(spec: ModelSpec) -> nn.Module:
    """The network on the meta device: built there, or, for a builder that computes with tensors
    while it builds (RegNet's widths), built on the CPU and moved."""
    try:
        with torch.device("meta"):
            return spec.instantiate()
    except NotImplementedError:
        with rng.seeded(0):  # its draws are thrown away, but must not shift a build in another thread
            return spec.instantiate().to("meta")


def by_family() -> dict[str, list[ModelSpec]]:
    """Registered networks grouped by family, families in the lecture's order."""
    return {family: [s for s in REGISTRY.values() if s.family == family] for family in FAMILIES}


def fresh_meta_model(key: str) -> nn.Module:
    """A new instance of the network on the meta device, for a pass that sets hooks on it."""
    return _meta_instance(get(key))


@memoize
def meta_model(key: str) -> nn.Module:
    """The network on the meta device, shared: shapes and counts without memory or init
    cost. Read its structure or run it, but never hook it (use `fresh_meta_model`)."""
    return fresh_meta_model(key)


@memoize
def taps(key: str) -> tuple[Tap, ...]:
    return tuple(get(key).layout(meta_model(key)))


def tap_names(key: str) -> dict[str, str]:
    """Module path -> the name the pages give the tap there (conv1, relu3, fc6), where there is one."""
    return {tap.module: tap.name for tap in taps(key) if tap.io == "output"}


@memoize
def leaf_taps(key: str) -> tuple[Tap, ...]:
    """Every leaf layer of the network (each convolution, norm, activation, pooling, linear), in
    forward order: the finest view, for any network."""
    return tuple(layouts.auto_layout(meta_model(key), get(key).preprocess.crop, every_leaf=True))


@memoize
def imagenet_classes() -> tuple[str, ...]:
    return tuple(get_model_weights("alexnet").DEFAULT.meta["categories"])
