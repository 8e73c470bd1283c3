"""The workshop pages through HTTP: scheduling, registration, the waitlist, organisers."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from openpyxl import load_workbook
from sqlalchemy import func, select

from lms.mail import OutboxMessage
from tests.factories import make_org, make_user
from workshops.models import Registration, RunSession, SeriesSession, WorkshopRun, WorkshopSeries


def make_series(session, slug="dd-smes", sessions=2, source="web"):
    series = WorkshopSeries(slug=slug, title="Due diligence for SMEs", summary="Four steps.", source=source,
                            objectives_md="Know the **risks**.", facilitator_notes_md="Secret facilitator tip.")
    series.sessions = [SeriesSession(position=n, title=f"Step {n}", outline_md=f"Outline *{n}*")
                       for n in range(1, sessions + 1)]
    session.add(series)
    session.flush()
    return series


def make_run(session, series, host, capacity=10, approval=False, audience="open", online_url=None):
    start = datetime.now(timezone.utc) + timedelta(days=10)
    run = WorkshopRun(series_id=series.id, host_organisation_id=host.id, title="Run " + series.title,
                      country=host.country, timezone="Africa/Accra", capacity=capacity, approval_required=approval,
                      audience=audience, checkin_code="ABC234", online_url=online_url)
    run.sessions = [RunSession(title="Step 1", starts_at=start, ends_at=start + timedelta(hours=3))]
    session.add(run)
    session.flush()
    return run


def setup_world(session, **run_args):
    eo = make_org(session, name="Ghana Employers", country="GH")
    other = make_org(session, name="Peru Employers", country="PE")
    manager = make_user(session, email="boss@example.org", org=eo, manager=True)
    other_manager = make_user(session, email="other@example.org", org=other, manager=True)
    series = make_series(session)
    run = make_run(session, series, eo, **run_args)
    session.commit()
    return eo, manager, other_manager, series, run


def register(client, run_id, category="supplier", needs=""):
    return client.post(f"/workshops/runs/{run_id}/register",
                       data={"stakeholder_category": category, "accessibility_needs": needs})


def status_of(session, run_id, user):
    session.refresh_all()
    return session.scalar(select(Registration.status).where(Registration.run_id == run_id,
                                                            Registration.user_id == user.id))


def mails_to(session, email):
    session.refresh_all()
    return session.scalars(select(OutboxMessage).where(OutboxMessage.to_addr == email).order_by(OutboxMessage.id)).all()


# -- scheduling ---------------------------------------------------------------------------

def _schedule_data(host_id, zone, day="2030-03-02", starts="09:00", ends="12:00", sessions=2):
    data = {"host_id": host_id, "title": "Due diligence, Abidjan", "language": "fr", "country": "CI",
            "venue": "Hotel Ivoire", "online_url": "", "timezone": zone, "capacity": "20", "audience": "open",
            "required_sessions": "", "registration_opens": "", "registration_closes": "2030-03-01T18:00"}
    for n in range(sessions):
        data.update({f"sessions-{n}-day": day, f"sessions-{n}-starts": starts, f"sessions-{n}-ends": ends})
    return data


def test_schedule_form_prefills_and_stores_utc(app, client, auth, session):
    eo = make_org(session, name="Côte d'Ivoire Employers", country="CI")
    manager = make_user(session, email="ci@example.org", org=eo, manager=True)
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    make_series(session)
    session.commit()
    auth.login(manager)
    page = client.get("/workshops/runs/new?series=dd-smes").get_data(as_text=True)
    # the host's country, its zone and its language; one session to start with, named after the outline
    assert '<option selected value="Africa/Abidjan">' in page and '<option selected value="fr">' in page
    assert "Session 1: Step 1" in page and 'name="sessions-0-day"' in page and 'name="sessions-1-day"' not in page

    response = client.post("/workshops/runs/new?series=dd-smes", data=_schedule_data(eo.id, "Africa/Abidjan"))
    assert response.status_code == 302
    session.refresh_all()
    run = session.scalar(select(WorkshopRun))
    assert run.timezone == "Africa/Abidjan" and run.host_organisation_id == eo.id
    assert run.sessions[0].starts_at == datetime(2030, 3, 2, 9, tzinfo=timezone.utc)
    assert [s.title for s in run.sessions] == ["Step 1", "Step 2"]
    assert run.registration_closes_at == datetime(2030, 3, 1, 18, tzinfo=timezone.utc)
    assert len(run.checkin_code) == 6 and not set(run.checkin_code) & set("01OIL")

    # Lima is UTC-5 (no summer time): 09:00 local is 14:00 UTC. The secretariat may host anywhere.
    auth.logout()
    auth.login(secretariat)
    response = client.post("/workshops/runs/new?series=dd-smes", data=_schedule_data(eo.id, "America/Lima"))
    assert response.status_code == 302
    session.refresh_all()
    lima = session.scalars(select(WorkshopRun).order_by(WorkshopRun.id)).all()[-1]
    assert lima.sessions[0].starts_at == datetime(2030, 3, 2, 14, tzinfo=timezone.utc)
    assert lima.sessions[0].ends_at == datetime(2030, 3, 2, 17, tzinfo=timezone.utc)
    assert lima.registration_closes_at == datetime(2030, 3, 1, 23, tzinfo=timezone.utc)


def test_schedule_refuses_end_before_start_and_keeps_input(app, client, auth, session):
    eo = make_org(session, country="CI")
    manager = make_user(session, email="ci@example.org", org=eo, manager=True)
    make_series(session)
    session.commit()
    auth.login(manager)
    data = _schedule_data(eo.id, "Africa/Abidjan")
    data["sessions-1-ends"] = "08:00"
    response = client.post("/workshops/runs/new?series=dd-smes", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The session must end after it starts." in page
    assert 'id="sessions-1-ends-error"' in page
    assert 'value="Hotel Ivoire"' in page and 'value="08:00"' in page and 'value="2030-03-02"' in page
    session.refresh_all()
    assert session.scalar(select(func.count()).select_from(WorkshopRun)) == 0
    assert session.scalar(select(func.count()).select_from(RunSession)) == 0


def test_manager_cannot_host_for_another_organisation(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session)
    auth.login(other_manager)
    response = client.post("/workshops/runs/new?series=dd-smes", data=_schedule_data(eo.id, "UTC"))
    assert response.status_code == 422  # not a choice offered to them
    session.refresh_all()
    assert session.scalar(select(func.count()).select_from(WorkshopRun)) == 1


# -- series -------------------------------------------------------------------------------

def test_series_authoring_and_notes_visibility(app, client, auth, session):
    eo = make_org(session)
    manager = make_user(session, email="boss@example.org", org=eo, manager=True)
    learner = make_user(session, email="l@example.org")
    session.commit()
    auth.login(manager)
    data = {"title": "Ethical recruitment", "summary": "Fees and contracts.", "language": "en", "audience": "all",
            "objectives_md": "", "facilitator_notes_md": "Only for you."}
    page = client.post("/workshops/series/new", data=data).get_data(as_text=True)
    assert "Give at least one session a title." in page  # no session row filled
    data.update({"session_0-title": "Fees", "session_0-duration_minutes": "60", "session_0-outline_md": "# Who pays?",
                 "session_2-title": "Contracts", "session_2-duration_minutes": "45"})
    response = client.post("/workshops/series/new", data=data)
    assert response.status_code == 302 and response.location.endswith("/workshops/series/ethical-recruitment")
    page = client.get("/workshops/series/ethical-recruitment").get_data(as_text=True)
    assert "Only for you." in page and "<h1>Who pays?</h1>" in page
    session.refresh_all()
    series = session.scalar(select(WorkshopSeries))
    assert [s.title for s in series.sessions] == ["Fees", "Contracts"]
    # a second series of the same title gets its own slug
    assert client.post("/workshops/series/new", data=data).location.endswith("ethical-recruitment-2")
    auth.logout()
    auth.login(learner)
    assert "Only for you." not in client.get("/workshops/series/ethical-recruitment").get_data(as_text=True)
    assert client.get("/workshops/series/new").status_code == 403


def test_content_series_is_read_only(app, client, auth, session):
    make_series(session, slug="imported", source="content")
    secretariat = make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    auth.login(secretariat)
    assert client.get("/workshops/series/imported/edit").status_code == 302
    assert "Edit this series" not in client.get("/workshops/series/imported").get_data(as_text=True)


# -- registration ----------------------------------------------------------------------------

def test_index_lists_upcoming_runs_with_places(app, client, session):
    eo, manager, other_manager, series, run = setup_world(session, capacity=3)
    page = client.get("/workshops/").get_data(as_text=True)
    assert run.title in page and "3 places left" in page and "(Africa/Accra)" in page
    assert run.title not in client.get("/workshops/?country=PE").get_data(as_text=True)


def test_register_waitlist_cancel_promote_decline(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session, capacity=1, online_url="https://meet.example.org/x")
    first = make_user(session, email="first@example.org")
    second = make_user(session, email="second@example.org")
    session.commit()

    auth.login(first)
    assert register(client, run.id, needs="Step-free access").status_code == 302
    assert status_of(session, run.id, first) == "confirmed"
    page = client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    assert "<svg" in page and "https://meet.example.org/x" in page and "Cancel my registration" in page
    auth.logout()

    auth.login(second)
    register(client, run.id)
    assert status_of(session, run.id, second) == "waitlisted"
    page = client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    assert "number 1 on the waiting list" in page
    assert "<svg" not in page and "https://meet.example.org/x" not in page
    auth.logout()

    auth.login(first)
    assert client.post(f"/workshops/runs/{run.id}/cancel").status_code == 302
    assert status_of(session, run.id, first) == "cancelled"
    assert status_of(session, run.id, second) == "confirmed"
    promoted = mails_to(session, "second@example.org")[-1]
    assert "A place has opened" in promoted.subject
    link = next(line for line in promoted.body_text.splitlines() if "/workshops/decline/" in line).strip()
    path = link.split("localhost", 1)[1]
    auth.logout()

    # the decline link needs no login, and works once
    assert "Give my place to the next person" in client.get(path).get_data(as_text=True)
    assert "given to the next person" in client.post(path).get_data(as_text=True)
    assert status_of(session, run.id, second) == "cancelled"
    page = client.post(path).get_data(as_text=True)
    assert "no longer active" in page
    assert client.get("/workshops/decline/not-a-token").status_code == 404


def test_approval_required_flow(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session, approval=True)
    learner = make_user(session, email="l@example.org")
    session.commit()
    auth.login(learner)
    register(client, run.id)
    assert status_of(session, run.id, learner) == "pending"
    assert "waiting for the organisers" in client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    auth.logout()
    auth.login(manager)
    registration_id = session.scalar(select(Registration.id))
    assert client.post(f"/workshops/registrations/{registration_id}/approve").status_code == 302
    assert status_of(session, run.id, learner) == "confirmed"
    assert "is confirmed" in mails_to(session, "l@example.org")[-1].subject


def test_members_only_refuses_outsiders(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session, audience="members")
    sme = make_org(session, name="Member SME", kind="sme", parent=session.get(type(eo), eo.id))
    member = make_user(session, email="member@example.org", org=sme)
    outsider = make_user(session, email="out@example.org")
    session.commit()
    auth.login(outsider)
    page = client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    assert "This workshop is for members of Ghana Employers." in page and 'name="stakeholder_category"' not in page
    response = register(client, run.id)
    assert response.status_code == 302
    assert "for members of" in client.get(response.location).get_data(as_text=True)
    assert status_of(session, run.id, outsider) is None
    auth.logout()
    auth.login(member)
    register(client, run.id)
    assert status_of(session, run.id, member) == "confirmed"


def test_register_form_errors_next_to_field(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session)
    learner = make_user(session, email="l@example.org")
    session.commit()
    auth.login(learner)
    response = register(client, run.id, category="", needs="Captions please")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="stakeholder_category-error"' in page and "Captions please" in page
    assert status_of(session, run.id, learner) is None


# -- organisers -----------------------------------------------------------------------------

def test_organiser_reject_cancel_and_cancel_run(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session, capacity=1)
    people = [make_user(session, email=f"p{n}@example.org") for n in range(4)]
    session.commit()
    for person in people:
        auth.login(person)
        register(client, run.id)
        auth.logout()
    ids = {p.email: session.scalar(select(Registration.id).where(Registration.user_id == p.id)) for p in people}
    auth.login(other_manager)
    assert client.post(f"/workshops/registrations/{ids['p1@example.org']}/reject").status_code == 403
    auth.logout()
    auth.login(manager)
    page = client.get(f"/workshops/runs/{run.id}/manage").get_data(as_text=True)
    assert "p3@example.org" in page and "Supplier or producer" in page
    client.post(f"/workshops/registrations/{ids['p1@example.org']}/reject")
    assert status_of(session, run.id, people[1]) == "rejected"
    client.post(f"/workshops/registrations/{ids['p0@example.org']}/cancel")
    assert status_of(session, run.id, people[0]) == "cancelled"
    assert status_of(session, run.id, people[2]) == "confirmed"  # promoted
    assert "was cancelled" in mails_to(session, "p0@example.org")[-1].subject

    # without the confirmation box nothing happens
    page = client.post(f"/workshops/runs/{run.id}/cancel-run", data={}).get_data(as_text=True)
    assert "Tick the box to confirm." in page
    session.refresh_all()
    assert session.get(WorkshopRun, run.id).status == "scheduled"
    client.post(f"/workshops/runs/{run.id}/cancel-run", data={"confirm": "y"})
    session.refresh_all()
    assert session.get(WorkshopRun, run.id).status == "cancelled"
    for email in ("p2@example.org", "p3@example.org"):
        assert "has been cancelled" in mails_to(session, email)[-1].subject
    assert "This workshop has been cancelled." in client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)


def test_exports_contain_answers_and_are_protected(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session)
    learner = make_user(session, email="l@example.org", name="=HYPERLINK(\"x\")")
    session.commit()
    auth.login(learner)
    register(client, run.id, category="survivor", needs="Sign language")
    assert client.get(f"/workshops/runs/{run.id}/participants.csv").status_code == 403
    auth.logout()
    auth.login(other_manager)
    assert client.get(f"/workshops/runs/{run.id}/participants.csv").status_code == 403
    assert client.get(f"/workshops/runs/{run.id}/participants.xlsx").status_code == 403
    auth.logout()
    auth.login(manager)
    response = client.get(f"/workshops/runs/{run.id}/participants.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Name" and len(rows) == 2
    assert rows[1][0] == "'=HYPERLINK(\"x\")" and rows[1][1] == "l@example.org"
    assert rows[1][4:7] == ["confirmed", "survivor", "Sign language"] and rows[1][7].endswith("+00:00")
    response = client.get(f"/workshops/runs/{run.id}/participants.xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[1][0] == "'=HYPERLINK(\"x\")" and values[1][6] == "Sign language"


def test_ics_download(app, client, session):
    eo, manager, other_manager, series, run = setup_world(session)
    response = client.get(f"/workshops/runs/{run.id}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"] and b"BEGIN:VEVENT" in response.data
