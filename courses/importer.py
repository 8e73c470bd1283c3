"""Validates and imports course folders (see courses/README.md for the format)."""
from __future__ import annotations


def import_content(session, path=None, echo=print):
    """Import every course folder under ``path`` (default: the starter content)."""
    raise NotImplementedError("the course importer is being written")
