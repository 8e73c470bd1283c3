"""Imports every model module, so that ``Base.metadata`` holds all the LMS's tables
(for Alembic and the tests): the core's, then each shipped feature's ``models``."""
from __future__ import annotations

import importlib

from .features import FEATURES

CORE_MODULES = ("lms.accounts.models", "lms.orgs.models", "lms.jobs", "lms.mail", "lms.records.models", "lms.api.models")


def load_models(features=FEATURES) -> None:
    for name in CORE_MODULES:
        importlib.import_module(name)
    for feature in features:
        try:
            importlib.import_module(f"{feature}.models")
        except ModuleNotFoundError as exc:  # a feature without tables of its own
            if exc.name != f"{feature}.models":
                raise
