"""Content for tests: folders of course or series files written from a template, an
``echo`` that prints nothing for the importers and the demo generator, and shipped
quizzes made parallel forms."""
from __future__ import annotations

from pathlib import Path


def quiet(*_args, **_kwargs) -> None:
    """An ``echo`` for ``import_all``, ``import_content`` and ``generate``: says nothing."""


def write_folder(folder: Path, files: dict[str, str], edits: dict | None = None) -> Path:
    """Write ``files`` (relative path -> text) into ``folder``, after ``edits``.

    ``edits`` maps a file to None (delete it), a string (its whole text), an (old, new)
    pair or a list of them: replacements, each old text occurring exactly once.
    """
    files = dict(files)
    for rel, edit in (edits or {}).items():
        if edit is None:
            del files[rel]
        elif isinstance(edit, str):
            files[rel] = edit
        else:
            for old, new in [edit] if isinstance(edit, tuple) else edit:
                assert files[rel].count(old) == 1, (rel, old)
                files[rel] = files[rel].replace(old, new)
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def parallel_forms(session, slug="due-diligence-essentials", plan=None) -> None:
    """Give an imported course's pre-test and final one topic plan, as parallel forms
    have: generated attempts then carry it, and knowledge gain (matched forms only)
    pairs them whatever plans the shipped content has."""
    from sqlalchemy import select

    from courses.models import Course

    version = session.scalar(select(Course).where(Course.slug == slug)).current_version
    for role in ("pretest", "final"):
        version.quiz(role).topic_plan = dict(plan or {"all": 1})
    session.commit()
