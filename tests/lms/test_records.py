"""Completion records, certificates, verification, transcripts and revocation."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import segno
from sqlalchemy import func, select

from lms.accounts.models import AuditEntry
from lms.db import utcnow
from lms.orgs.services import activate_membership
from lms.records import pdf as pdf_module
from lms.records.models import CompletionRecord
from lms.records.pdf import certificate_pdf, to_latin1
from lms.records.services import (
    CODE_ALPHABET, add_months, normalise_code, record_completion, records_for_organisation, redate, reinstate,
    revocation_cause, revoke, transcript,
)
from tests.factories import make_join_request, make_org, make_user

ISSUER = "Alliance 8.7 Learning"
CODE = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")

import pypdf
import zxingcpp


def complete(session, user, title="Due diligence essentials for SMEs", **fields):
    values = dict(item_type="course", item_id=1, item_key="due-diligence-essentials", item_version=1,
                  item_title=title, issuer=ISSUER)
    values.update(fields)
    return record_completion(session, user, **values)


def move(session, user, org):
    activate_membership(session, make_join_request(session, user, org), None)


# -- snapshots ----------------------------------------------------------------------

def test_record_keeps_the_organisation_of_the_moment(session):
    federation = make_org(session, name="Federation", kind="employers_organisation")
    eo_a = make_org(session, name="Ghana Employers' Association", kind="employers_organisation", parent=federation)
    sme_a = make_org(session, name="Kumasi Cocoa Traders", kind="sme", parent=eo_a)
    org_b = make_org(session, name="Lima Textiles", kind="large_enterprise", country="PE")
    learner = make_user(session, name="Akosua Mensah", org=sme_a)
    record = complete(session, learner, score=85.0, language="en")
    session.commit()

    move(session, learner, org_b)
    sme_a.name = "Kumasi Cocoa Traders Ltd"  # later changes to the organisation do not reach the record
    sme_a.kind = "large_enterprise"
    sme_a.parent = federation
    session.commit()
    session.refresh_all()

    record = session.get(CompletionRecord, record.id)
    assert learner.organisation.id == org_b.id
    assert (record.organisation_id, record.organisation_kind, record.organisation_name) == (
        sme_a.id, "sme", "Kumasi Cocoa Traders")
    assert (record.parent_organisation_id, record.parent_organisation_kind) == (eo_a.id, "employers_organisation")
    assert (record.person_key, record.person_name, record.user_id) == (learner.person_key, "Akosua Mensah", learner.id)
    assert (record.item_key, record.item_version, record.score, record.language) == (
        "due-diligence-essentials", 1, 85.0, "en")

    second = complete(session, learner, title="Evaluating MSIs", item_id=2, item_key="msi")
    assert (second.organisation_id, second.organisation_kind, second.parent_organisation_id) == (
        org_b.id, "large_enterprise", None)


def test_sex_and_country_are_snapshots(session):
    org = make_org(session)
    aicha = make_user(session, name="Aïcha Traoré", org=org, sex="female", country="CI")
    unknown = make_user(session, name="João Silva", country=None, sex=None)
    first = complete(session, aicha)
    none = complete(session, unknown)
    aicha.sex, aicha.country = "other", "SN"
    session.commit()
    session.refresh_all()
    first = session.get(CompletionRecord, first.id)
    assert (first.sex, first.country) == ("female", "CI")
    later = complete(session, aicha, item_id=2)
    assert (later.sex, later.country) == ("other", "SN")
    none = session.get(CompletionRecord, none.id)
    assert (none.sex, none.country, none.organisation_id, none.organisation_kind) == (None, None, None, None)


# -- certificate codes --------------------------------------------------------------

def test_codes_are_readable_and_unique_over_1000_records(session):
    user = make_user(session)
    codes = [complete(session, user, item_id=i).certificate_code for i in range(1000)]
    session.commit()
    assert all(CODE.match(c) for c in codes), [c for c in codes if not CODE.match(c)][:3]
    assert len(set(codes)) == 1000
    assert not set("01OI") & set("".join(codes))
    assert session.scalar(select(func.count(func.distinct(CompletionRecord.certificate_code)))) == 1000


def test_codes_as_typed_are_normalised():
    assert normalise_code(" abcd efgh-jklm ") == "ABCD-EFGH-JKLM"
    assert normalise_code("ABCDEFGHJKLM") == "ABCD-EFGH-JKLM"
    assert normalise_code("ABCD-EFGH-JKL0") is None  # 0 is never used
    assert normalise_code("ABCD-EFGH") is None
    assert normalise_code("") is None and normalise_code(None) is None


# -- expiry -------------------------------------------------------------------------

@pytest.mark.parametrize("start,months,end", [
    ("2024-01-31", 1, "2024-02-29"),
    ("2023-01-31", 1, "2023-02-28"),
    ("2024-02-29", 12, "2025-02-28"),
    ("2024-11-15", 3, "2025-02-15"),
    ("2024-03-31", 24, "2026-03-31"),
    ("2024-08-31", 1, "2024-09-30"),
])
def test_calendar_months(start, months, end):
    moment = datetime.fromisoformat(start + "T10:30:00+00:00")
    assert add_months(moment, months) == datetime.fromisoformat(end + "T10:30:00+00:00")


def test_expiry_follows_the_validity_period(session):
    user = make_user(session)
    done = datetime(2024, 1, 31, 9, 0, tzinfo=timezone.utc)
    expiring = complete(session, user, completed_at=done, validity_months=13)
    lasting = complete(session, user, item_id=2, completed_at=done)
    recent = complete(session, user, item_id=3, validity_months=24)
    session.commit()
    session.refresh_all()
    expiring = session.get(CompletionRecord, expiring.id)
    assert expiring.completed_at == done
    assert expiring.expires_at == datetime(2025, 2, 28, 9, 0, tzinfo=timezone.utc)
    assert not expiring.is_valid
    assert session.get(CompletionRecord, lasting.id).expires_at is None and lasting.is_valid
    assert recent.is_valid and recent.expires_at > utcnow() + timedelta(days=700)


def test_naive_completion_time_is_refused(session):
    user = make_user(session)
    with pytest.raises(ValueError):
        complete(session, user, completed_at=datetime(2024, 1, 1))


# -- transcripts and organisation records ----------------------------------------------

def test_revocation_cause_reinstatement_and_a_new_date_are_audited(session):
    """What a feature that revokes by rule needs (workshops: a roster correction)."""
    officer = make_user(session, role="secretariat")
    user = make_user(session)
    record = complete(session, user, completed_at=datetime(2025, 1, 31, 10, tzinfo=timezone.utc), validity_months=1)
    assert record.expires_at == datetime(2025, 2, 28, 10, tzinfo=timezone.utc)
    assert revocation_cause(session, record) is None
    revoke(session, record, "Issued in error.", officer, cause="attendance_corrected")
    assert revocation_cause(session, record) == "attendance_corrected"
    reinstate(session, record, officer, why="test")
    assert record.revoked_at is None and record.revoked_reason is None and revocation_cause(session, record) is None
    revoke(session, record, "Answers were shared.", officer)  # a person's revocation: no cause
    assert revocation_cause(session, record) is None
    reinstate(session, record, officer)

    # A new date carries the validity period with it, in calendar months.
    redate(session, record, datetime(2025, 3, 31, 10, tzinfo=timezone.utc), officer)
    assert (record.completed_at, record.expires_at) == (datetime(2025, 3, 31, 10, tzinfo=timezone.utc),
                                                        datetime(2025, 4, 30, 10, tzinfo=timezone.utc))
    redate(session, record, datetime(2025, 3, 31, 10, tzinfo=timezone.utc), officer)  # the same date: nothing
    with pytest.raises(ValueError):
        redate(session, record, datetime(2025, 3, 1), officer)
    session.flush()
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.target_id == record.id)
                              .order_by(AuditEntry.id)).all()
    assert actions == ["certificate.revoke", "certificate.reinstate", "certificate.revoke", "certificate.reinstate",
                       "certificate.redate"]
    detail = session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "certificate.redate"))
    assert "2025-01-31 10:00:00+00:00" in detail and "2025-03-31 10:00:00+00:00" in detail


def test_transcript_and_organisation_records(session):
    eo = make_org(session, name="EO", kind="employers_organisation")
    sme = make_org(session, name="SME", kind="sme", parent=eo)
    other = make_org(session, name="Other EO", kind="employers_organisation")
    member = make_user(session, org=sme)
    staff = make_user(session, org=eo)
    outsider = make_user(session, org=other)
    old = complete(session, member, completed_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    new = complete(session, member, item_id=2, completed_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    own = complete(session, staff)
    theirs = complete(session, outsider)
    session.commit()
    assert [r.id for r in transcript(session, member)] == [new.id, old.id]
    assert {r.id for r in records_for_organisation(session, eo)} == {old.id, new.id, own.id}
    assert {r.id for r in records_for_organisation(session, eo, include_members=False)} == {own.id}
    assert {r.id for r in records_for_organisation(session, sme)} == {old.id, new.id}
    assert [r.id for r in records_for_organisation(session, other)] == [theirs.id]


# -- the PDF ----------------------------------------------------------------------------

def fake_record(name, **fields):
    values = dict(person_name=name, item_title="Due diligence essentials for SMEs", item_version=3,
                  item_type="course", completed_at=datetime(2025, 3, 4, tzinfo=timezone.utc),
                  expires_at=datetime(2027, 3, 4, tzinfo=timezone.utc), issuer=ISSUER,
                  certificate_code="ABCD-EFGH-JKLM", score=90.0)
    values.update(fields)
    return SimpleNamespace(**values)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def qr_png(url: str):
    from PIL import Image

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=10, border=4)
    return Image.open(io.BytesIO(buffer.getvalue()))


def embedded_images(data: bytes):
    return [image.image for image in pypdf.PdfReader(io.BytesIO(data)).pages[0].images]


@pytest.mark.parametrize("name", ["Aïcha Traoré", "João Gonçalves", "Đặng Thị Hồng"])
def test_certificate_pdf_has_the_facts_and_a_qr_code_to_the_verify_page(name):
    assert pdf_module.find_font() is not None, "no Unicode TrueType font: install Debian's fonts-dejavu-core"
    url = "https://learn.example.org/records/verify/ABCD-EFGH-JKLM"
    data = certificate_pdf(fake_record(name), url)
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    reader_pages = pypdf.PdfReader(io.BytesIO(data)).pages
    assert len(reader_pages) == 1
    box = reader_pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape
    assert round(float(box.width) / 72 * 25.4) == 297
    text = " ".join(pdf_text(data).split())
    for expected in (name, "Due diligence essentials for SMEs", "Version 3", ISSUER, "ABCD-EFGH-JKLM",
                     "Valid until", "2027"):
        assert expected in text, expected

    images = embedded_images(data)
    assert len(images) == 1
    qr = images[0]
    # The embedded image is exactly the QR code segno makes for the verify URL...
    assert qr.convert("L").tobytes() == qr_png(url).convert("L").tobytes()
    # ...and, where a decoder is installed, it reads back as that URL.
    assert [r.text for r in zxingcpp.read_barcodes(qr.convert("L"))] == [url]


def test_certificate_pdf_without_a_unicode_font_transliterates(monkeypatch):
    monkeypatch.setattr(pdf_module, "find_font", lambda: None)
    data = certificate_pdf(fake_record("Đặng Thị Aïcha", expires_at=None, score=None),
                           "http://localhost/records/verify/ABCD-EFGH-JKLM")
    assert data.startswith(b"%PDF-")
    text = " ".join(pdf_text(data).split())
    assert "Dang Thi Aïcha" in text and "Valid until" not in text
    assert to_latin1("Łódź — “Œuvre”") == 'Lódz - "OEuvre"'  # ó is Latin-1, ź is not


# -- pages ---------------------------------------------------------------------------

@pytest.fixture
def people(session):
    eo = make_org(session, name="Employers A", kind="employers_organisation")
    sme = make_org(session, name="SME A", kind="sme", parent=eo)
    learner = make_user(session, email="learner@example.org", name="Aïcha Traoré", org=sme, sex="female")
    make_user(session, email="manager@example.org", org=eo, manager=True)
    make_user(session, email="secretariat@example.org", role="secretariat")
    record = complete(session, learner, validity_months=24)
    session.commit()
    return SimpleNamespace(learner=learner, record=record, code=record.certificate_code)


@pytest.mark.sqlite_only
def test_verify_page_for_a_valid_certificate(client, people):
    response = client.get(f"/records/verify/{people.code}")
    page = response.data.decode()
    assert response.status_code == 200
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert "This certificate is valid." in page
    for fact in ("Aïcha Traoré", "Due diligence essentials for SMEs", ISSUER, people.code,
                 people.record.completed_at.strftime("%Y-%m-%d")):
        assert fact in page
    assert "Revoke" not in page and ".pdf" not in page  # a visitor sees neither
    # Typed loosely, the code still finds the certificate.
    loose = client.get(f"/records/verify/{people.code.lower().replace('-', '')}")
    assert loose.status_code == 302 and loose.location.endswith(f"/records/verify/{people.code}")


@pytest.mark.sqlite_only
def test_verify_form(client, people):
    assert 'name="code"' in client.get("/records/verify").data.decode()
    typed = client.get("/records/verify", query_string={"code": people.code.lower()})
    assert typed.status_code == 302 and typed.location.endswith(f"/records/verify/{people.code}")
    wrong = client.get("/records/verify", query_string={"code": "not a code"})
    assert wrong.status_code == 200 and "12 letters and digits" in wrong.data.decode()
    assert 'value="not a code"' in wrong.data.decode()


@pytest.mark.sqlite_only
def test_verify_page_for_an_unknown_certificate(client, people):
    for code in ("ABCD-EFGH-JKLM", "nonsense"):
        response = client.get(f"/records/verify/{code}")
        assert response.status_code == 404
        assert "No such certificate" in response.data.decode()
        assert "noindex" in response.headers["X-Robots-Tag"]


@pytest.mark.sqlite_only
def test_verify_page_for_an_expired_certificate(client, session, people):
    old = complete(session, people.learner, item_id=2, completed_at=datetime(2020, 5, 1, tzinfo=timezone.utc),
                   validity_months=12)
    session.commit()
    page = client.get(f"/records/verify/{old.certificate_code}").data.decode()
    assert "This certificate has expired." in page and "2021-05-01" in page


def test_revocation_only_by_the_secretariat_and_logged(client, auth, session, people):
    url = f"/records/certificates/{people.code}/revoke"
    for email in ("learner@example.org", "manager@example.org"):
        auth.login(email)
        assert client.post(url, data={"reason": "Mine"}).status_code == 403
        auth.logout()
    assert "/account/login" in client.post(url, data={"reason": "x"}).location

    auth.login("secretariat@example.org")
    page = client.get(f"/records/verify/{people.code}").data.decode()
    assert 'action="/records/certificates/' in page and 'name="reason"' in page
    missing = client.post(url, data={"reason": "  "})
    assert missing.status_code == 422 and "Give the reason for revoking" in missing.data.decode()
    session.refresh_all()
    assert session.get(CompletionRecord, people.record.id).revoked_at is None

    reason = "Final quiz answers were shared before the attempt."
    assert client.post(url, data={"reason": reason}).status_code == 302
    session.refresh_all()
    record = session.get(CompletionRecord, people.record.id)
    assert record.revoked_at is not None and record.revoked_reason == reason
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.revoke")).all()
    assert len(entries) == 1
    assert entries[0].target_id == record.id and entries[0].actor.email == "secretariat@example.org"
    assert reason in entries[0].detail
    # Revoking again changes nothing and logs nothing.
    assert client.post(url, data={"reason": "again"}).status_code == 302
    session.refresh_all()
    assert session.get(CompletionRecord, people.record.id).revoked_reason == reason
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "certificate.revoke")) == 1
    auth.logout()

    page = client.get(f"/records/verify/{people.code}").data.decode()
    assert "This certificate has been revoked." in page and reason in page
    auth.login("learner@example.org")
    assert client.get(f"/records/certificates/{people.code}.pdf").status_code == 410
    assert "Revoked" in client.get("/records/transcript").data.decode()


@pytest.mark.sqlite_only
def test_pdf_download(client, auth, people):
    auth.login("learner@example.org")
    response = client.get(f"/records/certificates/{people.code}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert "private" in response.headers["Cache-Control"]
    assert people.code in response.headers["Content-Disposition"]
    if pypdf is not None and pdf_module.find_font() is not None:
        assert "Aïcha Traoré" in pdf_text(response.data)
        qr = embedded_images(response.data)[0]
        assert qr.convert("L").tobytes() == qr_png(f"http://localhost/records/verify/{people.code}").convert("L").tobytes()
    assert client.get("/records/certificates/ABCD-EFGH-JKLM.pdf").status_code == 404


@pytest.mark.sqlite_only
def test_transcript_page(client, auth, session, people):
    auth.login("learner@example.org")
    complete(session, people.learner, title="Evaluating multi-stakeholder initiatives", item_id=2,
             completed_at=datetime(2020, 1, 1, tzinfo=timezone.utc), validity_months=12)
    session.commit()
    page = client.get("/records/transcript").data.decode()
    assert page.index("Due diligence essentials for SMEs") < page.index("Evaluating multi-stakeholder initiatives")
    assert f"/records/certificates/{people.code}.pdf" in page and f"/records/verify/{people.code}" in page
    assert "Expired on Jan 1, 2021" in page  # in the reader's language and time zone
    auth.logout()
    auth.login("manager@example.org")
    assert "You have not completed" in client.get("/records/transcript").data.decode()
