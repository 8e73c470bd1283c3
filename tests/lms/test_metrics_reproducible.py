"""Every figure of GET /api/v1/metrics can be recomputed from the raw exports alone.

On a generated data set (the large demo generator at a small size, whose organisations
then change kind, parent, sectors and partner flag twice in the past), the test
downloads the raw CSV exports only (completions, enrolments, quiz attempts,
registrations, sessions, and the organisations with their attribute history),
recomputes each metric of SPEC section 7 in plain Python straight from the
definitions, and compares with the API for several periods and every filter. Runs on
SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

import pytest

from lms.demo_large import generate

from tests.support.api import api_headers
from tests.support.content import parallel_forms, quiet

SEXES = ("female", "male", "other")


@pytest.fixture
def dataset(app, session, shipped_content):
    parallel_forms(session)  # pairs form over matched forms only
    with app.app_context():
        generate(session, organisations=40, learners=400, records=700, runs=40, registrations=500, seed=8,
                 echo=quiet)
        session.commit()
    _change_organisations_in_the_past(session)


def _change_organisations_in_the_past(session):
    """Two rounds of changes to a third of the organisations, 300 and 100 days ago, as
    if made then (Core updates, then the history written at that moment)."""
    import random

    from sqlalchemy import delete, insert, select, update

    from lms.orgs.history import history_problems, sync_versions
    from lms.orgs.models import KINDS, SECTORS, Organisation, OrganisationSector

    rng = random.Random(87)
    o, s = Organisation.__table__, OrganisationSector.__table__
    connection = session.connection()
    ids = [oid for oid, in connection.execute(select(o.c.id).order_by(o.c.id))]
    now = datetime.now(timezone.utc)
    for days in (300, 100):
        changed = rng.sample(ids, len(ids) // 3)
        for oid in changed:
            parent = rng.choice([None, *(i for i in ids if i != oid)])
            connection.execute(update(o).where(o.c.id == oid).values(
                kind=rng.choice(KINDS), is_alliance_partner=rng.random() < 0.5,
                parent_id=parent if parent is None or _no_cycle(connection, oid, parent) else None))
            connection.execute(delete(s).where(s.c.organisation_id == oid))
            for sector in rng.sample(SECTORS, rng.randint(0, 2)):
                connection.execute(insert(s).values(organisation_id=oid, sector=sector))
        sync_versions(connection, changed, at=now - timedelta(days=days))
    assert history_problems(connection) == []
    session.commit()


def _no_cycle(connection, oid, parent) -> bool:
    from sqlalchemy import select

    from lms.orgs.models import Organisation

    o = Organisation.__table__
    node = parent
    while node is not None:
        if node == oid:
            return False
        node = connection.scalar(select(o.c.parent_id).where(o.c.id == node))
    return True


def _csv(client, bearer, name) -> list[dict]:
    response = client.get(f"/api/v1/exports/{name}", headers=api_headers(bearer))
    assert response.status_code == 200, response.data[:300]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def _moment(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _sex(value: str) -> str | None:
    return None if value in ("", "not_recorded") else value


def _split(sexes) -> dict:
    """Count one unit per entry of ``sexes`` (None = not recorded)."""
    sexes = list(sexes)
    result = {"total": len(sexes)}
    result.update({s: sum(1 for x in sexes if x == s) for s in SEXES})
    result["not_recorded"] = result["total"] - sum(result[s] for s in SEXES)
    return result


def _units(rows) -> list:
    """(unit, sex) rows to one sex per unit: recorded if any of its rows has a sex (MAX)."""
    best: dict = {}
    for unit, sex in rows:
        if unit not in best or (sex is not None and (best[unit] is None or sex > best[unit])):
            best[unit] = sex
    return list(best.values())


class Exports:
    def __init__(self, client, bearer):
        self.records = _csv(client, bearer, "completions.csv")
        self.registrations = _csv(client, bearer, "registrations.csv")
        self.enrolments = _csv(client, bearer, "enrolments.csv")
        self.attempts = _csv(client, bearer, "quiz-attempts.csv")
        self.sessions = {int(s["session_id"]): s for s in _csv(client, bearer, "sessions.csv")}
        self.runs = {int(s["run_id"]): s for s in self.sessions.values()}  # the run's columns repeat per session
        self.versions = defaultdict(list)
        for v in _csv(client, bearer, "organisations.csv"):
            self.versions[int(v["organisation_id"])].append(v)
        assert self.records and self.registrations and self.enrolments and self.attempts and self.sessions
        assert any(len(vs) > 1 for vs in self.versions.values())  # the history is exercised

    # -- filters, exactly as lms/metrics/definitions.py documents them ---------------------

    def version(self, org_id, moment: datetime) -> dict | None:
        """The organisation's version in force at ``moment``: valid_from <= moment < valid_to."""
        for v in self.versions.get(int(org_id), []) if org_id else []:
            start, end = _moment(v["valid_from"]), _moment(v["valid_to"])
            if (start is None or start <= moment) and (end is None or moment < end):
                return v
        return None

    def org_has(self, org_id, moment, sector=None, kind=None) -> bool:
        v = self.version(org_id, moment)
        if v is None:
            return False
        return (sector is None or sector in v["sectors"].split(";")) and (kind is None or v["kind"] == kind)

    def record_ok(self, r, f) -> bool:
        moment = _moment(r["completed_at"])
        return ((not f.get("country") or r["country"] == f["country"])
                and (not f.get("sector") or self.org_has(r["organisation_id"], moment, sector=f["sector"]))
                and (not f.get("org_kind") or r["organisation_kind"] == f["org_kind"])
                and (not f.get("course") or r["item_type"] != "course" or r["item_key"] == f["course"])
                and (not f.get("language") or r["language"] == f["language"]))

    def registration_ok(self, g, f, moment) -> bool:
        return ((not f.get("country") or g["country"] == f["country"])
                and (not f.get("sector") or self.org_has(g["organisation_id"], moment, sector=f["sector"]))
                and (not f.get("org_kind") or self.org_has(g["organisation_id"], moment, kind=f["org_kind"]))
                and (not f.get("language") or self.runs[int(g["run_id"])]["language"] == f["language"]))

    def session_ok(self, s, f) -> bool:
        host, moment = s["host_organisation_id"], _moment(s["ends_at"])
        return ((not f.get("country") or s["country"] == f["country"])
                and (not f.get("sector") or self.org_has(host, moment, sector=f["sector"]))
                and (not f.get("org_kind") or self.org_has(host, moment, kind=f["org_kind"]))
                and (not f.get("language") or s["language"] == f["language"]))

    def enrolment_ok(self, e, f, moment) -> bool:
        return ((not f.get("country") or e["country"] == f["country"])
                and (not f.get("sector") or self.org_has(e["organisation_id"], moment, sector=f["sector"]))
                and (not f.get("org_kind") or self.org_has(e["organisation_id"], moment, kind=f["org_kind"])))

    # -- the metrics ------------------------------------------------------------------------

    def metrics(self, start: date, end: date, f: dict) -> dict:
        lower = datetime.combine(start, time.min, tzinfo=timezone.utc)
        upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)
        inside = lambda moment: moment is not None and lower <= moment < upper  # noqa: E731

        records = [r for r in self.records if inside(_moment(r["completed_at"])) and self.record_ok(r, f)]
        out = {"courses": {}, "workshops": {}, "organisations": {}, "data_quality": {}, "records": {}}
        out["courses"]["completions"] = _split(_sex(r["sex"]) for r in records if r["item_type"] == "course")
        out["workshops"]["participants_completed"] = _split(
            _sex(r["sex"]) for r in records if r["item_type"] == "workshop")
        # Under a course filter, the certificates and the reach count that course's records only.
        course = f.get("course")
        of_course = [r for r in records if not course or (r["item_type"] == "course" and r["item_key"] == course)]
        out["records"]["certificates_issued"] = _split(_sex(r["sex"]) for r in of_course if r["certificate_code"])
        out["courses"]["certificates_issued"] = out["records"]["certificates_issued"]  # its older name

        held = [s for s in self.sessions.values()
                if inside(_moment(s["ends_at"])) and s["attendance_taken_at"] and self.session_ok(s, f)]
        out["workshops"]["sessions_held"] = len(held)
        out["workshops"]["runs_held"] = len({s["run_id"] for s in held})

        runs_in_period = {int(s["run_id"]) for s in self.sessions.values() if inside(_moment(s["ends_at"]))}
        person = lambda g: g["person_key"] or f"registration:{g['registration_id']}"  # noqa: E731
        out["workshops"]["participants_registered"] = _split(_units(
            ((person(g), g["run_id"]), _sex(g["sex"])) for g in self.registrations
            if g["status"] == "confirmed" and int(g["run_id"]) in runs_in_period
            and self.registration_ok(g, f, _moment(g["registered_at"]))))
        attended = [(g, _moment(self.sessions[int(sid)]["ends_at"])) for g in self.registrations
                    for sid in filter(None, g["attended_session_ids"].split(";"))
                    if inside(_moment(self.sessions[int(sid)]["ends_at"]))
                    and self.registration_ok(g, f, _moment(self.sessions[int(sid)]["ends_at"]))]
        out["workshops"]["participants_attended"] = _split(_units(
            ((person(g), g["run_id"]), _sex(g["sex"])) for g, _ in attended))

        enrolments = [e for e in self.enrolments if inside(_moment(e["started_at"]))
                      and self.enrolment_ok(e, f, _moment(e["started_at"]))
                      and (not course or e["course"] == course)
                      and (not f.get("language") or e["language"] == f["language"])]
        out["courses"]["enrolments"] = _split(_sex(e["sex"]) for e in enrolments)
        out["courses"]["knowledge_gain"] = self.knowledge_gain(inside, f)

        # (organisation, person, sex, moment) of every reach in the period
        reached = [(r["organisation_id"], r["person_key"], _sex(r["sex"]), _moment(r["completed_at"]))
                   for r in of_course]
        if not course:  # attended sessions belong to no course
            reached += [(g["organisation_id"], person(g), _sex(g["sex"]), moment) for g, moment in attended]
        last_reach: dict[int, datetime] = {}
        for org, _, _, moment in reached:
            if org:
                last_reach[int(org)] = max(moment, last_reach.get(int(org), moment))
        # each organisation counts with its version in force at its last reach in the period
        as_then = {org: self.version(org, moment) for org, moment in last_reach.items()}

        def by_kind(versions):
            counts = defaultdict(int)
            for v in versions:
                counts[v["kind"]] += 1
            return {"total": sum(counts.values()), "by_kind": dict(sorted(counts.items()))}

        out["organisations"]["reached"] = by_kind(as_then.values())
        out["organisations"]["smes_reached_via_eos"] = by_kind(
            v for v in as_then.values() if v["kind"] == "sme" and v["parent_kind"] == "employers_organisation")
        out["organisations"]["alliance_partners_engaged"] = by_kind(
            v for v in as_then.values() if v["alliance_partner"] == "true")
        people = _units((key, sex) for _, key, sex, _ in reached)
        out["data_quality"]["sex_recorded_share"] = (
            sum(1 for s in people if s is not None) / len(people) if people else None)
        return out

    def knowledge_gain(self, inside, f) -> dict:
        by_person_course = defaultdict(lambda: {"pretest": [], "final": []})
        for a in self.attempts:
            if a["quiz_role"] in ("pretest", "final"):
                by_person_course[(a["person_key"], a["course"])][a["quiz_role"]].append(a)
        enrolment = {(e["person_key"], e["course"]): e for e in self.enrolments}
        pairs = []
        for key, quizzes in by_person_course.items():
            if not quizzes["pretest"] or not quizzes["final"]:
                continue
            pre = min(quizzes["pretest"], key=lambda a: (a["submitted_at"], int(a["number"]), int(a["attempt_id"])))
            # only the finals drawn from the pre-test attempt's topic plan (empty: no plan)
            matched = [a for a in quizzes["final"] if a["plan_fingerprint"] and a["plan_fingerprint"] ==
                       pre["plan_fingerprint"]]
            if not matched:
                continue
            final = min(matched, key=lambda a: (-float(a["score"]), a["submitted_at"], int(a["attempt_id"])))
            if not inside(_moment(final["submitted_at"])):
                continue
            if (f.get("country") or f.get("sector") or f.get("org_kind")) and not (
                    key in enrolment and self.enrolment_ok(enrolment[key], f, _moment(final["submitted_at"]))):
                continue
            if f.get("course") and key[1] != f["course"]:
                continue
            if f.get("language") and final["language"] != f["language"]:
                continue
            pairs.append((float(pre["score"]), float(final["score"])))
        gains = [(post - pre) / (100 - pre) for pre, post in pairs if pre < 100]
        mean = lambda values: sum(values) / len(values) if values else None  # noqa: E731
        return {"n": len(pairs), "mean_pre": mean([p for p, _ in pairs]), "mean_post": mean([q for _, q in pairs]),
                "mean_normalised_gain": mean(gains)}


def _close(api, mine, path=""):
    """Equal, with floats compared to 1e-9."""
    if isinstance(mine, dict):
        assert set(api) == set(mine), (path, api, mine)
        for key in mine:
            _close(api[key], mine[key], f"{path}.{key}")
    elif isinstance(mine, float) or isinstance(api, float):
        assert api == pytest.approx(mine, abs=1e-9), (path, api, mine)
    else:
        assert api == mine, (path, api, mine)


def test_metrics_api_equals_a_recomputation_from_the_raw_exports(client, token, dataset):
    exports = Exports(client, token)
    today = datetime.now(timezone.utc).date()
    some = next(r for r in exports.records if r["country"])
    course = next(r["item_key"] for r in exports.records if r["item_type"] == "course")
    sector = next(v["sectors"].split(";")[0] for vs in exports.versions.values() for v in vs if v["sectors"])
    cases = [
        (today - timedelta(days=364), today, {}),
        (date(2000, 1, 1), today + timedelta(days=400), {}),
        (today - timedelta(days=730), today - timedelta(days=365), {}),
        (today - timedelta(days=90), today, {}),
        (today - timedelta(days=1000), today + timedelta(days=100), {"country": some["country"]}),
        (today - timedelta(days=1000), today + timedelta(days=100), {"org_kind": "sme"}),
        (today - timedelta(days=1000), today + timedelta(days=100), {"sector": sector}),
        (today - timedelta(days=1000), today + timedelta(days=100), {"course": course}),
        (today - timedelta(days=1000), today + timedelta(days=100), {"language": "en"}),
        (today - timedelta(days=1000), today + timedelta(days=100), {"org_kind": "sme", "language": "en"}),
        # periods on either side of the changes, 300 and 100 days ago
        (today - timedelta(days=400), today - timedelta(days=301), {}),
        (today - timedelta(days=250), today - timedelta(days=150), {"org_kind": "employers_organisation"}),
        (today - timedelta(days=250), today - timedelta(days=150), {"sector": sector}),
        (today - timedelta(days=99), today, {"org_kind": "sme"}),
        (today - timedelta(days=99), today, {"sector": sector, "country": some["country"]}),
    ]
    nonzero = 0
    for start, end, filters in cases:
        query = {"from": start.isoformat(), "to": end.isoformat(), **filters}
        response = client.get("/api/v1/metrics", query_string=query, headers=api_headers(token))
        assert response.status_code == 200, response.json
        mine = exports.metrics(start, end, filters)
        _close(response.json, mine)
        nonzero += mine["courses"]["completions"]["total"] > 0 and mine["workshops"]["participants_attended"]["total"] > 0
    assert nonzero >= 5  # the data set exercises the definitions, not just zeros
