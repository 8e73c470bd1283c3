"""Content importers registered by the feature packages (courses, workshops).

The core runs them (``lms init``, ``lms content import``) and gives them what every
importer of authored files needs: ``Problem`` (a message with its file and line),
``ContentError`` (raised, before anything is written, with every problem found),
and YAML reading that remembers the line of each key and list item.

It also holds what the importers would otherwise each write again: reading a folder's
files (``read_files``) and hashing them (``files_hash``), the slug and language
patterns, the checks of a settings block's keys and values (``ContentFile``; ``show``
writes a value in a message as the author wrote it), the order
problems are reported in and the report itself (``report_problems``), and taking the
write lock before an import reads (``begin_import``).

An importer is ``importer(session, path, echo)``. ``path`` is None for the
feature's own content folder; given a path that holds none of its kind of content
an importer returns a falsy value and does nothing. It only flushes: the caller
commits once, when every importer has succeeded.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import date
from difflib import get_close_matches
from pathlib import Path

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from .common import MAX_ID
from .db import write_lock
from .registry import registry_of

#: Slugs of courses, series and question ids: lowercase letters, digits and single hyphens.
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SLUG_MAX = 100
#: A two-letter language code in lower case.
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
#: The largest whole number a setting may have (an integer column's bound).
INT_MAX = MAX_ID


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one file, for the author to fix."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class ContentError(Exception):
    """Content with problems: nothing was imported.

    ``echoed`` is True when the importer has already shown the problems.
    """

    def __init__(self, problems, echoed: bool = False):
        self.problems = list(problems)
        self.echoed = echoed
        super().__init__("\n".join(str(p) for p in self.problems))


def import_all(session, path=None, echo=print) -> int:
    """Run every registered importer on ``path`` in ``session`` (flushed, not committed).

    Returns how many importers found content there; with an explicit ``path`` that no
    importer recognises, raises ContentError.
    """
    registry = registry_of(session)
    if not registry.content_importers:
        echo("No content importers are installed.")
        return 0
    found = 0
    for name, importer in registry.content_importers:
        echo(f"Importing {name} ...")
        if importer(session, path, echo):
            found += 1
    if path is not None and not found:
        raise ContentError([Problem(str(path), None, "no course or workshop content found here")])
    return found


def begin_import(session) -> None:
    """Take the write lock first thing (see ``lms.db.write_lock``), unless the session
    has already used its connection: then the caller's transaction decides."""
    transaction = session.get_transaction()
    if transaction is None or not getattr(transaction, "_connections", None):
        write_lock(session)


def sort_problems(problems: list, first: str) -> None:
    """In place: the problems of ``first`` (the folder's main file) first, then each other
    file's in the order they were found, each file's by line."""
    order = {first: 0}
    for p in problems:
        order.setdefault(p.path, len(order))
    problems.sort(key=lambda p: (order[p.path], p.line or 0))


def report_problems(problems: list, echo) -> None:
    """Echo every problem and how many there are, then raise ContentError (echoed)."""
    for problem in problems:
        echo(str(problem))
    echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found.")
    raise ContentError(problems, echoed=True)


# --- reading authored files -------------------------------------------------


def read_files(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by relative POSIX path, in a stable order; hidden
    files and folders (.DS_Store, .git) are skipped."""
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(n for n in names if not n.startswith(".")):
            full = Path(root) / name
            files[full.relative_to(folder).as_posix()] = full.read_bytes()
    return files


def files_hash(files: dict[str, bytes]) -> str:
    """sha256 over the relative paths and bytes of ``files`` (as ``read_files`` gives them)."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        data = files[rel]
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def folder_hash(path) -> str:
    """The hash of every (non-hidden) file of a folder: unchanged content, same hash."""
    return files_hash(read_files(Path(path)))


def is_slug(value) -> bool:
    return isinstance(value, str) and len(value) <= SLUG_MAX and SLUG_RE.fullmatch(value) is not None


def display_path(file: Path, folder: Path) -> str:
    """How a file is named in a report: relative to the working directory when it is
    below it (``courses/content/x/course.md``), else relative to ``folder``'s
    grandparent, else as given."""
    file = Path(file)
    try:
        resolved = file.resolve()
        for base in (Path.cwd().resolve(), Path(folder).resolve().parent.parent):
            if resolved.is_relative_to(base) and resolved != base:
                return resolved.relative_to(base).as_posix()
    except OSError:
        pass
    return str(file)


class YMap(dict):
    """A YAML mapping that knows its line and the line of each key."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class YList(list):
    """A YAML sequence that knows its line and the line of each item."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def plain(value):
    """YMap/YList to plain dicts and lists (for JSON columns)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _hint(problem: str) -> str:
    if "'\\t'" in problem:
        return " (a Tab is used for indenting: indent with spaces)"
    if "mapping values are not allowed" in problem:
        return " (put text that contains a colon followed by a space in double quotes)"
    return ""


def load_yaml(text: str, offset: int = 0) -> tuple[object, list[tuple[int | None, str]]]:
    """Parse one YAML document; line numbers are 1-based and shifted by ``offset``
    (the number of file lines before the YAML text starts).

    Returns (value, problems); value is None when the text cannot be parsed.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").removeprefix("but ")
        context = ""
        if exc.context and exc.problem and exc.context_mark is not None \
                and exc.context_mark.line != getattr(exc.problem_mark, "line", None):
            context = f" ({exc.context}, on line {exc.context_mark.line + 1 + offset})"
        return None, [(line, f"YAML syntax error: {problem}{context}{_hint(problem)}")]
    except yaml.YAMLError as exc:
        return None, [(None, f"YAML syntax error: {exc}")]
    if node is None:
        return None, []
    problems: list[tuple[int | None, str]] = []
    value = _Converter(offset, problems).convert(node)
    return value, problems


class _Converter:
    def __init__(self, offset: int, problems: list):
        self.offset = offset
        self.problems = problems
        self.constructor = SafeConstructor()

    def line(self, node) -> int:
        return node.start_mark.line + 1 + self.offset

    def convert(self, node, depth: int = 0):
        if depth > 50:
            self.problems.append((self.line(node), "the YAML is nested too deeply"))
            return None
        if isinstance(node, yaml.ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except ConstructorError as exc:
                self.problems.append((self.line(node), f"YAML: {exc.problem}"))
                return node.value
            except Exception:  # e.g. a date that does not exist: keep the text
                return node.value
        if isinstance(node, yaml.SequenceNode):
            out = YList(self.line(node))
            for item in node.value:
                out.append(self.convert(item, depth + 1))
                out.item_lines.append(self.line(item))
            return out
        out = YMap(self.line(node))
        try:
            self.constructor.flatten_mapping(node)
        except ConstructorError as exc:
            self.problems.append((self.line(node), f"YAML: {exc.problem}"))
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append((self.line(key_node), "a key must be a plain word, followed by a colon"))
                continue
            key = self.convert(key_node, depth + 1)
            if not isinstance(key, str):
                key = key_node.value
            if key in out:
                self.problems.append((self.line(key_node),
                                      f'key "{key}" appears twice (also on line {out.key_lines[key]})'))
                continue
            out[key] = self.convert(value_node, depth + 1)
            out.key_lines[key] = self.line(key_node)
        return out


def decode(data: bytes) -> tuple[str | None, tuple[int, str] | None]:
    """UTF-8 text with Windows line ends made plain, or the line and message of the error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, (data[: exc.start].count(b"\n") + 1, "this file is not UTF-8 text: save it as UTF-8")
    return text.lstrip("\ufeff").replace("\r\n", "\n"), None


def split_front_matter(text: str):
    """``(yaml_text, offset, body)`` of a Markdown file that starts with a ``---`` block,
    or ``(None, line, message)`` when the block is missing or not closed."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, 1, "the file must start with a settings block: a first line of three dashes (---)"
    for i in range(1, len(lines)):
        if lines[i].rstrip() == "---":
            return "\n".join(lines[1:i]), 1, "\n".join(lines[i + 1:]).strip("\n")
    return None, 1, "the settings block that starts on line 1 has no closing line of three dashes (---)"


def did_you_mean(word, choices) -> str:
    match = get_close_matches(str(word), list(choices), n=1, cutoff=0.75)
    return f' (did you mean "{match[0]}"?)' if match else ""


def show(value) -> str:
    """A value as the author wrote it, for messages."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "nothing"
    if isinstance(value, date):
        return value.isoformat()
    return str(plain(value))


class ContentFile:
    """Collects the problems of one authored file, each with its line."""

    def __init__(self, folder: Path, rel: str, problems: list):
        self.path = display_path(folder / rel, folder)
        self.problems = problems

    def add(self, line, message) -> None:
        self.problems.append(Problem(self.path, line, message))

    def keys(self, m: YMap, allowed, required, prefix="", missing_line=None, not_here=None) -> None:
        """Unknown keys (with a guess at the one meant), and required keys missing or empty.
        ``not_here``: keys that exist elsewhere, with the message saying where."""
        for key in m:
            if key not in allowed:
                if not_here and key in not_here:
                    self.add(m.line_of(key), f'{prefix}"{key}" {not_here[key]}')
                else:
                    self.add(m.line_of(key), f'{prefix}unknown key "{key}"{did_you_mean(key, allowed)}')
        for key in required:
            if key not in m:
                self.add(missing_line or m.line, f'{prefix}"{key}" is missing')
            elif m[key] is None:
                self.add(m.line_of(key), f'{prefix}"{key}" needs a value')

    # Each getter returns the value when present and valid, else None (and reports it).

    def text(self, m: YMap, key, limit=None, prefix=""):
        """The stripped text of ``key`` when present and valid, else None (reported)."""
        value = m.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.add(m.line_of(key), f'{prefix}"{key}" must be text')
            return None
        if limit and len(value.strip()) > limit:
            self.add(m.line_of(key), f'{prefix}"{key}" is longer than {limit} characters')
            return None
        return value.strip()

    def integer(self, m, key, minimum, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= INT_MAX:
            what = "a whole number" if minimum < 0 else f"a whole number, {minimum} or more"
            self.add(m.line_of(key), f'{prefix}"{key}" must be {what} (found {show(value)})')
            return None
        return value

    def boolean(self, m, key):
        value = m.get(key)
        if value is not None and not isinstance(value, bool):
            self.add(m.line_of(key), f'"{key}" must be true or false (found {show(value)})')
            return None
        return value

    def choice(self, m, key, choices, prefix=""):
        value = m.get(key)
        if value is None:
            return None
        if value not in choices or not isinstance(value, str):
            self.add(m.line_of(key), f'{prefix}{key} {show(value)} is not one of: {", ".join(choices)}')
            return None
        return value

    def slug(self, m: YMap, folder: Path, example: str):
        """The ``slug``, which must be a slug and the folder's name; ``example``: a
        slug to show the author."""
        slug = m.get("slug")
        if slug is not None:
            if not is_slug(slug):
                self.add(m.line_of("slug"), f"slug {show(slug)} must be lowercase letters, digits and hyphens, "
                                            f"for example {example}")
            elif slug != folder.name:
                self.add(m.line_of("slug"), f'slug "{slug}" is not the folder name "{folder.name}": '
                                            "they must be the same")
        return slug

    def language(self, m: YMap):
        """The ``language``, a two-letter code (reported otherwise, and returned as written)."""
        language = m.get("language")
        if language is not None and not (isinstance(language, str) and LANGUAGE_RE.fullmatch(language)):
            self.add(m.line_of("language"), f"language {show(language)} must be a two-letter code in lower case, "
                                            "such as en, fr or es")
        return language

    def parse_markdown(self, data: bytes):
        """(settings YMap or None, body) of a Markdown file that starts with a settings block."""
        text, error = decode(data)
        if error:
            self.add(*error)
            return None, ""
        yaml_text, offset, rest = split_front_matter(text)
        if yaml_text is None:
            self.add(offset, rest)
            return None, ""
        meta, problems = load_yaml(yaml_text, offset)
        for line, message in problems:
            self.add(line, message)
        if meta is None and not problems:
            self.add(1, "the settings block is empty")
        elif meta is not None and not isinstance(meta, YMap):
            self.add(offset + 1, "the settings block must be lines of the form key: value")
            meta = None
        return meta, rest


def content_folders(root: Path, marker: str, explicit: bool) -> list[Path]:
    """The content folders under ``root``: itself if it holds ``marker`` (course.md,
    series.md), else its sub-folders. Given explicitly, a folder holding none of this
    kind of content yields nothing: it belongs to another importer."""
    if not root.is_dir():
        return []
    if (root / marker).is_file():
        return [root]
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith((".", "_")))
    if explicit and not any((d / marker).is_file() for d in folders):
        return []
    return folders
