"""Page weight: the bytes a first visit to each main page downloads (HTML, stylesheets,
images, scripts, fonts), raw and gzip-compressed, and whether the page has any script."""
from __future__ import annotations

import gzip
import re
import urllib.parse
from dataclasses import dataclass

from .common import Browser, log
from .load import Pages

#: The goal of the issue: a lesson under 40 KB with no JavaScript needed.
LESSON_BUDGET = 40 * 1024

_LINKED = re.compile(
    r"""<(?:link[^>]*\brel=["']?(?:stylesheet|icon|preload)[^>]*\bhref|img[^>]*\bsrc|script[^>]*\bsrc|"""
    r"""source[^>]*\bsrcset)=["']([^"']+)["']""", re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", re.I)
_SCRIPT = re.compile(r"<script\b", re.I)


@dataclass
class Weight:
    label: str
    path: str
    html: int
    html_gzip: int
    assets: int
    assets_gzip: int
    files: int
    scripts: int
    css_cache_control: str

    @property
    def total(self) -> int:
        return self.html + self.assets

    @property
    def total_gzip(self) -> int:
        return self.html_gzip + self.assets_gzip


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, 6))


def _same_site(base: str, url: str) -> str | None:
    if url.startswith("data:"):
        return None
    absolute = urllib.parse.urljoin(base + "/", url)
    return absolute if absolute.startswith(base) else None


def weigh(browser: Browser, label: str, path: str) -> Weight:
    page = browser.request(path)
    if page.status != 200:
        raise RuntimeError(f"{label} ({path}) answers HTTP {page.status}")
    html = page.body
    text = page.text
    seen: dict[str, bytes] = {}
    cache_control = ""
    queue = [u for u in (_same_site(browser.base, m) for m in _LINKED.findall(text)) if u]
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        r = browser.request(url[len(browser.base):])
        seen[url] = r.body if r.status == 200 else b""
        if url.endswith(".css"):
            cache_control = cache_control or r.headers.get("Cache-Control", "none")
            queue += [u for u in (_same_site(url.rsplit("/", 1)[0], m) for m in _CSS_URL.findall(r.text)) if u]
    return Weight(label=label, path=path, html=len(html), html_gzip=_gz(html),
                  assets=sum(len(b) for b in seen.values()), assets_gzip=sum(_gz(b) for b in seen.values()),
                  files=1 + len(seen), scripts=len(_SCRIPT.findall(text)), css_cache_control=cache_control or "-")


def page_weights(pages: Pages) -> list[Weight]:
    weights = []
    for label, path in pages.paths.items():
        w = weigh(pages.browser_for(label), label, path)
        weights.append(w)
        log(f"  {label:<22} {w.total / 1024:6.1f} KB ({w.total_gzip / 1024:5.1f} KB gzip), {w.files} files,"
            f" {w.scripts} scripts")
    return weights
