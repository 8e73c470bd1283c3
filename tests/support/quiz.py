"""A learner who knows everything: the right answers to an attempt, built from the
course content (the questions' specs) and the attempt's own layout of tokens."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from courses.forms import AttemptForm
from courses.quiz import engine


def form_answers(session, attempt, formdata: MultiDict) -> dict:
    """What the attempt's form reads from the fields posted."""
    return AttemptForm.for_attempt(session, attempt, formdata=formdata).answers()


def right_answers(session, attempt) -> dict:
    """The answers of a learner who knows everything, read through the attempt's form."""
    return form_answers(session, attempt, right_form(session, attempt))


def right_form(session, attempt) -> MultiDict:
    """Fill the form the way a learner who knows everything would."""
    form = MultiDict()
    for question, layout in engine.questions_of(session, attempt):
        name, spec = f"q{question.id}", question.spec
        if question.type == "single":
            form[name] = next(t for t, i in layout["options"] if spec["options"][i].get("correct"))
        elif question.type == "multiple":
            for t, i in layout["options"]:
                if spec["options"][i].get("correct"):
                    form.add(name, t)
        elif question.type == "true_false":
            form[name] = "true" if spec["answer"] else "false"
        elif question.type == "matching":
            for t, i in layout["rights"]:
                form[f"{name}-{i}"] = t
        elif question.type == "numeric":
            form[name] = str(spec["answer"])
        elif question.type == "short_text":
            form[name] = spec["accepted"][0]
    return form
