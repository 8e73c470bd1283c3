"""Loads the feature packages that ship with the LMS (courses, workshops).

Each feature package exposes ``setup(registry)``. The core only knows their names.
"""
from __future__ import annotations

import importlib

FEATURES = ("courses", "workshops")


def load(app) -> None:
    from . import registry

    for name in app.config.get("LMS_FEATURES", FEATURES):
        importlib.import_module(name).setup(registry)
