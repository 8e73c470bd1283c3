"""The sector module for a learner's organisation's sector: which courses count as one,
who is offered which, and where the pages show them (a course that is not a module, and
its last lesson)."""
from __future__ import annotations

from flask_login import AnonymousUserMixin

from courses.services import is_sector_module, sector_modules_for
from tests.factories import make_course, make_org, make_user
from tests.support.accounts import login

CORE_SECTORS = ["mining", "cocoa", "coffee", "cotton_garment", "fishing", "agriculture_other", "manufacturing",
                "services"]


def _course(session, slug, sectors, **fields):
    course = make_course(session, slug=slug, published=fields.pop("published", True))
    course.current_version.sectors = sectors
    for key, value in fields.items():
        setattr(course.current_version, key, value)
    return course


def _world(session):
    core = _course(session, "core", CORE_SECTORS)
    cocoa = _course(session, "module-cocoa", ["cocoa"])
    fishing = _course(session, "module-fishing", ["fishing"])
    _course(session, "module-cocoa-hidden", ["cocoa"], published=False)
    _course(session, "module-cocoa-fr", ["cocoa"], language="fr")
    _course(session, "two-sectors", ["cocoa", "coffee"])
    eo = make_org(session, name="Ghana Employers' Association", sectors=CORE_SECTORS)
    sme = make_org(session, name="Ashanti Cocoa Growers", kind="sme", parent=eo, sectors=["cocoa"])
    grower = make_user(session, email="grower@example.org", org=sme)
    adviser = make_user(session, email="adviser@example.org", org=eo)
    loner = make_user(session, email="loner@example.org")
    session.commit()
    return core, cocoa, fishing, grower, adviser, loner


def test_a_module_is_a_course_for_one_sector(session):
    core, cocoa, *_ = _world(session)
    assert is_sector_module(cocoa) and not is_sector_module(core)


def test_each_learner_is_offered_the_modules_of_their_organisations_sectors(session):
    core, cocoa, fishing, grower, adviser, loner = _world(session)
    # one sector: its module, published, in the language asked; never the core course or a two-sector course
    assert [c.slug for c in sector_modules_for(session, grower, language="en")] == ["module-cocoa"]
    assert [c.slug for c in sector_modules_for(session, grower, language="fr")] == ["module-cocoa-fr"]
    assert {c.slug for c in sector_modules_for(session, grower)} == {"module-cocoa", "module-cocoa-fr"}
    # an employers' organisation of every sector: every module there is, in title order
    assert [c.slug for c in sector_modules_for(session, adviser, language="en")] == ["module-cocoa", "module-fishing"]
    assert sector_modules_for(session, adviser, language="en", exclude=cocoa) == [fishing]
    # nobody to match: no organisation, or a visitor
    assert sector_modules_for(session, loner) == []
    assert sector_modules_for(session, AnonymousUserMixin()) == []


def test_an_organisation_whose_sector_has_no_module_is_offered_none(session):
    _course(session, "module-cocoa", ["cocoa"])
    org = make_org(session, kind="sme", sectors=["manufacturing"])
    learner = make_user(session, org=org)
    session.commit()
    assert sector_modules_for(session, learner) == []


def test_the_course_page_and_its_last_lesson_point_to_the_module(client, session):
    _world(session)
    login(client, "grower@example.org")
    client.post("/courses/core/enrol")
    page = client.get("/courses/core").data.decode()
    assert "For your organisation's sector" in page
    assert 'href="/courses/module-cocoa"' in page
    assert 'href="/courses/module-fishing"' not in page and 'href="/courses/module-cocoa-fr"' not in page
    assert 'href="/courses/module-cocoa"' not in client.get("/courses/core/lessons/1").data.decode()
    last = client.get("/courses/core/lessons/3").data.decode()
    assert 'href="/courses/module-cocoa"' in last and "Course module-cocoa" in last
    # a module's own page and lessons do not send its learners on to another module
    client.post("/courses/module-cocoa/enrol")
    assert "For your organisation's sector" not in client.get("/courses/module-cocoa").data.decode()
    assert "For your organisation's sector" not in client.get("/courses/module-cocoa/lessons/3").data.decode()


def test_no_box_without_an_organisation_or_when_signed_out(client, session):
    _world(session)
    assert "For your organisation's sector" not in client.get("/courses/core").data.decode()
    login(client, "loner@example.org")
    assert "For your organisation's sector" not in client.get("/courses/core").data.decode()


def test_the_shipped_core_course_points_each_sector_to_its_shipped_module(client, session, shipped_content):
    modules = {"cocoa": "sector-cocoa", "coffee": "sector-coffee", "cotton_garment": "sector-cotton-garment",
               "fishing": "sector-fishing", "mining": "sector-mining"}
    for sector, slug in modules.items():
        org = make_org(session, kind="sme", sectors=[sector])
        make_user(session, email=f"{sector}@example.org", org=org)
    session.commit()
    for sector, slug in modules.items():
        login(client, f"{sector}@example.org")
        page = client.get("/courses/due-diligence-essentials").data.decode()
        shown = {s for s in modules.values() if f'href="/courses/{s}"' in page}
        assert shown == {slug}, (sector, shown)
        client.post("/account/logout")

