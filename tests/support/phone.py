"""The phone most of the LMS's people use, as the browser tests emulate it."""
from __future__ import annotations

#: A small Android phone's screen, in CSS pixels.
PHONE = {"width": 360, "height": 740}


def fits(page) -> None:
    """Nothing on the page is wider than the phone's screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"
