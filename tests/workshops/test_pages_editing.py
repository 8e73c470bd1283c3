"""The scheduling and editing pages through HTTP, and the small things around a run:
the menu entry, "Add another session", form errors that keep what was typed and save
nothing, the edit page and its emails, the run's title line, the cancellation
confirmation, the calendar offer, the promotion email, the roster's way back and the
series page. On SQLite and PostgreSQL."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.mail import OutboxMessage
from tests.factories import make_org, make_user
from tests.workshops.test_pages import make_series, mails_to, register, setup_world, status_of
from workshops.models import Attendance, Registration, RunSession, WorkshopRun


def count(session, model):
    session.refresh_all()
    return session.scalar(select(func.count()).select_from(model))


# -- the menu ------------------------------------------------------------------------

def test_schedule_a_workshop_is_in_the_menu_of_those_who_may_schedule(app, client, auth, session):
    eo = make_org(session, name="Employers", country="GH")
    pending = make_org(session, name="New SME", kind="sme", parent=eo, status="pending")
    people = {
        "manager": make_user(session, email="m@example.org", org=eo, manager=True),
        "secretariat": make_user(session, email="s@example.org", role="secretariat"),
        "learner": make_user(session, email="l@example.org", org=eo),
        "pending_manager": make_user(session, email="p@example.org", org=pending, manager=True),
    }
    session.commit()
    link = '<a href="/workshops/runs/new">Schedule a workshop</a>'
    assert link not in client.get("/workshops/").get_data(as_text=True)
    for who, shown in (("manager", True), ("secretariat", True), ("learner", False), ("pending_manager", False)):
        auth.login(people[who])
        nav = client.get("/workshops/").get_data(as_text=True).split("</nav>")[0]
        assert (link in nav) == shown, who
        auth.logout()


def test_schedule_a_workshop_starts_with_the_series(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session)
    make_series(session, slug="empty", sessions=0)
    session.commit()
    auth.login(manager)
    page = client.get("/workshops/runs/new").get_data(as_text=True)
    assert 'href="/workshops/runs/new?series=dd-smes"' in page and "?series=empty" not in page


# -- scheduling ----------------------------------------------------------------------

def _typed(host_id, **more):
    data = {"host_id": str(host_id), "title": "Due diligence for SMEs", "language": "fr", "country": "CI",
            "city": "Abidjan", "venue": "Hotel Ivoire", "online_url": "", "timezone": "Africa/Abidjan",
            "capacity": "30", "audience": "open", "required_sessions": "", "registration_opens": "",
            "registration_closes": "", "sessions-0-day": "2030-03-02", "sessions-0-starts": "09:00",
            "sessions-0-ends": ""}
    return data | more


def test_add_another_session_keeps_what_was_typed_and_saves_nothing(app, client, auth, session):
    eo = make_org(session, name="CGECI", country="CI")
    manager = make_user(session, email="ci@example.org", org=eo, manager=True)
    make_series(session)
    session.commit()
    auth.login(manager)
    response = client.post("/workshops/runs/new?series=dd-smes", data=_typed(eo.id, add_session="y"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "error" not in page.split("<main")[1].split("</form>")[0].lower()
    assert 'value="Hotel Ivoire"' in page and 'value="Abidjan"' in page and 'value="30"' in page
    assert 'value="2030-03-02"' in page and 'value="09:00"' in page
    # the end left empty is shown as the default it gets: the outline's 90 minutes
    assert 'id="sessions-0-ends" name="sessions-0-ends" type="time" value="10:30"' in page
    assert 'name="sessions-1-day"' in page and "Session 2: Step 2" in page
    assert count(session, WorkshopRun) == 0

    # the second session is typed; the free third row, left empty, is ignored
    data = _typed(eo.id, **{"sessions-0-ends": "10:30", "sessions-1-day": "2030-03-09", "sessions-1-starts": "14:00",
                            "sessions-1-ends": "", "add_session": "y"})
    page = client.post("/workshops/runs/new?series=dd-smes", data=data).get_data(as_text=True)
    assert 'name="sessions-2-day"' in page and 'value="2030-03-09"' in page
    data.pop("add_session")
    data.update({"sessions-2-day": "", "sessions-2-starts": "", "sessions-2-ends": ""})
    response = client.post("/workshops/runs/new?series=dd-smes", data=data)
    assert response.status_code == 302
    session.refresh_all()
    run = session.scalar(select(WorkshopRun))
    assert (run.city, run.venue, run.capacity, run.language) == ("Abidjan", "Hotel Ivoire", 30, "fr")
    assert [(s.title, s.starts_at, s.ends_at) for s in run.sessions] == [
        ("Step 1", datetime(2030, 3, 2, 9, tzinfo=timezone.utc), datetime(2030, 3, 2, 10, 30, tzinfo=timezone.utc)),
        ("Step 2", datetime(2030, 3, 9, 14, tzinfo=timezone.utc), datetime(2030, 3, 9, 15, 30, tzinfo=timezone.utc)),
    ]


def test_schedule_errors_sit_next_to_their_field_keep_the_input_and_save_nothing(app, client, auth, session):
    eo = make_org(session, country="CI")
    manager = make_user(session, email="ci@example.org", org=eo, manager=True)
    make_series(session)
    session.commit()
    auth.login(manager)
    data = _typed(eo.id, capacity="", required_sessions="5", **{"sessions-1-day": "", "sessions-1-starts": "14:00",
                                                                 "sessions-1-ends": "16:00"})
    response = client.post("/workshops/runs/new?series=dd-smes", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="capacity-error"' in page and "Give the number of places." in page
    assert 'id="sessions-1-day-error"' in page and "Give the date." in page
    assert 'value="Hotel Ivoire"' in page and 'value="14:00"' in page and 'value="16:00"' in page
    # the service's own checks come next to their field too, once the form is complete
    data.update(capacity="30", **{"sessions-1-day": "2030-03-09"})
    page = client.post("/workshops/runs/new?series=dd-smes", data=data).get_data(as_text=True)
    assert 'id="required_sessions-error"' in page and "Between 1 and 2." in page
    assert "<details class=\"more-settings\" open>" in page  # the error is not hidden in a closed part
    assert count(session, WorkshopRun) == 0 and count(session, RunSession) == 0


@pytest.mark.parametrize("field,value", [("sessions-0-day", "0001-01-01"), ("sessions-0-day", "9999-12-31"),
                                         ("registration_opens", "0001-01-01T00:00")])
def test_a_schedule_outside_the_years_served_is_refused_next_to_its_field(app, client, auth, session, caplog,
                                                                          field, value):
    """A session in year 1 would overflow when check-in opens 30 minutes before it."""
    eo = make_org(session, country="CI")
    manager = make_user(session, email="ci@example.org", org=eo, manager=True)
    make_series(session)
    session.commit()
    auth.login(manager)
    response = client.post("/workshops/runs/new?series=dd-smes", data=_typed(eo.id, **{field: value}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in page and "Choose a date from 2000-01-01 to 2100-12-31." in page
    assert count(session, WorkshopRun) == 0
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []


# -- editing -------------------------------------------------------------------------

def edit_data(page: str) -> dict:
    """The edit form's fields as the page shows them."""
    data = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        data[name] = value
    for name in re.findall(r'<input[^>]*id="[^"]*"[^>]*name="([^"]+)"[^>]*type="checkbox"', page):
        data.pop(name, None)
    data.pop("csrf_token", None)
    return data


def _edit_world(session):
    eo, manager, other_manager, series, run = setup_world(session, capacity=1, online_url="https://meet.example.org/a")
    people = [make_user(session, email=f"{n}@example.org", name=n.title()) for n in ("ama", "kofi", "esi")]
    session.commit()
    return eo, manager, other_manager, run, people


def test_edit_page_refuses_a_capacity_below_the_confirmed_places(app, client, auth, session):
    eo, manager, other_manager, run, (ama, kofi, esi) = _edit_world(session)
    session.get(WorkshopRun, run.id).capacity = 2
    session.commit()
    for person in (ama, kofi):
        auth.login(person)
        register(client, run.id)
        auth.logout()
    auth.login(manager)
    data = edit_data(client.get(f"/workshops/runs/{run.id}/edit").get_data(as_text=True))
    assert data["capacity"] == "2" and data["online_url"] == "https://meet.example.org/a"
    outbox_before = count(session, OutboxMessage)
    response = client.post(f"/workshops/runs/{run.id}/edit", data=data | {"capacity": "0", "venue": "GEA House"})
    assert response.status_code == 422 and 'id="capacity-error"' in response.get_data(as_text=True)
    response = client.post(f"/workshops/runs/{run.id}/edit", data=data | {"capacity": "1", "venue": "Somewhere else"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="capacity-error"' in page and "2 people already hold a confirmed place" in page
    assert 'value="Somewhere else"' in page and 'name="capacity" required type="number" value="1"' in page
    session.refresh_all()
    edited = session.get(WorkshopRun, run.id)
    assert edited.capacity == 2 and edited.venue is None and edited.calendar_sequence == 0
    assert count(session, OutboxMessage) == outbox_before
    assert session.scalar(select(AuditEntry.id).where(AuditEntry.action == "workshop_run.edit")) is None


def test_edit_page_moves_a_session_and_everyone_registered_is_told(app, client, auth, session):
    eo, manager, other_manager, run, (ama, kofi, esi) = _edit_world(session)
    for person in (ama, kofi):
        auth.login(person)
        register(client, run.id)
        auth.logout()
    auth.login(other_manager)
    assert client.get(f"/workshops/runs/{run.id}/edit").status_code == 403
    assert client.post(f"/workshops/runs/{run.id}/edit", data={}).status_code == 403
    auth.logout()
    auth.login(manager)
    assert "Edit this run" in client.get(f"/workshops/runs/{run.id}/manage").get_data(as_text=True)
    data = edit_data(client.get(f"/workshops/runs/{run.id}/edit").get_data(as_text=True))
    new_day = (datetime.fromisoformat(data["sessions-0-day"]) + timedelta(days=1)).date().isoformat()
    data.update({"sessions-0-day": new_day, "sessions-0-starts": "10:00", "sessions-0-ends": "",
                 "city": "Kumasi", "capacity": "3"})
    # "Add another session" first: nothing saved, everything kept
    page = client.post(f"/workshops/runs/{run.id}/edit", data={**data, "add_session": "y"}).get_data(as_text=True)
    assert 'value="Kumasi"' in page and f'value="{new_day}"' in page and 'name="sessions-1-day"' in page
    assert "New session: Step 2" in page
    # the end left empty shows the session's own length (three hours)
    assert 'id="sessions-0-ends" name="sessions-0-ends" type="time" value="13:00"' in page
    session.refresh_all()
    assert session.get(WorkshopRun, run.id).city is None
    response = client.post(f"/workshops/runs/{run.id}/edit", data=data)
    assert response.status_code == 302 and response.location == f"/workshops/runs/{run.id}/manage"
    page = client.get(response.location).get_data(as_text=True)
    assert "Your changes are saved." in page and "1 person registered has been sent an email" in page
    assert "1 person from the waiting list now has a place" in page
    session.refresh_all()
    edited = session.get(WorkshopRun, run.id)
    assert edited.city == "Kumasi" and edited.capacity == 3 and edited.calendar_sequence == 1
    assert edited.sessions[0].starts_at.astimezone(timezone.utc).hour == 10  # Accra is UTC
    ama_mail = mails_to(session, "ama@example.org")[-1]
    assert ama_mail.subject.startswith("Changes to") and "Step 1 has moved." in ama_mail.body_text
    assert "The run is now held in Kumasi." in ama_mail.body_text
    assert json.loads(ama_mail.attachments)[0]["filename"] == f"workshop-{run.id}.ics"
    assert mails_to(session, "kofi@example.org")[-1].subject.startswith("A place has opened")
    detail = json.loads(session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "workshop_run.edit")))
    assert {c["what"] for c in detail["changes"]} == {"city", "capacity", "session_moved"}
    assert "Kumasi" in client.get("/workshops/").get_data(as_text=True)


def test_a_session_with_attendance_cannot_be_removed_or_moved_ahead(app, client, auth, session):
    eo, manager, other_manager, run, (ama, kofi, esi) = _edit_world(session)
    auth.login(ama)
    register(client, run.id)
    auth.logout()
    held = session.get(WorkshopRun, run.id).sessions[0]
    held.starts_at, held.ends_at = datetime.now(timezone.utc) - timedelta(hours=3), datetime.now(timezone.utc) - timedelta(hours=1)
    registration = session.scalar(select(Registration))
    session.add(Attendance(registration_id=registration.id, session_id=held.id, method="roster"))
    session.commit()
    auth.login(manager)
    page = client.get(f"/workshops/runs/{run.id}/edit").get_data(as_text=True)
    assert "Attendance has been taken: this session can be corrected" in page and 'name="sessions-0-remove"' not in page
    data = edit_data(page) | {"sessions-0-day": (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()}
    response = client.post(f"/workshops/runs/{run.id}/edit", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="sessions-0-day-error"' in page
    assert "cannot be moved to a time that has not come yet" in page
    data["sessions-0-remove"] = "y"  # not offered, and refused when sent all the same
    data["sessions-0-day"] = edit_data(client.get(f"/workshops/runs/{run.id}/edit").get_data(as_text=True))["sessions-0-day"]
    response = client.post(f"/workshops/runs/{run.id}/edit", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "it cannot be removed" in page, page.split("<main")[1]
    session.refresh_all()
    assert session.get(WorkshopRun, run.id).sessions[0].starts_at == held.starts_at


# -- the run's title line -------------------------------------------------------------

def test_runs_of_one_series_each_have_their_own_line(app, client, session):
    eo, manager, other_manager, series, run = setup_world(session)
    from tests.workshops.test_pages import make_run

    other = make_org(session, name="Federación de Empresarios", country="PE")
    online = make_run(session, series, other, online_url="https://meet.example.org/x")
    run.city = "Accra"
    session.commit()
    page = client.get("/workshops/").get_data(as_text=True)
    assert page.count("Due diligence for SMEs</a></h2>") == 1  # the series once
    assert re.search(r"Ghana Employers · Accra · \w+ \d+, \d{4}</a></h3>", page)
    assert re.search(r"Federación de Empresarios · Online · \w+ \d+, \d{4}</a></h3>", page)
    series_page = client.get("/workshops/series/dd-smes").get_data(as_text=True)
    assert "Ghana Employers · Accra" in series_page and "Federación de Empresarios · Online" in series_page
    assert "Ghana Employers · Accra" in client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    assert online.id


def test_series_page_folds_the_outlines(app, client, session):
    setup_world(session)
    page = client.get("/workshops/series/dd-smes").get_data(as_text=True)
    assert page.count("<details>") == 2 and "<summary>Step 1" in page and "Outline <em>1</em>" in page


# -- cancelling, the calendar offer, the promotion email, the roster ---------------------

def test_cancelling_asks_first(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session)
    learner = make_user(session, email="l@example.org")
    session.commit()
    auth.login(learner)
    register(client, run.id)
    page = client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    assert f'<a href="/workshops/runs/{run.id}/cancel">Cancel my registration</a>' in page
    page = client.get(f"/workshops/runs/{run.id}/cancel").get_data(as_text=True)
    assert "Cancel your registration?" in page and "Yes, cancel my registration" in page
    assert f'<a href="/workshops/runs/{run.id}">No, keep it</a>' in page
    assert status_of(session, run.id, learner) == "confirmed"  # asking changed nothing
    assert client.post(f"/workshops/runs/{run.id}/cancel").status_code == 302
    assert status_of(session, run.id, learner) == "cancelled"
    # nothing left to cancel: back to the run
    response = client.get(f"/workshops/runs/{run.id}/cancel")
    assert response.status_code == 302 and response.location == f"/workshops/runs/{run.id}"


def test_no_calendar_offer_while_waiting_for_a_place(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session, capacity=1)
    first, second = make_user(session, email="a@example.org"), make_user(session, email="b@example.org")
    session.commit()
    offer = f'href="/workshops/runs/{run.id}.ics"'
    assert offer in client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)  # a visitor may plan ahead
    auth.login(first)
    register(client, run.id)
    assert offer in client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)
    auth.logout()
    auth.login(second)
    register(client, run.id)
    assert status_of(session, run.id, second) == "waitlisted"
    assert offer not in client.get(f"/workshops/runs/{run.id}").get_data(as_text=True)


def test_the_place_has_opened_email_links_to_the_run_and_says_what_to_do(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session, capacity=1)
    first, second = make_user(session, email="a@example.org"), make_user(session, email="b@example.org")
    session.commit()
    for person in (first, second):
        auth.login(person)
        register(client, run.id)
        auth.logout()
    auth.login(first)
    client.post(f"/workshops/runs/{run.id}/cancel")
    body = mails_to(session, "b@example.org")[-1].body_text
    assert f"http://localhost/workshops/runs/{run.id}\n" in body
    assert "you do not need to do anything" in body and "check-in code" in body
    assert body.index(f"/workshops/runs/{run.id}") < body.index("/workshops/decline/")


def test_the_roster_links_back_to_its_run(app, client, auth, session):
    eo, manager, other_manager, series, run = setup_world(session)
    session_id = session.get(WorkshopRun, run.id).sessions[0].id
    auth.login(manager)
    page = client.get(f"/workshops/runs/{run.id}/sessions/{session_id}/roster").get_data(as_text=True)
    crumbs = page.split('class="crumbs"')[1].split("</p>")[0]
    assert f'href="/workshops/runs/{run.id}"' in crumbs and f'href="/workshops/runs/{run.id}/manage"' in crumbs
