"""What the first sessions of a freshly started server ask for, prepared as the server starts.

A lecturer says "open the app now" just after starting it: without this, the first students wait
while their session imports the app (torch, torchvision, timm, plotly: seconds on 2 cores), builds
the network a first visit opens and runs the sample through it. `deploy/start.py` calls `warm` in
a background thread beside Streamlit's own start, so the health check answers at once; a session
that arrives meanwhile waits for the same work (imports and results are computed once however many
ask), never for more.
"""
from __future__ import annotations

from explorer import compare, gradflow, lecture, samples, weights
from explorer.ui import cache, choices, widgets


def warm() -> tuple[str, str]:
    """The first visit's network and its analysis of the default sample photo, Home's pictures of the
    input, and the first-layer kernels Activations (Home's first link) opens on, beside those of the
    network it compares them with; then the ResNet-34/Plain-34 twins on that photo, which Gradient
    flow opens on and the Lecture's ResNet tab measures in both BatchNorm modes, whatever the network
    (the slowest first views: seconds of backward passes); last the lecture's five networks, which
    Compare opens on and the Lecture's tabs measure, built and analysed on that photo, with the AlexNet
    kernels Compare sets beside ZFNet's and the ResNet tab's block deletions (their seeded random
    initialisation alone is about 3.5 s on one core, VGG16's 138 M draws 1.9 s of it, and a first
    Compare drew them all: 4–6 s). All in the shared caches; (the network, the sample) it warmed
    them for."""
    key, sample = weights.trained_network(), choices.DEFAULTS["sample"]
    loaded = cache.loaded_model(key)
    image = cache.sample(samples.path(sample))
    cache.analysis(loaded, image)
    cache.input_views(image, loaded.spec.preprocess)
    for network in (key, widgets.kernels_beside(key)):
        cache.kernels(network)
    for bn in ("eval", "train"):
        cache.twins(gradflow.FlowConfig(bn=bn), image, lecture.SHORTCUT_CROPS, None)
    lecture_networks = compare.PRESETS["lecture"]
    for network in lecture_networks:
        cache.analysis(cache.loaded_model(network), image)
    cache.kernels(compare.alexnet_beside_zfnet(lecture_networks))  # Compare sets them beside ZFNet's
    cache.lesions(lecture.trained_or_stand_in("resnet50", cache)[1])  # the Lecture's ResNet tab
    return key, sample
