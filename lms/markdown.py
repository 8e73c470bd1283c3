"""Markdown for lessons, workshop outlines and descriptions: render, sanitise, cache.

markdown-it-py (CommonMark with tables, raw HTML off) does the rendering, then nh3
keeps only the tags and attributes that rendering produces. The second step is what
makes the output safe: whatever the renderer or its plugins let through, no script,
event handler, style attribute or ``javascript:``/``data:`` URL survives it.

Two rules fit the output to a phone: table cells carry their column's name
(``data-label``, which the stylesheet shows when a table becomes one card per row), and
a "Sources" section becomes a collapsed list of links named by the sources' titles
rather than their long addresses.

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
from urllib.parse import urlsplit
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
    "hr", "br", "sup", "section", "details", "summary",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id"},
    "h1": {"id"}, "h2": {"id"}, "h3": {"id"}, "h4": {"id"}, "h5": {"id"}, "h6": {"id"},
    "li": {"id"},
    "ol": {"start"},
    "td": {"data-label"},
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
    "details": {"sources"},
}
URL_SCHEMES = {"http", "https", "mailto"}

#: Headings of the section that lists a text's sources (courses/README.md), by language.
SOURCES_HEADINGS = frozenset({"sources", "fuentes", "références", "references"})
_BARE_URL = re.compile(r"https?://[^\s<>]+?(?=[.,;:)]*(?:\s|$))")


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


def _plain(inline: Token) -> str:
    return "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))


def _column_labels(state: StateCore) -> None:
    """Each body cell names its column (``data-label``): on a phone, where a table is
    shown as one card per row, the stylesheet writes the name before the value."""
    labels: list[str] = []
    column = 0
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type == "thead_open":
            labels = []
        elif token.type == "th_open":
            labels.append(_plain(tokens[i + 1]))
        elif token.type == "tr_open":
            column = 0
        elif token.type == "td_open":
            if column < len(labels) and labels[column]:
                token.attrSet("data-label", labels[column])
            column += 1


def _link(href: str, children: list[Token]) -> list[Token]:
    opening = Token("link_open", "a", 1)
    opening.attrSet("href", href)
    return [opening, *children, Token("link_close", "a", -1)]


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _host(url: str) -> str:
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def _source_as_link(inline: Token) -> None:
    """One source, as the authoring guide writes it ("*Title* (date), Publisher.
    https://..."): its title becomes the link to the first address, which is then
    shown by its site's name only; further addresses become links named by their site.
    A source without an address, or that already links, keeps its text."""
    children = inline.children or []
    if any(child.type == "link_open" for child in children):
        return
    out: list[Token] = []
    first_url = None
    for child in children:
        if child.type != "text" or not _BARE_URL.search(child.content):
            out.append(child)
            continue
        at = 0
        for match in _BARE_URL.finditer(child.content):
            out.append(_text(child.content[at:match.start()]))
            url = match.group(0)
            if first_url is None:
                first_url = url
                out.append(_text(_host(url)))
            else:
                out.extend(_link(url, [_text(_host(url))]))
            at = match.end()
        out.append(_text(child.content[at:]))
    if first_url is None:
        return
    inline.children = _title_as_link(out, first_url)


def _title_as_link(children: list[Token], url: str) -> list[Token]:
    """The first emphasised words are the title; failing those, the words before the
    first comma, parenthesis or full stop."""
    start = next((i for i, c in enumerate(children) if c.type == "em_open"), None)
    if start is not None:
        end = next(i for i in range(start, len(children)) if children[i].type == "em_close")
        return [*children[:start], *_link(url, children[start:end + 1]), *children[end + 1:]]
    if children and children[0].type == "text":
        head = children[0].content
        cut = re.search(r",\s|\s\(|\.\s", head)
        title, rest = (head[:cut.start()], head[cut.start():]) if cut else (head, "")
        if title.strip():
            return [*_link(url, [_text(title)]), _text(rest), *children[1:]]
    return children


def _html(content: str) -> Token:
    token = Token("html_block", "", 0)
    token.content = content
    return token


def _sources_collapsed(state: StateCore) -> None:
    """A level-2 "Sources" section becomes ``<details>``: its heading is the summary
    (so it shows, in the text's own language, and keeps its id), its list items links."""
    tokens = state.tokens
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not (token.type == "heading_open" and token.tag == "h2"
                and _plain(tokens[i + 1]).strip().lower() in SOURCES_HEADINGS):
            i += 1
            continue
        end = i + 3
        while end < len(tokens) and not (tokens[end].type == "heading_open" and tokens[end].tag in ("h1", "h2")) \
                and tokens[end].type != "footnote_block_open":
            if tokens[end].type == "inline" and tokens[end].level == 3:  # list > item > paragraph
                _source_as_link(tokens[end])
            end += 1
        tokens[end:end] = [_html("</details>\n")]
        tokens[i + 3:i + 3] = [_html("</summary>\n")]
        tokens[i:i] = [_html('<details class="sources">\n<summary>')]
        i = end + 4


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
    md.core.ruler.push("column_labels", _column_labels)
    md.core.ruler.push("sources_collapsed", _sources_collapsed)
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
