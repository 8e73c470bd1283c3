"""Imports every model module so that ``Base.metadata`` knows all tables."""
from __future__ import annotations

import importlib

CORE_MODULES = ("lms.accounts.models", "lms.orgs.models", "lms.mail", "lms.records.models", "lms.api.models")
FEATURE_MODULES = ("courses.models", "workshops.models")


def load_all() -> None:
    for name in CORE_MODULES:
        importlib.import_module(name)
    for name in FEATURE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
