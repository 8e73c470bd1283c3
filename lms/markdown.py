"""Markdown for lessons, workshop outlines and descriptions: render, sanitise, cache.

markdown-it-py (CommonMark with tables, raw HTML off) does the rendering, then nh3
keeps only the tags and attributes that rendering produces. The second step is what
makes the output safe: whatever the renderer or its plugins let through, no script,
event handler, style attribute or ``javascript:``/``data:`` URL survives it.

Rendered HTML is cached by the SHA-256 of the source, so a lesson read by many people
is rendered once per process.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.anchors.index import slugify
from mdit_py_plugins.footnote import footnote_plugin

__all__ = ["render_markdown", "CACHE_SIZE"]

CACHE_SIZE = 512

#: Ids the page layout uses; a heading must not take them (the skip link targets #main).
RESERVED_IDS = frozenset({"main"})

_ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
_ALIGN = re.compile(r"^text-align:\s*(left|center|right)$")

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "a", "em", "strong", "code", "pre",
    "blockquote", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td",
    "hr", "br", "sup", "section",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "li": {"id"},
    "ol": {"start"},
}
ALLOWED_CLASSES = {
    "th": _ALIGN_CLASSES,
    "td": _ALIGN_CLASSES,
    # what the footnote plugin produces
    "sup": {"footnote-ref"},
    "a": {"footnote-backref"},
    "hr": {"footnotes-sep"},
    "section": {"footnotes"},
    "ol": {"footnotes-list"},
    "li": {"footnote-item"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def _slug(title: str) -> str:
    slug = slugify(title)
    return f"section-{slug}" if slug in RESERVED_IDS or not slug else slug


def _alignment_as_class(state: StateCore) -> None:
    """Table cells carry their alignment as a class: the CSP forbids style attributes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and token.attrs.get("style"):
            match = _ALIGN.match(str(token.attrs.pop("style")).strip())
            if match:
                token.attrSet("class", f"align-{match.group(1)}")


def _image_as_link(self, tokens: list[Token], idx: int, options, env) -> str:
    """Images become links to the image, labelled with their alt text.

    The layout's CSP and the sanitiser admit no remote images; a link keeps the
    author's words and the target instead of silently dropping both.
    """
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or token.attrGet("src") or ""
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<a href="{escapeHtml(str(token.attrGet("src") or ""))}"{title_attr}>{escapeHtml(alt)}</a>'


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False, "linkify": False})
    md.enable("table")
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=2, max_level=3, slug_func=_slug, permalink=False)
    md.core.ruler.push("alignment_as_class", _alignment_as_class)
    md.add_render_rule("image", _image_as_link)
    return md


_parser = _make_parser()
_cleaner = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    allowed_classes=ALLOWED_CLASSES,
    url_schemes=URL_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def _render(text: str) -> Markup:
    return Markup(_cleaner.clean(_parser.render(text)))


class _BoundedCache:
    """A thread-safe LRU map from a content hash to its rendered HTML."""

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._data: OrderedDict[str, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Markup | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: Markup) -> Markup:
        """Store ``value`` unless another thread stored one first; return the stored one."""
        with self._lock:
            existing = self._data.get(key)
            if existing is not None:
                self._data.move_to_end(key)
                return existing
            self._data[key] = value
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_cache = _BoundedCache(CACHE_SIZE)


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for ``text``; the same object for the same text while it is cached."""
    if not text:
        return Markup("")
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    cached = _cache.get(key)
    if cached is not None:
        return cached
    # Rendered outside the lock: two threads may both render a new text; one result wins.
    return _cache.put(key, _render(text))
