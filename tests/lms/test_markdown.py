"""Markdown: what authors write renders, and nothing that could run script gets through."""
from __future__ import annotations

import re
import threading
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from lms import markdown
from lms.markdown import render_markdown


class Collector(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = Collector()
    collector.feed(str(html))
    collector.close()
    return collector.tags


def test_returns_markup_and_handles_empty_text():
    assert isinstance(render_markdown("*hi*"), Markup)
    assert render_markdown("") == "" and render_markdown(None) == ""
    assert str(render_markdown("*hi* and **bold** and `code`")) == (
        "<p><em>hi</em> and <strong>bold</strong> and <code>code</code></p>\n")


def test_tables_with_alignment_as_classes():
    html = str(render_markdown("| left | centre | right | plain |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n"))
    tags = parse(html)
    names = [t for t, _ in tags]
    assert names[:2] == ["table", "thead"] and "tbody" in names
    cells = [(t, a.get("class")) for t, a in tags if t in ("th", "td")]
    assert cells == [("th", "align-left"), ("th", "align-center"), ("th", "align-right"), ("th", None),
                     ("td", "align-left"), ("td", "align-center"), ("td", "align-right"), ("td", None)]
    assert not any("style" in a for _, a in tags)


def test_table_cells_name_their_column():
    """On a phone a table becomes one card per row; each cell says which column it is."""
    tags = parse(render_markdown("| Step | What it means |\n|---|---|\n| 1 | Embed **policy** |\n| 2 | |\n"))
    assert [a.get("data-label") for t, a in tags if t == "td"] == ["Step", "What it means", "Step", "What it means"]
    assert not any("data-label" in a for t, a in tags if t == "th")


SOURCES = """Text.

## Sources

- *ILO Indicators of Forced Labour* (2012), ILO. https://www.ilo.org/indicators.
- UK Modern Slavery Act 2015, section 54, as published at https://legislation.gov.uk/ukpga/2015/30 (summary: https://example.org/s)
- EU Forced Labour Regulation: Regulation (EU) 2024/3015.
- [Already a link](https://example.org/a), its publisher.

## After
"""


def test_a_sources_section_is_collapsed_with_titles_as_links():
    html = str(render_markdown(SOURCES))
    tags = parse(html)
    names = [t for t, _ in tags]
    assert names.index("details") < names.index("summary") < names.index("h2") < names.index("ul")
    assert ("details", {"class": "sources"}) in tags and ("h2", {"id": "sources"}) in tags
    assert html.index("</details>") < html.index('<h2 id="after">')
    links = re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html)
    assert links == [
        ("https://www.ilo.org/indicators", "<em>ILO Indicators of Forced Labour</em>"),  # the title, not the address
        ("https://legislation.gov.uk/ukpga/2015/30", "UK Modern Slavery Act 2015"),  # the words before the comma
        ("https://example.org/s", "example.org"),  # a second address: named by its site
        ("https://example.org/a", "Already a link"),
    ]
    assert "(2012), ILO. ilo.org.</li>" in html  # the first address by its site's name, outside the link
    assert "Regulation (EU) 2024/3015.</li>" in html  # no address: unchanged


def test_a_sources_heading_in_another_language_and_other_sections_untouched():
    assert "<details" in str(render_markdown("## Fuentes\n\n- *Título*, OIT. https://www.ilo.org/es\n"))
    html = str(render_markdown("## Reading\n\n- *Title*, ILO. https://www.ilo.org/x\n"))
    assert "<details" not in html and "<a " not in html


def test_footnotes():
    html = str(render_markdown("Forced labour[^ilo] is measured.\n\n[^ilo]: ILO, Global Estimates 2022.\n"))
    tags = parse(html)
    ref = next(a for t, a in tags if t == "a" and a.get("href") == "#fn1")
    assert ref["id"] == "fnref1"
    assert ("sup", {"class": "footnote-ref"}) in tags
    assert ("section", {"class": "footnotes"}) in tags
    assert ("li", {"id": "fn1", "class": "footnote-item"}) in tags
    back = next(a for t, a in tags if t == "a" and a.get("href") == "#fnref1")
    assert back["class"] == "footnote-backref"
    assert "ILO, Global Estimates 2022." in html


def test_heading_ids_on_h2_and_h3_only():
    html = str(render_markdown("# Course\n\n## Why it matters\n\n### The eleven indicators\n\n#### Detail\n\n"
                               "## Why it matters\n\n## Main\n"))
    tags = parse(html)
    assert ("h1", {}) in tags and ("h4", {}) in tags
    assert ("h2", {"id": "why-it-matters"}) in tags
    assert ("h3", {"id": "the-eleven-indicators"}) in tags
    assert ("h2", {"id": "why-it-matters-1"}) in tags  # unique
    assert ("h2", {"id": "section-main"}) in tags  # never the layout's #main


def test_links_get_rel_and_keep_safe_schemes():
    html = str(render_markdown("[ILO](https://www.ilo.org \"The ILO\") [mail](mailto:info@example.org) "
                               "[next](../lessons/2) [top](#why) <https://example.org/x>"))
    links = [a for t, a in parse(html) if t == "a"]
    assert [a["href"] for a in links] == ["https://www.ilo.org", "mailto:info@example.org", "../lessons/2",
                                          "#why", "https://example.org/x"]
    assert all(a["rel"] == "noopener noreferrer" for a in links)
    assert links[0]["title"] == "The ILO"


def test_images_become_links_with_their_alt_text():
    tags = parse(render_markdown("![A map of cocoa regions](/static/map.png)"))
    assert ("img" not in [t for t, _ in tags])
    assert tags[-1][0] == "a" and tags[-1][1]["href"] == "/static/map.png"
    assert "A map of cocoa regions" in str(render_markdown("![A map of cocoa regions](/static/map.png)"))


def test_raw_html_is_shown_as_text_not_passed_through():
    html = str(render_markdown("<b>bold?</b>\n\n<div>block</div>"))
    assert "<b>" not in html and "&lt;b&gt;" in html and "<div>" not in html


SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" onerror=\"alert(1)\"/>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<div style=\"position:fixed;top:0\">overlay</div>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<object data=\"javascript:alert(1)\"></object>",
    "<embed src=\"javascript:alert(1)\">",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<style>@import 'javascript:alert(1)';</style>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1)  )",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[click](java%0ascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x\" onerror=\"alert(1)](x.png)",
    "[x](x.png \"title\\\" onmouseover=\\\"alert(1)\")",
    "<javascript:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "[ref]\n\n[ref]: data:text/html,hi",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "> <script>alert(1)</script>\n> [x](javascript:alert(1))",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "Note[^1]\n\n[^1]: [x](javascript:alert(1)) <script>alert(1)</script>",
    "## <img src=x onerror=alert(1)>\n\n### [x](javascript:alert(1))",
    "<<script>script>alert(1)<</script>/script>",
    "<a href='#' onclick='alert(1)'>x</a><b onmouseover=alert(1)>y</b>",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_yield_nothing_executable(payload):
    html = str(render_markdown(payload))
    assert "<script" not in html.lower()
    for tag, attrs in parse(html):
        assert tag not in {"script", "iframe", "object", "embed", "svg", "math", "style", "img", "form",
                           "meta", "body", "details", "div", "b"}, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name != "style", html
            if name in ("href", "src", "action", "data") and value:
                # As a browser reads it: tabs and newlines removed, then a scheme if any.
                url = "".join(value.split()).lower()
                assert not url.startswith(("javascript:", "data:", "vbscript:")), (value, html)
                scheme = SCHEME.match(url)
                assert scheme is None or scheme.group(1) in {"http", "https", "mailto"}, (value, html)


def test_cache_returns_the_same_object_for_the_same_text():
    text = "## Cached heading\n\nSome *text* that is rendered once."
    first = render_markdown(text)
    assert render_markdown(text) is first
    assert render_markdown(text + " ") is not first


def test_cache_is_bounded():
    markdown._cache.clear()
    for i in range(markdown.CACHE_SIZE + 100):
        render_markdown(f"Paragraph number {i}")
    assert len(markdown._cache) == markdown.CACHE_SIZE
    # The oldest went first; the newest are still there.
    newest = render_markdown(f"Paragraph number {markdown.CACHE_SIZE + 99}")
    assert render_markdown(f"Paragraph number {markdown.CACHE_SIZE + 99}") is newest


def test_cache_is_safe_across_threads():
    markdown._cache.clear()
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\nShared[^1]\n\n[^1]: note"
    results, errors = [], []

    def work():
        try:
            for i in range(200):
                results.append(render_markdown(text))
                render_markdown(f"{threading.get_ident()} {i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({id(r) for r in results}) <= 1 + 8  # at worst one render per thread before the first put
    assert len({str(r) for r in results}) == 1
    assert len(markdown._cache) <= markdown.CACHE_SIZE


@pytest.mark.sqlite_only
def test_jinja_filter(app):
    with app.test_request_context():
        template = app.jinja_env.from_string("{{ body|markdown }}")
        html = template.render(body="## Hello\n\n<script>alert(1)</script>")
    assert '<h2 id="hello">Hello</h2>' in html and "<script" not in html
