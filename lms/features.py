"""Loads the feature packages named in an app's ``LMS_FEATURES`` into its registry.

Each feature package exposes ``setup(registry)``. The core only knows their names, and
each app is set up with a registry of its own.
"""
from __future__ import annotations

import importlib

FEATURES = ("courses", "workshops")


def load(app, registry) -> None:
    for name in app.config.get("LMS_FEATURES", FEATURES):
        importlib.import_module(name).setup(registry)
