"""Content importers registered by the feature packages (courses, workshops)."""
from __future__ import annotations

from . import registry


def import_all(echo) -> None:
    if not registry.content_importers:
        echo("No content importers are installed.")
    for name, importer in registry.content_importers:
        echo(f"Importing {name} ...")
        importer(echo)
