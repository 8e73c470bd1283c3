"""Question types: one class each, in a registry.

A type knows how to check an authored question (``validate``), how to lay it out
for one attempt (``layout``: option order and the opaque tokens that stand for
options in the page), what the page may show (``present``: never the key), which
form fields the attempt's form has for it (``fields``, see ``courses.forms``), how
to read a response from those fields' values (``parse``), how to score a response
(``score``, 0 to 1) and how to describe the right answer after grading (``solution``).

Options reach the browser only as random per-attempt tokens, so neither their
values nor their order give the answer away.
"""
from __future__ import annotations

import math
import re
import secrets
import unicodedata
from random import Random
from typing import Any

from flask_babel import gettext as _
from wtforms import RadioField, SelectField, SelectMultipleField, StringField

Problems = list[tuple[str | None, str]]  # (key the problem is on, message)


def _token() -> str:
    return secrets.token_urlsafe(6)


def _is_text(value) -> bool:
    return isinstance(value, str) and value.strip() != ""


class QuestionType:
    name = ""
    #: Keys a question of this type may have, besides the common ones.
    keys: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    #: Self-assessment questions have no right answer.
    graded = True

    def validate(self, spec: dict) -> Problems:
        problems: Problems = []
        for key in sorted(self.required - spec.keys()):
            problems.append((None, f"a {self.name} question needs “{key}”"))
        return problems

    def layout(self, spec: dict, rng: Random, shuffle: bool) -> dict:
        return {}

    def present(self, spec: dict, layout: dict) -> dict:
        return {}

    def fields(self, name: str, layout: dict) -> dict:
        """The form fields for this question in one attempt, by field name: free text
        unless the type says otherwise. Choices are the attempt's tokens; a value that is
        none of them is not an error of the form, it is dropped by ``parse``."""
        return {name: StringField()}

    def parse(self, form, field: str, layout: dict) -> Any:
        value = form.get(field, "")
        return value.strip() if isinstance(value, str) else ""

    def score(self, spec: dict, response: Any, layout: dict) -> float:
        raise NotImplementedError

    def solution(self, spec: dict) -> str:
        raise NotImplementedError


def _validate_options(spec: dict, name: str) -> Problems:
    options = spec.get("options")
    if not isinstance(options, list) or len(options) < 2:
        return [("options", "needs a list of at least two options")]
    problems: Problems = []
    texts = []
    for i, option in enumerate(options, 1):
        if not isinstance(option, dict) or not _is_text(option.get("text")):
            problems.append(("options", f"option {i} needs a “text”"))
            continue
        unknown = set(option) - {"text", "correct"}
        if unknown:
            problems.append(("options", f"option {i} has unknown keys: {', '.join(sorted(unknown))}"))
        if "correct" in option and not isinstance(option["correct"], bool):
            problems.append(("options", f"option {i}: “correct” must be true or false"))
        texts.append(option["text"].strip())
    if len(set(texts)) != len(texts):
        problems.append(("options", "two options have the same text"))
    return problems


class _OptionsType(QuestionType):
    def layout(self, spec, rng, shuffle):
        order = list(range(len(spec["options"])))
        if shuffle:
            rng.shuffle(order)
        return {"options": [[_token(), i] for i in order]}

    def present(self, spec, layout):
        return {"options": [(token, spec["options"][i]["text"]) for token, i in layout["options"]]}

    def fields(self, name, layout):
        return {name: RadioField(choices=[t for t, _ in layout["options"]], validate_choice=False)}

    def _index(self, layout, token):
        return next((i for t, i in layout["options"] if t == token), None)

    def solution(self, spec):
        return "; ".join(o["text"] for o in spec["options"] if o.get("correct"))


class SingleChoice(_OptionsType):
    name = "single"
    keys = frozenset({"options"})
    required = keys

    def validate(self, spec):
        problems = super().validate(spec) + _validate_options(spec, self.name)
        if not problems:
            n = sum(1 for o in spec["options"] if o.get("correct") is True)
            if n != 1:
                problems.append(("options", f"a single-choice question needs exactly one correct option (found {n})"))
        return problems

    def score(self, spec, response, layout):
        i = self._index(layout, response)
        return 1.0 if i is not None and spec["options"][i].get("correct") else 0.0


class MultipleChoice(_OptionsType):
    """``all_or_nothing``: full marks only for exactly the right set. ``partial``:
    each right option picked earns its share, each wrong one picked takes a share
    of the wrong ones away, never below zero."""

    name = "multiple"
    keys = frozenset({"options", "scoring"})
    required = keys

    def validate(self, spec):
        problems = super().validate(spec) + _validate_options(spec, self.name)
        if "scoring" in spec and spec["scoring"] not in ("partial", "all_or_nothing"):
            problems.append(("scoring", f"“{spec['scoring']}” is not one of: partial, all_or_nothing"))
        if not any(p[0] == "options" for p in problems) and "options" in spec:
            if not any(o.get("correct") is True for o in spec["options"]):
                problems.append(("options", "a multiple-choice question needs at least one correct option"))
        return problems

    def fields(self, name, layout):
        return {name: SelectMultipleField(choices=[t for t, _ in layout["options"]], validate_choice=False)}

    def parse(self, form, field, layout):
        values = form.getlist(field) if hasattr(form, "getlist") else form.get(field, [])
        valid = {t for t, _ in layout["options"]}
        return sorted({v for v in values if v in valid})

    def score(self, spec, response, layout):
        picked = {self._index(layout, t) for t in response or []} - {None}
        right = {i for i, o in enumerate(spec["options"]) if o.get("correct")}
        wrong = set(range(len(spec["options"]))) - right
        if spec.get("scoring") == "all_or_nothing":
            return 1.0 if picked == right else 0.0
        gained = len(picked & right) / len(right)
        lost = len(picked & wrong) / len(wrong) if wrong else 0.0
        return max(0.0, gained - lost)


class TrueFalse(QuestionType):
    name = "true_false"
    keys = frozenset({"answer"})
    required = keys

    def validate(self, spec):
        problems = super().validate(spec)
        if "answer" in spec and not isinstance(spec["answer"], bool):
            problems.append(("answer", "“answer” must be true or false"))
        return problems

    def present(self, spec, layout):
        return {"options": [("true", _("True")), ("false", _("False"))]}

    def fields(self, name, layout):
        return {name: RadioField(choices=["true", "false"], validate_choice=False)}

    def parse(self, form, field, layout):
        value = form.get(field, "")
        return value if value in ("true", "false") else ""

    def score(self, spec, response, layout):
        return 1.0 if response in ("true", "false") and (response == "true") == spec["answer"] else 0.0

    def solution(self, spec):
        return _("True") if spec["answer"] else _("False")


class Matching(QuestionType):
    name = "matching"
    keys = frozenset({"pairs"})
    required = keys

    def validate(self, spec):
        problems = super().validate(spec)
        pairs = spec.get("pairs")
        if "pairs" not in spec:
            return problems
        if not isinstance(pairs, list) or len(pairs) < 2:
            return problems + [("pairs", "needs a list of at least two pairs")]
        for i, pair in enumerate(pairs, 1):
            if not isinstance(pair, dict) or not _is_text(pair.get("left")) or not _is_text(pair.get("right")):
                problems.append(("pairs", f"pair {i} needs a “left” and a “right”"))
            elif set(pair) - {"left", "right"}:
                problems.append(("pairs", f"pair {i} has unknown keys: {', '.join(sorted(set(pair) - {'left', 'right'}))}"))
        if not problems:
            lefts = [p["left"].strip() for p in pairs]
            rights = [p["right"].strip() for p in pairs]
            if len(set(lefts)) != len(lefts) or len(set(rights)) != len(rights):
                problems.append(("pairs", "repeated texts: every left and every right must be different"))
        return problems

    def layout(self, spec, rng, shuffle):
        n = len(spec["pairs"])
        lefts = list(range(n))
        if shuffle:
            rng.shuffle(lefts)
        rights = list(range(n))
        rng.shuffle(rights)  # always: the order of the choices must not mirror the items
        return {"lefts": lefts, "rights": [[_token(), i] for i in rights]}

    def present(self, spec, layout):
        return {
            "lefts": [(str(i), spec["pairs"][i]["left"]) for i in layout["lefts"]],
            "rights": [(t, spec["pairs"][i]["right"]) for t, i in layout["rights"]],
        }

    def fields(self, name, layout):
        rights = [t for t, _ in layout["rights"]]
        return {f"{name}-{i}": SelectField(choices=rights, validate_choice=False) for i in layout["lefts"]}

    def parse(self, form, field, layout):
        valid = {t for t, _ in layout["rights"]}
        return {str(i): form.get(f"{field}-{i}", "") for i in layout["lefts"]
                if form.get(f"{field}-{i}", "") in valid}

    def score(self, spec, response, layout):
        chosen = {t: i for t, i in layout["rights"]}
        right = sum(1 for left, token in (response or {}).items() if chosen.get(token) == int(left))
        return right / len(spec["pairs"])

    def solution(self, spec):
        return "; ".join(f"{p['left']} → {p['right']}" for p in spec["pairs"])


_NUMBER = re.compile(r"^[+-]?(\d{1,3}([ ,.\u00a0\u202f]\d{3})+|\d+)([.,]\d+)?$")


def parse_number(text: str) -> float | None:
    """Read a number as people type it: '27.6', '27,6', '1 200', '1,200.5'."""
    text = (text or "").strip().replace("\u2212", "-")
    if not text or not _NUMBER.match(text):
        return None
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    decimal = ""
    m = re.search(r"[.,](\d+)$", text)
    if m and not re.fullmatch(r"\d{1,3}([ ,.\u00a0\u202f]\d{3})+", text):
        decimal = m.group(1)
        text = text[: m.start()]
    digits = re.sub(r"\D", "", text)
    return sign * float(f"{digits}.{decimal or 0}")


class Numeric(QuestionType):
    name = "numeric"
    keys = frozenset({"answer", "tolerance", "unit"})
    required = frozenset({"answer"})

    def validate(self, spec):
        problems = super().validate(spec)
        if "answer" in spec and (isinstance(spec["answer"], bool) or not isinstance(spec["answer"], (int, float))):
            problems.append(("answer", "“answer” must be a number"))
        tol = spec.get("tolerance", 0)
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or tol < 0 or math.isnan(tol):
            problems.append(("tolerance", "“tolerance” must be a number, zero or more"))
        if "unit" in spec and not isinstance(spec["unit"], str):
            problems.append(("unit", "“unit” must be text"))
        return problems

    def present(self, spec, layout):
        return {"unit": spec.get("unit", "")}

    def score(self, spec, response, layout):
        value = parse_number(response if isinstance(response, str) else "")
        if value is None:
            return 0.0
        return 1.0 if abs(value - spec["answer"]) <= spec.get("tolerance", 0) + 1e-9 else 0.0

    def solution(self, spec):
        unit = f" {spec['unit']}" if spec.get("unit") else ""
        tol = spec.get("tolerance", 0)
        return f"{spec['answer']:g}{unit}" + (f" (± {tol:g})" if tol else "")


def _normalise(text: str, case_sensitive: bool) -> str:
    text = unicodedata.normalize("NFC", " ".join((text or "").split()))
    text = text.strip(" .")
    return text if case_sensitive else text.casefold()


class ShortText(QuestionType):
    name = "short_text"
    keys = frozenset({"accepted", "case_sensitive"})
    required = frozenset({"accepted"})

    def validate(self, spec):
        problems = super().validate(spec)
        accepted = spec.get("accepted")
        if "accepted" in spec and (not isinstance(accepted, list) or not accepted
                                   or not all(_is_text(a) for a in accepted)):
            problems.append(("accepted", "“accepted” must be a list of at least one answer"))
        if "case_sensitive" in spec and not isinstance(spec["case_sensitive"], bool):
            problems.append(("case_sensitive", "“case_sensitive” must be true or false"))
        return problems

    def score(self, spec, response, layout):
        cs = spec.get("case_sensitive", False)
        given = _normalise(response if isinstance(response, str) else "", cs)
        return 1.0 if given and given in {_normalise(a, cs) for a in spec["accepted"]} else 0.0

    def solution(self, spec):
        return spec["accepted"][0]


class Scale(QuestionType):
    """A self-assessment rating on the quiz's shared levels; no right answer."""

    name = "scale"
    keys = frozenset({"dimension", "advice"})
    required = keys
    graded = False

    def validate(self, spec):
        problems = super().validate(spec)
        for key in ("dimension", "advice"):
            if key in spec and not _is_text(spec[key]):
                problems.append((key, f"“{key}” must be text"))
        return problems

    def parse(self, form, field, layout):
        value = form.get(field, "")
        return int(value) if re.fullmatch(r"-?\d{1,4}", value or "") else None

    def score(self, spec, response, layout):
        return 0.0

    def solution(self, spec):
        return ""


QUESTION_TYPES: dict[str, QuestionType] = {
    t.name: t for t in (SingleChoice(), MultipleChoice(), TrueFalse(), Matching(), Numeric(), ShortText(), Scale())
}
