"""How an organisation's name is written for searching, once for the whole LMS.

People type "Cooperative" for "Coopérative", "cgeci" for "CGECI", "Sao Paulo" for
"São Paulo", often on a phone keyboard without accents. ``search_key`` writes a name,
or what someone typed, the same way: compatibility-decomposed (NFKD), case-folded,
without its accents, with every run of spaces and punctuation made one space.
``Organisation.search_name`` stores it, so the search is a plain comparison in SQL on
SQLite and PostgreSQL alike, and the query is written with this same function.

A key holds only letters, digits, the spacing marks of some scripts and single spaces:
never a LIKE wildcard (``%``, ``_``) nor an escape character, so a stored key may be
used as a pattern. Changing what this function returns changes every stored key: a
migration must then write them all again (as 0009 does).
"""
from __future__ import annotations

import unicodedata

#: The length of ``Organisation.search_name`` (that of the name: a key is rarely
#: longer than its name, and a longer one is cut).
MAX_LENGTH = 200

#: Letters that are not a base letter with an accent, so NFKD leaves them as they are.
_LETTERS = str.maketrans({
    "ø": "o", "đ": "d", "ð": "d", "ł": "l", "ħ": "h", "ŧ": "t", "ı": "i",
    "æ": "ae", "œ": "oe", "þ": "th",
})
#: Dropped rather than made a space: "S.A.R.L." is "sarl", "C.G.E.C.I." is "cgeci".
_DROPPED = {".", "\u00b7"}
#: Apostrophes separate words ("d'Ivoire" is "d ivoire"), including Uzbek's ʻ and ʼ,
#: which Unicode counts as letters.
_SEPARATORS = {"\u02bb", "\u02bc"}


def search_key(text: str | None) -> str:
    """``text`` as it is stored and compared for searching: "Coopérative  Agricole
    d’Ahoutoué (S.A.)" is "cooperative agricole d ahoutoue sa"."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold()).translate(_LETTERS)
    chars = []
    for ch in decomposed:
        category = unicodedata.category(ch)
        if category == "Mn" or ch in _DROPPED:  # accents (and the dots of abbreviations)
            continue
        if ch in _SEPARATORS or not (ch.isalnum() or category.startswith("M")):
            ch = " "
        chars.append(ch)
    return " ".join("".join(chars).split())[:MAX_LENGTH].rstrip()


#: Words too common in organisations' names to tell two apart (legal forms and the
#: small words of English, French, Spanish and Portuguese), as ``search_key`` writes them.
COMMON_WORDS = frozenset("""
    the of and for at in on de des du la le les l d et pour en au aux y del los las el da do dos das e em
    ltd limited co company inc plc llc sa sarl sas sasu sac saa srl eirl ltda me epp
""".split())


def match_stems(text: str | None, limit: int = 8) -> list[str]:
    """The starts of the telling words of ``text``, to find names that share them:
    each word of three letters or more, not a common one, shortened by up to two
    letters but to no fewer than four ("cooperativa" -> "cooperati", which starts
    "cooperative"). At most ``limit`` of them, so a query stays small."""
    stems = []
    for word in search_key(text).split():
        if len(word) < 3 or word in COMMON_WORDS:
            continue
        stem = word[:max(4, len(word) - 2)]
        if stem not in stems:
            stems.append(stem)
    return stems[:limit]
