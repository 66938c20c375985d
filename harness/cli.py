"""`python -m explorer …` as a person runs it: a separate process, from the repository root."""
from __future__ import annotations

import subprocess
import sys

from harness.paths import ROOT


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
