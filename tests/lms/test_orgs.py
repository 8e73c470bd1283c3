from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.mail import OutboxMessage
from lms.orgs.models import Invitation, Membership, Organisation
from tests.factories import make_join_request, make_org, make_user


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_join_request_approved_by_manager_keeps_history(client, auth, session):
    eo = make_org(session, name="Ghana Employers' Association")
    other = make_org(session, name="Elmina Fish Processors", kind="sme", parent=eo)
    make_user(session, email="manager@example.org", org=eo, manager=True)
    learner = make_user(session, email="esi@example.org", org=other)
    session.commit()

    auth.login("esi@example.org")
    assert client.post(f"/organisations/{eo.id}/join", data={"message": "I buy cocoa in Kumasi"}).status_code == 302
    assert "waiting for approval" in client.get("/organisations/mine").data.decode()
    assert count(session, OutboxMessage, OutboxMessage.to_addr == "manager@example.org") == 1
    auth.logout()

    auth.login("manager@example.org")
    page = client.get(f"/organisations/{eo.id}/members").data.decode()
    assert "esi@example.org" in page and "I buy cocoa in Kumasi" in page
    pending = session.scalar(select(Membership).where(Membership.status == "pending"))
    assert client.post(f"/organisations/memberships/{pending.id}/approve").status_code == 302
    auth.logout()

    session.refresh_all()
    statuses = sorted((m.organisation.name, m.status) for m in learner.memberships)
    assert statuses == [("Elmina Fish Processors", "ended"), ("Ghana Employers' Association", "active")]
    assert learner.membership.organisation_id == eo.id
    assert count(session, AuditEntry, AuditEntry.action == "membership.approve") == 1
    auth.login("esi@example.org")
    assert "Ghana Employers&#39; Association" in client.get("/organisations/mine").data.decode()


def test_a_person_has_one_pending_request_at_a_time(client, auth, session):
    a = make_org(session, name="A")
    b = make_org(session, name="B")
    make_user(session, email="esi@example.org")
    session.commit()
    auth.login("esi@example.org")
    client.post(f"/organisations/{a.id}/join")
    client.post(f"/organisations/{b.id}/join")
    session.refresh_all()
    rows = session.execute(select(Membership.organisation_id, Membership.status).order_by(Membership.id)).all()
    assert rows == [(a.id, "ended"), (b.id, "pending")]


def test_sme_requests_new_organisation_and_parent_eo_approves(client, auth, session):
    eo = make_org(session, name="CGECI", country="CI")
    rival = make_org(session, name="Other EO", country="CI")
    make_user(session, email="eo.manager@example.org", org=eo, manager=True)
    make_user(session, email="rival.manager@example.org", org=rival, manager=True)
    make_user(session, email="owner@example.org", country="CI")
    session.commit()

    auth.login("owner@example.org")
    form = {"name": "Coopérative Ahoutoué", "kind": "sme", "country": "CI", "parent_id": str(eo.id),
            "sectors": ["cocoa"], "size_band": "small", "website": ""}
    # An SME must name its employers' organisation.
    page = client.post("/organisations/request", data={**form, "parent_id": "0"}).data.decode()
    assert "Choose the employers&#39; organisation" in page and 'value="Coopérative Ahoutoué"' in page
    assert count(session, Organisation, Organisation.status == "pending") == 0
    assert client.post("/organisations/request", data=form).status_code == 302
    auth.logout()
    session.refresh_all()
    new = session.scalar(select(Organisation).where(Organisation.status == "pending"))
    assert new.parent_id == eo.id and new.sectors == ["cocoa"]

    auth.login("rival.manager@example.org")
    assert client.post(f"/organisations/{new.id}/approve").status_code == 403
    auth.logout()
    auth.login("eo.manager@example.org")
    assert "Coopérative Ahoutoué" in client.get("/organisations/requests").data.decode()
    assert client.post(f"/organisations/{new.id}/approve").status_code == 302
    session.refresh_all()
    owner = session.scalar(select(Membership).where(Membership.organisation_id == new.id))
    assert new.status == "active" and owner.status == "active" and owner.role == "manager"


def _csv(text: str):
    return {"file": (io.BytesIO(text.encode()), "members.csv")}


def test_csv_import_with_a_bad_row_changes_nothing_and_names_the_row(client, auth, session):
    org = make_org(session, name="CONFIEP", country="PE")
    make_user(session, email="manager@example.org", org=org, manager=True)
    session.commit()
    auth.login("manager@example.org")
    before = (count(session, Invitation), count(session, OutboxMessage), count(session, AuditEntry))
    response = client.post(f"/organisations/{org.id}/import", data=_csv(
        "email,name,role\nrosa@example.org,Rosa Quispe,member\nnot-an-email,Luis,member\nana@example.org,Ana,boss\n"
    ), content_type="multipart/form-data")
    page = response.data.decode()
    assert response.status_code == 422
    assert "Nothing was imported" in page
    cell = r"<td[^>]*>"  # cells carry their column's name (data-label) for phones
    assert re.search(rf"{cell}3</td>{cell}not-an-email</td>.*?is not a valid email address", page, re.S)
    assert re.search(rf"{cell}4</td>{cell}ana@example.org</td>.*?The role must be member or manager", page, re.S)
    session.refresh_all()
    assert (count(session, Invitation), count(session, OutboxMessage), count(session, AuditEntry)) == before


def test_csv_import_invites_everyone(client, auth, session):
    org = make_org(session, name="CONFIEP", country="PE")
    make_user(session, email="manager@example.org", org=org, manager=True)
    make_user(session, email="already@example.org", org=org)
    session.commit()
    auth.login("manager@example.org")
    response = client.post(f"/organisations/{org.id}/import", data=_csv(
        "\ufeffEmail;Name;Role\nRosa@Example.org;Rosa Quispe;manager\nluis@example.org;;\nalready@example.org;x;member\n"
    ), content_type="multipart/form-data")
    assert response.status_code == 200
    session.refresh_all()
    invited = session.execute(select(Invitation.email, Invitation.role).order_by(Invitation.email)).all()
    assert invited == [("luis@example.org", "member"), ("rosa@example.org", "manager")]
    assert count(session, OutboxMessage) == 2
    # each invitation has its own email, with a link that opens it, and its audit entry
    ids = dict(session.execute(select(Invitation.email, Invitation.id)).all())
    audited = session.execute(select(AuditEntry.target_id).where(AuditEntry.action == "invitation.create")).scalars()
    assert sorted(audited) == sorted(ids.values())
    for email in ids:
        body = session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.to_addr == email))
        link = re.search(r"https?://[^/\s]+(/\S*invitations/\S+)", body).group(1)
        assert client.get(link).status_code == 200


def test_csv_import_rejects_duplicates_and_unknown_columns(client, auth, session):
    org = make_org(session)
    make_user(session, email="manager@example.org", org=org, manager=True)
    session.commit()
    auth.login("manager@example.org")
    page = client.post(f"/organisations/{org.id}/import", data=_csv("email\na@example.org\nA@example.org\n"),
                       content_type="multipart/form-data").data.decode()
    assert "already on line 2" in page
    page = client.post(f"/organisations/{org.id}/import", data=_csv("email,phone\na@example.org,1\n"),
                       content_type="multipart/form-data").data.decode()
    assert "Unknown columns: phone" in page and "Nothing was imported" in page
    assert count(session, Invitation) == 0


def test_invitation_accepted_after_signup(app, client, auth, session):
    org = make_org(session, name="ECOT", country="TH")
    make_user(session, email="manager@example.org", org=org, manager=True)
    session.commit()
    auth.login("manager@example.org")
    client.post(f"/organisations/{org.id}/invite", data={"email": "Siriporn@example.org", "name": "Siriporn", "role": "member"})
    auth.logout()
    body = session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.to_addr == "siriporn@example.org"))
    token = re.search(r"/organisations/invitations/(\S+)", body).group(1)
    page = client.get(f"/organisations/invitations/{token}").data.decode()
    assert "Create an account" in page
    r = client.post("/account/signup", data={"name": "Siriporn Saetang", "email": "siriporn@example.org",
                                              "password": "shrimp peeling shed", "country": "TH", "sex": "female",
                                              "language": "en", "invitation": token})
    assert r.status_code == 302 and token in r.location
    assert client.post(f"/organisations/invitations/{token}").status_code == 302
    session.refresh_all()
    member = session.scalar(select(Membership).where(Membership.organisation_id == org.id, Membership.role == "member"))
    assert member.status == "active" and member.user.email == "siriporn@example.org"
    # Used once.
    assert client.get(f"/organisations/invitations/{token}").status_code == 410


def test_secretariat_creates_edits_and_merges(client, auth, session):
    make_user(session, email="sec@example.org", role="secretariat")
    eo = make_org(session, name="FEC", country="CD", sectors=["mining"])
    session.commit()
    auth.login("sec@example.org")
    form = {"name": "Fédération des Entreprises du Congo", "kind": "employers_organisation", "country": "CD",
            "sectors": ["mining", "services"], "size_band": "", "parent_id": "", "is_alliance_partner": "y",
            "website": "https://fec.example"}
    assert client.post("/organisations/new", data=form).status_code == 302
    dup = session.scalar(select(Organisation).where(Organisation.name == form["name"]))
    assert dup.sectors == ["mining", "services"] and dup.is_alliance_partner
    sme = make_org(session, name="Kolwezi Logistique", kind="sme", parent=dup)
    member = make_user(session, org=dup)
    session.commit()
    # Neither an organisation nor one of its own members can be its parent.
    page = client.post(f"/organisations/{dup.id}/edit", data={**form, "parent_id": str(sme.id)}).data.decode()
    assert "An organisation cannot be its own parent." in page
    page = client.post(f"/organisations/{dup.id}/edit", data={**form, "parent_id": str(dup.id)}).data.decode()
    assert "An organisation cannot be its own parent." in page
    assert client.post(f"/organisations/{dup.id}/merge", data={"target_id": str(eo.id), "confirm": "y"}).status_code == 302
    session.refresh_all()
    assert dup.status == "merged" and dup.merged_into_id == eo.id
    assert sme.parent_id == eo.id
    assert member.membership.organisation_id == eo.id
    assert count(session, AuditEntry, AuditEntry.action == "organisation.merge") == 1


def test_manager_of_other_org_cannot_decide(client, auth, session):
    a = make_org(session, name="A")
    b = make_org(session, name="B")
    make_user(session, email="mb@example.org", org=b, manager=True)
    applicant = make_user(session)
    request = make_join_request(session, applicant, a)
    session.commit()
    auth.login("mb@example.org")
    assert client.post(f"/organisations/memberships/{request.id}/approve").status_code == 403
    assert client.get(f"/organisations/{a.id}/members").status_code == 403
    session.refresh_all()
    assert session.get(Membership, request.id).status == "pending"
