"""The bundled sample photos (credited, with their licences, in assets/samples/CREDITS): their
names as the sidebar offers them and their files, in one place."""
from __future__ import annotations

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parents[1] / "assets" / "samples"
FILES = {"Cat": "cat.jpg", "Coffee": "coffee.jpg", "Astronaut": "astronaut.jpg", "Rocket": "rocket.jpg",
         "Launchpad": "launchpad.jpg"}  # names: texts "sample.<name>"


def path(name: str) -> Path:
    """The file of the sample called `name` (a key of FILES)."""
    return DIRECTORY / FILES[name]


def every_path() -> list[Path]:
    """Every sample photo, in file-name order (statistics over them do not depend on FILES' order)."""
    return sorted(DIRECTORY / file for file in FILES.values())
