"""The lecture's claims, section by section: each measured live, each with the page and view
where a student can see it.

A section measures only what its own cards need, so the Lecture page computes one section per
tab a person opens. The measurements come from a `Measurements` provider: the page passes
`explorer.ui.cache` (results shared by every session), scripts and tests pass `Uncached()`.

Example:
    >>> from explorer import images, lecture
    >>> image = images.load(open("assets/samples/cat.jpg", "rb").read())
    >>> [card.claim.verdict for card in lecture.cards("vgg", image, "vgg16", lecture.Uncached())]
    ['holds', 'holds', 'holds', 'holds']
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Protocol

from torch import nn

from explorer import activations, claims, costs, gradflow, inference, invariance, lesion, weights
from explorer.backend import Run
from explorer.claims import Claim
from explorer.images import LoadedImage
from explorer.views import View

@dataclass(frozen=True)
class Milestone:
    """A network's ImageNet (ILSVRC) top-5 error as its paper reports it: the lecture's story in
    one column. What was measured (test or validation, how many networks) is the text
    "lecture.timeline.<key>"; these are the papers' numbers, not measured here."""
    key: str
    network: str  # a registered network of the family, for the name and the link
    year: int
    top5_error: float


TIMELINE = (
    Milestone("alexnet", "alexnet2012", 2012, 15.3),  # Krizhevsky et al. 2012, abstract and Table 2
    Milestone("zfnet", "zfnet", 2013, 14.8),  # Zeiler & Fergus 2014, Table 2 (six networks)
    Milestone("vgg", "vgg16", 2014, 7.3),  # Simonyan & Zisserman 2015, Table 7 (the ILSVRC submission)
    Milestone("googlenet", "googlenet_paper", 2014, 6.67),  # Szegedy et al. 2015, Table 2
    Milestone("resnet", "resnet152", 2015, 3.57),  # He et al. 2016, Table 5 (ensemble)
    Milestone("inception_v4", "inception_v4", 2016, 3.08),  # Szegedy et al. 2017, section 6 (ensemble, test set)
)

@dataclass(frozen=True)
class DeeperStack:
    """Two depths of one plain stack, block by block (VGG16 against VGG19: configurations D and E of
    the paper's Table 1): where the extra layers go, and what they cost."""
    shallow: str
    deep: str
    stages: tuple[tuple[costs.Stage, costs.Stage], ...]  # (shallow's, deep's), the classifier last
    params: tuple[int, int]  # whole networks, (shallow, deep)
    macs: tuple[int, int]

    @property
    def added(self) -> tuple[int, int]:
        """(parameters, MACs) the deeper build adds."""
        return self.params[1] - self.params[0], self.macs[1] - self.macs[0]

    @property
    def layers(self) -> tuple[int, int]:
        """Weight layers of the whole networks, (shallow, deep)."""
        return sum(a.layers for a, _ in self.stages), sum(b.layers for _, b in self.stages)

    @property
    def grown(self) -> tuple[tuple[costs.Stage, int], ...]:
        """The deeper build's stages that have more layers than the shallower one's, each with how
        many more."""
        return tuple((deep, deep.layers - shallow.layers) for shallow, deep in self.stages
                     if deep.layers > shallow.layers)


def deeper_stack(shallow: str = "vgg16", deep: str = "vgg19") -> DeeperStack:
    """The stages of both builds, counted as Parameters & FLOPs counts them."""
    pairs = tuple(zip(costs.stages(shallow), costs.stages(deep), strict=True))
    totals = costs.summary(shallow), costs.summary(deep)
    return DeeperStack(shallow, deep, pairs, (totals[0].params, totals[1].params), (totals[0].macs, totals[1].macs))


SECTIONS = ("alexnet", "zfnet", "vgg", "inception", "resnet", "efficient", "notes")
EFFICIENT_NETWORKS = ["squeezenet1_1", "mobilenet_v2", "shufflenet_v2_x1_0"]
SHORTCUT_CROPS = 4  # the crops the shortcut card's gradient ratio is measured on


@dataclass(frozen=True)
class Card:
    """A measured claim and the view where it shows."""
    claim: Claim
    view: View
    runs: tuple[Run, ...] = ()  # the passes measured for it, for the fell-back notice


class Measurements(Protocol):
    """What the lecture measures with: models and per-image results, cached or not."""

    def loaded_model(self, key: str) -> inference.LoadedModel: ...
    def untrained_model(self, key: str) -> inference.LoadedModel: ...
    def analysis(self, loaded: inference.LoadedModel, image: LoadedImage) -> inference.Analysis: ...
    def rectifier_zeros(self, loaded: inference.LoadedModel, image: LoadedImage) -> activations.RectifierZeros: ...
    def shift_probe(self, loaded: inference.LoadedModel, image: LoadedImage) -> invariance.ShiftProbe: ...
    def twins(self, config: gradflow.FlowConfig, image: LoadedImage, crops: int,
              target: int | None) -> gradflow.TwinResult: ...
    def lesions(self, loaded: inference.LoadedModel) -> lesion.Study: ...


class Uncached:
    """Measurements computed afresh on every call (scripts, tests, benchmarks)."""
    loaded_model = staticmethod(inference.load)
    untrained_model = staticmethod(functools.partial(inference.load, trained=False))
    analysis = staticmethod(inference.analyse)
    rectifier_zeros = staticmethod(activations.rectifier_zeros)
    shift_probe = staticmethod(invariance.probe_default_tap)
    twins = staticmethod(gradflow.twins_on_image)
    lesions = staticmethod(lesion.on_samples)


def trained_or_stand_in(key: str, measure: Measurements) -> tuple[inference.LoadedModel, inference.LoadedModel]:
    """(the network asked for, the one to measure a claim about trained networks on): the same
    when its weights are here, else the trained network this machine has (EfficientNet-Lite0 on
    a fresh offline one)."""
    asked = measure.loaded_model(key)
    return (asked, asked) if asked.status.pretrained else (asked, measure.loaded_model(weights.trained_network(key)))


def _subject(asked: inference.LoadedModel, used: inference.LoadedModel) -> claims.Subject:
    return claims.Subject.of(asked.spec, used.spec, used.status.pretrained)


Build = Callable[[LoadedImage, str, Measurements], list[Card]]  # (image, network picked, measure) -> cards


@dataclass(frozen=True)
class OnTheBuild:
    """A claim about the architecture: counted on the registered build, the same for every image."""
    claim: Callable[[], Claim]
    view: View

    def __call__(self, _image: LoadedImage, _network: str, _measure: Measurements) -> list[Card]:
        return [Card(self.claim(), self.view)]


def _lrn_cost(_image: LoadedImage, _network: str, measure: Measurements) -> list[Card]:
    alexnet = measure.loaded_model("alexnet2012")  # timing needs no trained weights
    lrn_seconds, forward_seconds, run = inference.seconds_in(alexnet, nn.LocalResponseNorm)
    return [Card(claims.lrn_cost(lrn_seconds, forward_seconds, run.device), View("costs", "alexnet2012"), (run,))]


def _translation(image: LoadedImage, _network: str, measure: Measurements) -> list[Card]:
    resnet, probed = trained_or_stand_in("resnet50", measure)
    probe = measure.shift_probe(probed, image)
    untrained = measure.shift_probe(measure.untrained_model(probed.spec.key), image) if probed.status.pretrained \
        else probe  # the same random network
    claim = claims.translation_invariance(probe.shifts, untrained.shifts, _subject(resnet, probed))
    return [Card(claim, View("activations", probe.key), runs=(probe.run, untrained.run))]


def _sparsity(image: LoadedImage, network: str, measure: Measurements) -> list[Card]:
    asked, used = trained_or_stand_in(network, measure)
    zeros = measure.rectifier_zeros(used, image)
    return [Card(claims.relu_sparsity(zeros.shares, _subject(asked, used)), View("activations", zeros.key),
                 runs=(zeros.run,))]


def _identity_gradient(image: LoadedImage, _network: str, measure: Measurements) -> list[Card]:
    running = measure.twins(gradflow.FlowConfig(pair="34", bn="eval"), image, SHORTCUT_CROPS, None)
    batch_statistics = measure.twins(gradflow.FlowConfig(pair="34", bn="train"), image, SHORTCUT_CROPS, None)
    identity = claims.resnet_identity_gradient(running.first_conv_ratio, batch_statistics.first_conv_ratio)
    return [Card(identity, View("gradient_flow", "resnet34"), runs=(running.run, batch_statistics.run))]


def _lesions(_image: LoadedImage, _network: str, measure: Measurements) -> list[Card]:
    resnet, used = trained_or_stand_in("resnet50", measure)
    study = measure.lesions(used)
    return [Card(claims.residual_lesions(study, _subject(resnet, used)), View("graph", used.spec.key), (study.run,))]


def _mean_subtraction(image: LoadedImage, _network: str, _measure: Measurements) -> list[Card]:
    return [Card(claims.notes_mean_subtraction(image), View("home", "alexnet2012"))]


def _closing(_image: LoadedImage, _network: str, _measure: Measurements) -> list[Card]:
    return [Card(claim, View("compare", "squeezenet1_1")) for claim in claims.closing(EFFICIENT_NETWORKS)]


_INCEPTION_3A = View("inception", "googlenet_paper", {"module": "inception_3a"})
# The Lecture's cards as rows, (section, how its cards are measured), in the order they are shown:
# a new claim is its function in claims.py, its row here and its texts.
CARDS: tuple[tuple[str, Build], ...] = (
    ("alexnet", OnTheBuild(claims.alexnet_weight_layers, View("costs", "alexnet2012"))),
    ("alexnet", OnTheBuild(claims.alexnet_overlapping_pooling, View("costs", "alexnet2012", {"tap": "pool1"}))),
    ("alexnet", OnTheBuild(claims.lrn_inhibition, View("activations", "alexnet2012", {"tap": "norm1"}))),
    ("alexnet", _lrn_cost),
    ("alexnet", OnTheBuild(claims.alexnet_pool5, View("activations", "alexnet2012", {"tap": "pool5"}))),
    ("alexnet", OnTheBuild(claims.alexnet_overlap_effect, View("costs", "alexnet2012", {"tap": "pool1"}))),
    ("alexnet", OnTheBuild(claims.alexnet_dropout_effect, View("home", "alexnet2012"))),
    ("alexnet", OnTheBuild(claims.alexnet_ensemble, View("compare", "alexnet2012", {"nets": "alexnet2012,zfnet"}))),
    ("alexnet", OnTheBuild(claims.parameters_overfit, View("costs", "alexnet2012"))),
    ("zfnet", OnTheBuild(claims.zfnet_changes, View("compare", "zfnet", {"nets": "alexnet2012,zfnet"}))),
    ("vgg", OnTheBuild(claims.vgg_small_kernels, View("costs", "vgg16", {"tap": "conv1_2"}))),
    ("vgg", OnTheBuild(claims.vgg_stack_differs, View("costs", "vgg16", {"tap": "conv1_2"}))),
    ("vgg", OnTheBuild(claims.vgg_channel_doubling, View("activations", "vgg16", {"tap": "pool5"}))),
    ("vgg", OnTheBuild(claims.vgg_fc6_share, View("costs", "vgg16"))),
    ("inception", OnTheBuild(claims.googlenet_vs_alexnet, View("costs", "googlenet_paper"))),
    ("inception", OnTheBuild(claims.googlenet_average_pooling, View("costs", "googlenet"))),
    ("inception", OnTheBuild(claims.googlenet_auxiliary_heads, View("costs", "googlenet"))),
    ("inception", OnTheBuild(claims.googlenet_auxiliary_purpose, View("graph", "googlenet"))),
    ("inception", OnTheBuild(claims.inception_reduction_saving, _INCEPTION_3A)),
    ("inception", _translation),
    ("inception", _sparsity),
    ("resnet", _identity_gradient),
    ("resnet", OnTheBuild(claims.resnet_bottleneck, View("costs", "resnet50"))),
    ("resnet", _lesions),
    ("resnet", OnTheBuild(claims.best_generalisers, View("compare", "resnet152", {"preset": "lecture"}))),
    ("efficient", _closing),
    ("notes", OnTheBuild(claims.notes_pooling_branch, _INCEPTION_3A)),
    ("notes", OnTheBuild(claims.notes_norm_layer, View("activations", "alexnet2012", {"tap": "norm1"}))),
    ("notes", OnTheBuild(claims.googlenet_vs_alexnet, View("costs", "googlenet_paper"))),
    ("notes", OnTheBuild(claims.notes_relu_first, View("activations", "alexnet2012", {"tap": "relu1"}))),
    ("notes", OnTheBuild(claims.notes_dropout_first, View("home", "alexnet2012"))),
    ("notes", OnTheBuild(claims.notes_zfnet_widths, View("compare", "zfnet", {"nets": "alexnet2012,zfnet,zfnet_wide"}))),
    ("notes", _mean_subtraction),
)


def cards(section: str, image: LoadedImage, network: str, measure: Measurements) -> list[Card]:
    """One section's cards, measured on `image`; `network` is the one the person picked (the
    sparsity card is measured on it, or on a trained stand-in when its weights are not here)."""
    return [card for name, build in CARDS if name == section for card in build(image, network, measure)]
