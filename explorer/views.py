"""Where a link opens: a page, a network and the page's own parameters — the one way the core,
the slides and the pages name a view. Pages go by name ("costs", the file stem and URL path);
explorer/ui/navigation.py maps names to files."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class View:
    page: str  # a page's name: "home", "activations", "costs", …
    network: str  # a network key
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # see ui.sidebar.linked

    def query(self, sample: str | None = None) -> dict[str, str]:
        """The URL parameters of the view; `sample` (a sample photo's name) keeps the reader's image."""
        return {"net": self.network} | ({"img": sample} if sample else {}) | dict(self.params)
