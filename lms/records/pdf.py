"""The certificate as a PDF: A4 landscape, with a QR code to the public verification page.

Names come from everywhere (Aïcha, João, Đặng), so the text is set in a Unicode
TrueType font (DejaVu Sans, from Debian's fonts-dejavu-core). Where no such font is
installed, fpdf2's core Helvetica is used and the text is transliterated to Latin-1,
so a certificate is always produced.
"""
from __future__ import annotations

import io
import os
import unicodedata
from datetime import datetime

import segno
from babel.dates import format_date
from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from fpdf import FPDF

__all__ = ["certificate_pdf", "find_font"]

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/share/fonts/truetype/liberation")
#: (regular, bold) file names, first found wins.
FONT_FILES = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
              ("LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"))

PAGE_W, PAGE_H = 297, 210  # A4 landscape, mm
MARGIN = 18
QR_SIZE = 38

# Letters NFKD does not take apart.
_TRANSLITERATE = str.maketrans({
    "Đ": "D", "đ": "d", "Ł": "L", "ł": "l", "Ħ": "H", "ħ": "h", "ı": "i", "Œ": "OE", "œ": "oe",
    "Ŋ": "N", "ŋ": "n", "Ŧ": "T", "ŧ": "t", "ſ": "s", "‘": "'", "’": "'", "‚": ",",
    "“": '"', "”": '"', "„": '"', "–": "-", "—": "-", "…": "...", "•": "-", "\u00a0": " ",
})


def find_font() -> tuple[str, str] | None:
    """Paths of a Unicode TrueType font (regular, bold), or None."""
    override = os.environ.get("LMS_CERTIFICATE_FONT_DIR")
    for folder in ((override,) if override else ()) + FONT_DIRS:
        for regular, bold in FONT_FILES:
            paths = (os.path.join(folder, regular), os.path.join(folder, bold))
            if all(os.path.isfile(p) for p in paths):
                return paths
    return None


def to_latin1(text: str) -> str:
    """Text the core fonts can set: accents kept where Latin-1 has them, else dropped."""
    out = []
    for ch in text.translate(_TRANSLITERATE):
        try:
            ch.encode("latin-1")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        composed = unicodedata.normalize("NFC", ch)
        decomposed = unicodedata.normalize("NFKD", composed)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        try:
            out.append(base.encode("latin-1").decode("latin-1"))
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def _locale() -> str:
    if has_request_context():
        try:
            return str(get_locale() or "en")
        except Exception:  # no Babel on this app
            return "en"
    return "en"


def _date(moment: datetime, locale: str) -> str:
    return format_date(moment.date(), format="long", locale=locale)


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=10, border=4)
    buffer.seek(0)
    return buffer


class _Certificate(FPDF):
    def __init__(self):
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        fonts = find_font()
        self.unicode = fonts is not None
        if fonts:
            self.add_font("Body", "", fonts[0])
            self.add_font("Body", "B", fonts[1])
            self.family_name = "Body"
        else:
            self.family_name = "Helvetica"

    def text_of(self, text: str) -> str:
        return text if self.unicode else to_latin1(text)

    def centred(self, text: str, size: float, style: str = "", height: float | None = None,
             color: tuple[int, int, int] = (27, 27, 27)) -> None:
        self.set_font(self.family_name, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, height or size * 0.5, self.text_of(text), align="C", new_x="LMARGIN", new_y="NEXT")


def certificate_pdf(record, verify_url: str, phrase=None) -> bytes:
    """The certificate for ``record`` as PDF bytes; its QR code opens ``verify_url``.
    ``phrase`` follows the name: the record kind's ``certificate_phrase``."""
    locale = _locale()
    name = record.person_name or _("Name withheld")
    pdf = _Certificate()
    pdf.set_title(pdf.text_of(_("Certificate %(code)s", code=record.certificate_code)))
    pdf.set_subject(pdf.text_of(f"{record.item_title} - {name}"))
    pdf.set_author(pdf.text_of(record.issuer))
    pdf.set_creator("Alliance 8.7 Learning")
    pdf.set_lang(locale)
    pdf.add_page()

    # A double frame, in the brand colour.
    pdf.set_draw_color(11, 83, 148)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, PAGE_W - 22, PAGE_H - 22)

    brand = (11, 83, 148)
    muted = (80, 80, 80)
    pdf.set_y(24)
    pdf.centred(record.issuer, 13, "B", color=brand)
    pdf.ln(6)
    pdf.centred(_("Certificate of completion"), 30, "B", height=14)
    pdf.ln(6)
    pdf.centred(_("This certifies that"), 13, color=muted)
    pdf.ln(3)
    pdf.centred(name, 26, "B", height=12)
    pdf.ln(3)
    completed = str(phrase) if phrase else _("has completed")
    pdf.centred(completed, 13, color=muted)
    pdf.ln(3)
    pdf.centred(record.item_title, 18, "B", height=9)
    pdf.ln(4)
    details = [_("Version %(version)s", version=record.item_version),
               _("Completed on %(date)s", date=_date(record.completed_at, locale))]
    if record.score is not None:
        details.append(_("Score: %(score)s%%", score=f"{record.score:.0f}"))
    pdf.centred("  ·  ".join(details) if pdf.unicode else "  -  ".join(details), 12, color=muted)
    if record.expires_at is not None:
        pdf.ln(1)
        pdf.centred(_("Valid until %(date)s", date=_date(record.expires_at, locale)), 12, color=muted)

    # Bottom: the code and where to check it, with the QR code on the right.
    qr_x, qr_y = PAGE_W - MARGIN - QR_SIZE, PAGE_H - MARGIN - QR_SIZE
    pdf.image(_qr_png(verify_url), x=qr_x, y=qr_y, w=QR_SIZE, h=QR_SIZE,
              alt_text=pdf.text_of(_("QR code for the verification page")))
    text_w = qr_x - MARGIN - 6
    pdf.set_xy(MARGIN, qr_y + 4)
    pdf.set_font(pdf.family_name, "", 11)
    pdf.set_text_color(*muted)
    pdf.multi_cell(text_w, 6, pdf.text_of(_("Issued by %(issuer)s", issuer=record.issuer)),
                   align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "B", 14)
    pdf.set_text_color(27, 27, 27)
    pdf.multi_cell(text_w, 8, pdf.text_of(_("Certificate code: %(code)s", code=record.certificate_code)),
                   align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, "", 10)
    pdf.set_text_color(*muted)
    pdf.multi_cell(text_w, 5, pdf.text_of(_("Check this certificate at %(url)s", url=verify_url)),
                   align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
