"""Races made certain: another session's work run to its end while a pass of ours is halfway."""
from __future__ import annotations

import threading
from typing import Callable

from torch import nn


def meanwhile(model: nn.Module, work: Callable[[], object]) -> list:
    """From now on, each forward pass of `model`, on reaching its first leaf module, waits while
    `work` runs to its end on another thread (a session using the server meanwhile). Returns the
    list that collects work's results; an exception work raises is collected too."""
    done: list = []
    first_leaf = next(module for module in model.modules() if not any(module.children()))

    def other_session() -> None:
        try:
            done.append(work())
        except Exception as error:  # noqa: BLE001 - the test asserts on what came back
            done.append(error)

    def halfway(_module, _args) -> None:
        thread = threading.Thread(target=other_session, name="another session")
        thread.start()
        thread.join(120)

    first_leaf.register_forward_pre_hook(halfway)
    return done
