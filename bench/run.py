"""Every benchmark as one JSON document: {"device", "results": [{name, value, unit, target, ok}]}."""
from __future__ import annotations

import json

from bench import activations, attribution, compare, costs, featurevis, gradflow, graph, named, pages, payload, serving, sharing, warm
from explorer import backend

SUITES = (activations, costs, graph, gradflow, compare, attribution, featurevis, named, payload, sharing, pages, serving, warm)


def collect() -> dict:
    device = backend.choose_device()
    results = [result.as_dict() for suite in SUITES for result in suite.run(device)]
    return {"device": backend.device_name(device), "results": results}


if __name__ == "__main__":
    print(json.dumps(collect(), indent=1))
