"""Topic plans: a quiz that draws so many questions from each topic, and a pre-test that
is the parallel form of the course's final quiz (courses/README.md, section 5).

A question's topic is its ``topic``, else its lesson's file name. A quiz's ``draw`` is a
whole number (that many from the whole pool) or a mapping {topic: count}: its topic
plan. A pre-test with ``parallel_to: final`` draws by the final quiz's plan, from its
own questions or, when it has none, from the final quiz's. Knowledge gain compares only
attempts drawn from one plan, so the checks here make a plan that cannot be drawn, or a
parallel form that is not parallel, an error with its file and line.
"""
from __future__ import annotations

from collections import Counter

from lms.content import YList, YMap, show


def question_topic(q) -> str | None:
    """The topic of a question as written (a YAML mapping), before its other checks."""
    if not isinstance(q, YMap):
        return None
    for key in ("topic", "lesson"):
        if isinstance(q.get(key), str) and q[key]:
            return q[key]
    return None


def topic_plan(f, doc: YMap, lines: dict) -> dict | None:
    """The ``draw`` mapping as {topic: count}, or None (each problem reported); the line
    of each topic goes to ``lines["topics"]``."""
    draw = doc["draw"]
    lines["draw_is_plan"] = True
    if not draw:
        f.add(doc.line_of("draw"), '"draw" by topic needs at least one topic: count line')
        return None
    plan, topics, ok = {}, lines.setdefault("topics", {}), True
    for topic, count in draw.items():
        line = draw.line_of(topic)
        topics[topic] = line
        if not isinstance(topic, str) or not topic.strip():
            f.add(line, f"draw: topic {show(topic)} must be a topic name or a lesson file name")
            ok = False
        elif isinstance(count, bool) or not isinstance(count, int) or count < 1:
            f.add(line, f'draw: the count for topic "{topic}" must be a whole number, 1 or more '
                        f"(found {show(count)})")
            ok = False
        else:
            plan[topic] = count
    return plan if ok else None


def check_topic_plan(f, plan: dict, lines: dict, questions, what: str = "to draw") -> bool:
    """Each topic of ``plan`` has at least its count of ``questions`` (the file's list, as
    written); a shortfall is reported on the topic's line (``lines["topics"]``), else on
    ``lines["at"]``."""
    pool = pool_sizes(questions)
    ok = True
    for topic, count in plan.items():
        have = pool.get(topic, 0)
        if have < count:
            line = lines.get("topics", {}).get(topic, lines.get("at"))
            f.add(line, f'topic "{topic}" has {have} question{"s" if have != 1 else ""} in this file, '
                        f"fewer than the {count} {what}")
            ok = False
    return ok


def pool_sizes(questions) -> Counter:
    """How many questions each topic has (None: questions with neither topic nor lesson)."""
    if isinstance(questions, YList):
        return Counter(question_topic(q) for q in questions)
    return Counter(q.topic for q in questions or [])


def _differences(mine: dict, theirs: dict) -> str:
    out = []
    for topic in sorted(set(mine) | set(theirs)):
        if topic not in theirs:
            out.append(f'topic "{topic}" is not in the final quiz\'s plan')
        elif topic not in mine:
            out.append(f'topic "{topic}" ({theirs[topic]}) is missing')
        elif mine[topic] != theirs[topic]:
            out.append(f'topic "{topic}" draws {mine[topic]} here, {theirs[topic]} in the final quiz')
    return "; ".join(out)


def check_parallel_forms(quizzes: list, course_md, m: YMap) -> None:
    """A pre-test with ``parallel_to: final`` gets the final quiz's plan, and its questions
    when it has none of its own. Refused, on the pre-test's lines: no final quiz, a final
    quiz that does not draw by topic, a ``draw`` other than the final's plan, a parallel
    pool with too few questions in a topic of the plan."""
    pretest = next((q for q in quizzes if q.role == "pretest" and q.settings.get("parallel_to")), None)
    if pretest is None:
        return
    f, where = pretest.file, pretest.lines
    final = next((q for q in quizzes if q.role == "final"), None)
    if final is None:
        if m.get("final_quiz") is None:  # a final quiz named but unreadable has its own problems
            f.add(where["parallel_to"], "parallel_to: final, but course.md names no final_quiz to be parallel to")
        return
    plan = final.settings.get("topic_plan")
    if plan is None:
        if not final.lines.get("draw_is_plan"):  # a plan written wrong has its own problems
            f.add(where["parallel_to"], f'parallel_to: final needs quizzes/{final.filename} to draw by topic: '
                                        'write its "draw" as topic: count lines')
        return
    if "draw" in where:
        mine = pretest.settings.get("topic_plan")
        if mine is None and where.get("draw_is_plan"):
            return  # its own problems are reported
        if mine != plan:
            detail = _differences(mine, plan) if mine is not None else \
                f'it draws {show(pretest.settings.get("draw"))} from the whole pool'
            f.add(where["draw"], f'"draw" must be the topic plan of quizzes/{final.filename} '
                                 f"(line {final.lines['draw']}), or be left out: {detail}")
            return
    if pretest.uses_final_pool:
        pretest.questions = list(final.questions)
    elif pretest.questions and final.lines.get("plan_drawable"):
        if "draw" in where:
            check_topic_plan(f, plan, where, pretest.questions)
        else:
            check_topic_plan(f, plan, {"at": where["parallel_to"]}, pretest.questions,
                             f"the plan of quizzes/{final.filename} draws")
    pretest.settings["topic_plan"] = dict(plan)
    pretest.settings["draw"] = sum(plan.values())


def quiz_report(quizzes: list) -> list[str]:
    """The importer's lines about each quiz's draw: its plan and the pool of each topic."""
    out = []
    by_role = {q.role: q for q in quizzes}
    for quiz in quizzes:
        if quiz.kind == "self_assessment":
            continue
        pool = pool_sizes(quiz.questions)
        plan = quiz.settings.get("topic_plan")
        name = f"quizzes/{quiz.filename}"
        if quiz.settings.get("parallel_to") and "final" in by_role:
            source = "the final quiz's questions" if quiz.uses_final_pool else "its own questions"
            name += f" (parallel form of quizzes/{by_role['final'].filename}, from {source})"
        if not plan:
            draw = quiz.settings.get("draw") or len(quiz.questions)
            out.append(f"  {name}: draws {draw} of {len(quiz.questions)} questions from the whole pool")
            continue
        out.append(f"  {name}: draws {sum(plan.values())} of {len(quiz.questions)} questions by topic")
        for topic in sorted(plan):
            out.append(f"    {topic}: {plan[topic]} of {pool.get(topic, 0)}")
        for topic in sorted((t for t in pool if t not in plan), key=str):
            out.append(f"    {topic or '(no topic)'}: not drawn ({pool[topic]} in the pool)")
    return out
