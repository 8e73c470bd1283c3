"""The one rule for a new password, wherever it is set (sign-up, change, reset, the CLI).

A password is refused when it is shorter than ``MIN_PASSWORD``, among the most common
passwords, the person's own email address or name, or made of too few different
characters. The common list is ``common-passwords.txt.gz`` beside this module (30,000
passwords from a breach-derived corpus, lowercased; its source and licence are in
``common-passwords.NOTICE.txt``); it is read once per process, on first use.
"""
from __future__ import annotations

import gzip
import threading
from importlib import resources

#: NIST SP 800-63B asks for at least 8; the LMS holds everyone's data and asks for 10.
MIN_PASSWORD = 10
#: fewer different characters than this ("aaaaaaaaaa", "ababababab") is guessed at once
MIN_DIFFERENT_CHARACTERS = 4

COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"

_common: frozenset[str] | None = None
_lock = threading.Lock()


def common_passwords() -> frozenset[str]:
    """The shipped list, lowercased (loaded by the first caller, under a lock)."""
    global _common
    if _common is None:
        with _lock:
            if _common is None:
                data = resources.files(__package__).joinpath(COMMON_PASSWORDS_FILE).read_bytes()
                _common = frozenset(line.strip() for line in gzip.decompress(data).decode("utf-8").splitlines()
                                    if line.strip())
    return _common


def is_common(password: str) -> bool:
    return (password or "").strip().lower() in common_passwords()


def _own_words(email: str | None, name: str | None) -> set[str]:
    words = set()
    email = (email or "").strip().lower()
    if email:
        words.update({email, email.partition("@")[0]})
    name = " ".join((name or "").lower().split())
    if name:
        words.update({name, name.replace(" ", "")})
    return {word for word in words if word}


def password_problem(password: str, *, email: str | None = None, name: str | None = None) -> str | None:
    """Why ``password`` is refused for the person with this email and name, or None."""
    from flask_babel import gettext as _

    password = password or ""
    folded = password.strip().lower()
    if is_common(password):
        return _("This password is among the most common ones, so it is guessed first. Choose another.")
    if len(password) < MIN_PASSWORD:
        return _("Use at least %(n)d characters.", n=MIN_PASSWORD)
    own = _own_words(email, name)
    email = (email or "").strip().lower()
    if folded in own or folded.replace(" ", "") in own or (email and email in folded):
        return _("Do not use your email address or your name as your password. Choose another.")
    if len(set(folded)) < MIN_DIFFERENT_CHARACTERS:
        return _("This password is too easy to guess. Try a short sentence.")
    return None
