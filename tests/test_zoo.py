"""The registry against torchvision's metadata and the papers' numbers."""
import pytest
from torch import nn
from torchvision.models import get_model_weights

from explorer import costs, zoo

TORCHVISION = [s.key for s in zoo.REGISTRY.values() if s.weights and s.weights.library == "torchvision"]
REQUIRED = ["alexnet", "alexnet2012", "zfnet", "zfnet_wide", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
            "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "googlenet", "inception_v3", "inception_v4",
            "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18", "plain34",
            "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "mobilenet_v3_small",
            "mobilenet_v3_large", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0"]


def test_every_required_network_is_registered_with_a_known_family():
    assert set(REQUIRED) <= set(zoo.REGISTRY)
    assert all(spec.family in zoo.FAMILIES for spec in zoo.REGISTRY.values())
    grouped = [s.key for specs in zoo.by_family().values() for s in specs]
    assert grouped.index("alexnet") < grouped.index("zfnet") < grouped.index("vgg16") \
        < grouped.index("googlenet") < grouped.index("resnet18") < grouped.index("mobilenet_v2")


@pytest.mark.parametrize("key", TORCHVISION)
def test_params_and_macs_match_torchvision_metadata(key):
    meta = get_model_weights(key).DEFAULT.meta
    summary = costs.summary(key)
    assert summary.params == meta["num_params"]
    # `_ops` is GMACs rounded to 3 decimals, coarser than 0.5 % for the smallest nets:
    # agree to its last digit, and within 0.5 % wherever that digit allows.
    assert round(summary.macs / 1e9, 3) == pytest.approx(meta["_ops"], abs=1e-9)
    assert summary.macs / 1e9 == pytest.approx(meta["_ops"], rel=0.005, abs=0.0005)


@pytest.mark.parametrize("key", TORCHVISION)
def test_published_accuracy_and_preprocessing_come_from_the_weights(key):
    weights = get_model_weights(key).DEFAULT
    spec = zoo.get(key)
    assert spec.top1 == weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert spec.top5 == weights.meta["_metrics"]["ImageNet-1K"]["acc@5"]
    assert spec.preprocess.crop == weights.transforms().crop_size[0]
    assert spec.weights.url == weights.url


def test_alexnet2012_matches_the_paper():
    summary = costs.summary("alexnet2012")
    assert summary.params == 60_965_224
    shapes = {t.name: t.shape for t in summary.taps}
    assert zoo.get("alexnet2012").input_size == (3, 227, 227)
    assert shapes["conv1"] == (96, 55, 55) and shapes["pool1"] == (96, 27, 27)
    assert shapes["conv2"] == (256, 27, 27) and shapes["pool2"] == (256, 13, 13)
    assert shapes["conv5"] == (256, 13, 13) and shapes["pool5"] == (256, 6, 6)
    model = zoo.meta_model("alexnet2012")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    lrn = next(m for m in model.modules() if isinstance(m, nn.LocalResponseNorm))
    # the paper's alpha=1e-4 per map; PyTorch divides alpha by n=5
    assert (lrn.size, lrn.alpha / lrn.size, lrn.beta, lrn.k) == (5, pytest.approx(1e-4), 0.75, 2.0)


def test_zfnet_matches_figure_3():
    summary = costs.summary("zfnet")
    assert summary.params == 62_357_608
    shapes = {t.name: t.shape for t in summary.taps}
    assert shapes["conv1"] == (96, 110, 110) and shapes["pool1"] == (96, 55, 55)
    assert shapes["conv2"] == (256, 26, 26) and shapes["pool2"] == (256, 13, 13)
    assert shapes["conv3"] == (384, 13, 13) and shapes["conv5"] == (256, 13, 13)
    assert shapes["pool5"] == (256, 6, 6)
    wide = {t.name: t.shape for t in costs.summary("zfnet_wide").taps}
    assert (wide["conv3"][0], wide["conv4"][0], wide["conv5"][0]) == (512, 1024, 512)


def test_plain_nets_are_resnets_without_projection_shortcuts():
    for depth in (18, 34):
        resnet, plain = zoo.meta_model(f"resnet{depth}"), zoo.meta_model(f"plain{depth}")
        projections = sum(costs.count_params(m.downsample) for m in resnet.modules()
                          if getattr(m, "downsample", None) is not None)
        assert costs.count_params(plain) == costs.count_params(resnet) - projections
        assert not any(name.endswith("downsample") for name, _ in plain.named_modules())


def test_vgg16_fc6_is_the_lectures_102_million():
    fc6 = next(t for t in costs.summary("vgg16").taps if t.name == "fc6")
    assert fc6.params == 7 * 7 * 512 * 4096 + 4096 == 102_764_544


def test_googlenet_and_inception_parameter_counts_as_torchvision_builds_them():
    assert costs.summary("googlenet").params == 6_624_904  # auxiliary heads dropped
    assert costs.summary("inception_v3").params == 27_161_264  # AuxLogits kept
    assert costs.summary("inception_v4").params == 42_679_816  # timm's count


def test_imagenet_classes_come_from_torchvision():
    classes = zoo.imagenet_classes()
    assert len(classes) == 1000 and classes[281] == "tabby"


def test_an_unknown_network_says_what_names_are_known():
    with pytest.raises(KeyError, match="not registered, and not a torchvision classification network"):
        zoo.get("lenet")
