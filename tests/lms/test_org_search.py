"""Finding an organisation, accents and case aside, and not asking for one twice
(lms.orgs.search, the search and matching services, the join and request pages), on
SQLite and PostgreSQL."""
from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, insert, select

from lms.mail import OutboxMessage
from lms.orgs import services
from lms.orgs.models import Membership, Organisation
from lms.orgs.search import match_stems, search_key
from tests.factories import make_org, make_user


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def assert_search_names_right(session):
    session.expire_all()
    rows = session.execute(select(Organisation.name, Organisation.search_name)).all()
    assert rows and [(name, key) for name, key in rows if key != search_key(name)] == []


def names_in(page: str, section: str = "") -> list[str]:
    """The organisations linked to in a page (after the heading ``section``, if given)."""
    if section:
        page = page.split(section, 1)[1]
    return [html.unescape(n) for n in re.findall(r'<a href="/organisations/\d+/join">([^<]+)</a>', page)]


# -- the key ------------------------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    ("Coopérative Agricole Ahoutoué", "cooperative agricole ahoutoue"),
    ("CGECI", "cgeci"),
    ("São Paulo", "sao paulo"),
    ("Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)",
     "confederation generale des entreprises de cote d ivoire cgeci"),
    ("  Nuñez &  Hijos S.A.C. ", "nunez hijos sac"),
    ("Confecções Agreste—Pernambucano", "confeccoes agreste pernambucano"),
    ("Straße Øresund Œuvre", "strasse oresund oeuvre"),
    ("ＣＧＥＣＩ\u00a0Ltd", "cgeci ltd"),  # full-width letters, a no-break space
    ("Oʻzbekiston Savdo-sanoat palatasi", "o zbekiston savdo sanoat palatasi"),
    ("100%_Cocoa", "100 cocoa"),
    ("", ""),
    (None, ""),
])
def test_search_key(text, key):
    assert search_key(text) == key
    assert search_key(key) == key  # writing a key again changes nothing


def test_a_key_never_holds_a_like_wildcard_and_fits_its_column():
    assert set(search_key("a%b_c\\d/e*f?g[h]")) <= set("abcdefgh ")
    assert len(search_key("ﷺ" * 200)) <= 200


def test_match_stems_skip_common_words_and_shorten_long_ones():
    assert match_stems("Cooperativa de Cacao S.A.") == ["cooperati", "caca"]
    assert match_stems("FEC") == ["fec"]
    assert match_stems("La SARL") == []


# -- searching through the pages -------------------------------------------------------

def test_join_search_ignores_accents_case_and_punctuation(client, auth, session):
    coop = make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI")
    make_org(session, name="Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)", country="CI")
    make_org(session, name="Cafés São Paulo Ltda", kind="sme", country="BR")
    make_org(session, name="100% Cacao_Traders", kind="sme", country="CI")
    make_org(session, name="Coopérative Fermée", kind="sme", country="CI", status="merged")
    make_user(session, email="owner@example.org", country="CI")
    session.commit()
    auth.login("owner@example.org")

    def found(**query):
        page = client.get("/organisations/join", query_string={"country": "", **query})
        assert page.status_code == 200
        return names_in(page.data.decode())

    assert found(q="Cooperative") == ["Coopérative Agricole Ahoutoué"]
    assert found(q="COOPÉRATIVE ahoutoue") == ["Coopérative Agricole Ahoutoué"]
    assert found(q="cgeci") == ["Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)"]
    assert found(q="cote d’ivoire") == ["Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)"]
    assert found(q="Sao Paulo") == ["Cafés São Paulo Ltda"]
    assert found(q="sao paulo", country="BR") == ["Cafés São Paulo Ltda"]
    assert found(q="sao paulo", country="CI") == []
    # Every word, in any order; % and _ are no wildcards.
    assert found(q="ahoutoue cooperative") == ["Coopérative Agricole Ahoutoué"]
    assert found(q="100%") == ["100% Cacao_Traders"]
    assert found(q="cacao traders") == ["100% Cacao_Traders"]
    assert found(q="%_%", country="CI") == found(country="CI")
    # The person's country is the first filter, with the others sorted accents aside.
    assert found(country="CI") == ["100% Cacao_Traders", "Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)",
                                   "Coopérative Agricole Ahoutoué"]
    # The registry page searches the same way.
    make_user(session, email="sec@example.org", role="secretariat")
    session.commit()
    auth.logout()
    auth.login("sec@example.org")
    page = client.get("/organisations/", query_string={"q": "COOPERATIVE"}).data.decode()
    assert f'/organisations/{coop.id}">Coopérative Agricole Ahoutoué</a>' in page and "Fermée" not in page


def test_join_page_suggests_close_matches_before_a_new_request(client, auth, session):
    make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI")
    make_org(session, name="Coopérative Cacao Soubré", kind="sme", country="CI")
    make_org(session, name="Cooperativa Agraria Cafetalera", kind="sme", country="PE")
    make_org(session, name="Daloa Fèves Négoce", kind="sme", country="CI")
    make_user(session, email="owner@example.org", country="CI")
    session.commit()
    auth.login("owner@example.org")

    # A typo and Spanish for French: nothing has every word, but close matches do.
    page = client.get("/organisations/join", query_string={"q": "Cooperativa Ahoutue", "country": "CI"}).data.decode()
    assert "No organisation matches your search." in page
    assert names_in(page, "Close matches") == ["Coopérative Agricole Ahoutoué", "Coopérative Cacao Soubré"]
    assert page.index("Close matches") < page.index("Not listed?")
    # "Not listed?" carries what was typed to the request form.
    link = re.search(r'href="(/organisations/request\?[^"]+)"', page).group(1)
    form = client.get(html.unescape(link)).data.decode()
    assert 'value="Cooperativa Ahoutue"' in form and '<option selected value="CI">' in form

    # What the search shows is not offered again, and a search that finds plenty offers nothing.
    page = client.get("/organisations/join", query_string={"q": "soubre", "country": "CI"}).data.decode()
    assert names_in(page) == ["Coopérative Cacao Soubré"]
    assert "Close matches" not in page or "Coopérative Cacao Soubré" not in page.split("Close matches", 1)[1]
    for n in range(5):
        make_org(session, name=f"Coopérative {n}", kind="sme", country="CI")
    session.commit()
    page = client.get("/organisations/join", query_string={"q": "cooperative", "country": "CI"}).data.decode()
    assert "Close matches" not in page


# -- not asking twice ---------------------------------------------------------------------

def request_form(**fields):
    return {"name": "Cooperative agricole d'Ahoutoue", "kind": "sme", "country": "CI", "sectors": ["cocoa"],
            "size_band": "small", "website": "", **fields}


def test_a_near_duplicate_request_shows_the_matches_and_creates_nothing_until_confirmed(client, auth, session):
    eo = make_org(session, name="CGECI", country="CI")
    coop = make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI", parent=eo)
    make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="GH")
    make_user(session, email="eo.manager@example.org", org=eo, manager=True)
    make_user(session, email="owner@example.org", country="CI")
    session.commit()
    auth.login("owner@example.org")
    form = request_form(parent_id=str(eo.id))

    response = client.post("/organisations/request", data=form)
    page = response.data.decode()
    assert response.status_code == 200
    assert "Is it one of these?" in page
    assert names_in(page, "Is it one of these?") == ["Coopérative Agricole Ahoutoué"]  # not the one in Ghana
    assert f'href="/organisations/{coop.id}/join"' in page
    assert "value=\"Cooperative agricole d&#39;Ahoutoue\"" in page  # nothing typed is lost
    session.refresh_all()
    assert count(session, Organisation) == 3
    assert count(session, Membership, Membership.status == "pending") == 0
    assert count(session, OutboxMessage) == 0

    checked = re.search(r'name="checked" type="hidden" value="([^"]*)"', page).group(1)
    # Ticking the box without having seen the matches of this name is not enough ...
    page = client.post("/organisations/request", data={**form, "not_listed": "y", "checked": "CI:other"}).data.decode()
    assert "Is it one of these?" in page
    # ... nor is having seen those of another name.
    renamed = {**form, "name": "Coopérative Agricole Ahoutoué SARL", "checked": checked}
    page = client.post("/organisations/request", data={**renamed, "not_listed": "y"}).data.decode()
    assert "Is it one of these?" in page
    session.refresh_all()
    assert count(session, Organisation) == 3

    # Seen, and none of them: the request goes.
    response = client.post("/organisations/request", data={**form, "not_listed": "y", "checked": checked})
    assert response.status_code == 302
    session.refresh_all()
    new = session.scalar(select(Organisation).where(Organisation.status == "pending"))
    assert new.name == "Cooperative agricole d'Ahoutoue" and new.search_name == "cooperative agricole d ahoutoue"
    assert count(session, OutboxMessage, OutboxMessage.to_addr == "eo.manager@example.org") == 1


def test_a_request_with_no_close_match_goes_at_once(client, auth, session):
    eo = make_org(session, name="CGECI", country="CI")
    make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="GH")
    make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI", status="merged")
    make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI", status="rejected")
    make_org(session, name="Coopérative Agricole Daloa", kind="sme", country="CI")
    make_user(session, email="owner@example.org", country="CI")
    session.commit()
    auth.login("owner@example.org")
    assert client.post("/organisations/request", data=request_form(parent_id=str(eo.id))).status_code == 302


def test_possible_duplicates(session):
    eo = make_org(session, name="Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)", country="CI")
    coop = make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI", parent=eo)
    fec = make_org(session, name="FEC", country="CD")
    growers = make_org(session, name="Ashanti Cocoa Growers Ltd", kind="sme", country="GH")
    make_org(session, name="Coopérative Agricole Daloa", kind="sme", country="CI")
    make_org(session, name="Kumasi Cocoa Traders", kind="sme", country="GH")

    def dupes(name, country):
        return [o.name for o in services.possible_duplicates(session, name, country)]

    assert dupes("COOPERATIVE AGRICOLE AHOUTOUE", "CI") == [coop.name]  # the same name
    assert dupes("Cooperativa Agricola Ahoutoue", "CI") == [coop.name]  # word endings differ
    assert dupes("Ahoutoué", "CI") == [coop.name]  # its words are all there
    assert dupes("CGECI", "CI") == [eo.name]
    assert dupes("Fédération des Entreprises du Congo (FEC)", "CD") == [fec.name]  # an existing name within
    assert dupes("Ashanti Cocoa Growers", "GH") == [growers.name]
    assert dupes("Ashanti Cocoa Growers Limited Kumasi", "GH") == [growers.name]  # all but one telling word in four
    assert dupes("Coopérative Agricole Soubré", "CI") == []  # two names that share only common words
    assert dupes("Ahoutoué", "GH") == []
    assert dupes("SARL", "CI") == [] and dupes("!!", "CI") == []
    for n in range(8):
        make_org(session, name=f"Ahoutoué Transport {n}", kind="sme", country="CI")
    assert len(dupes("Ahoutoué", "CI")) == services.MATCH_LIMIT


def test_close_matches_rank_by_shared_words(session):
    make_org(session, name="Coopérative Cacao Soubré", kind="sme", country="CI")
    both = make_org(session, name="Coopérative Agricole Ahoutoué", kind="sme", country="CI")
    make_org(session, name="Daloa Fèves Négoce", kind="sme", country="CI")
    make_org(session, name="Cooperativa Agraria", kind="sme", country="PE")
    found = services.close_matches(session, "cooperativa ahoutue", "CI")
    assert [o.name for o in found] == ["Coopérative Agricole Ahoutoué", "Coopérative Cacao Soubré"]
    assert [o.name for o in services.close_matches(session, "cooperativa", "")] == [
        "Cooperativa Agraria", "Coopérative Agricole Ahoutoué", "Coopérative Cacao Soubré"]
    assert services.close_matches(session, "cooperativa ahoutue", "CI", exclude=[both.id])[0].name != both.name
    assert services.close_matches(session, "de la", "CI") == []


def test_search_to_join_suggests_only_when_the_search_finds_little(session):
    eo = make_org(session, name="CGECI", country="CI")
    make_org(session, name="Coopérative Cacao Soubré", kind="sme", country="CI", parent=eo)
    make_org(session, name="Soubré Cacao Transport SARL", kind="sme", country="CI", parent=eo)
    found = services.search_to_join(session, "soubre transport", "CI", "", 1, 20)
    assert [o.name for o in found.rows] == ["Soubré Cacao Transport SARL"] and found.total == 1
    assert [o.name for o in found.suggestions] == ["Coopérative Cacao Soubré"]
    assert found.suggestions[0].parent.name == "CGECI"
    assert services.search_to_join(session, "", "CI", "", 1, 20).suggestions == []
    for n in range(services.SUGGEST_BELOW):
        make_org(session, name=f"Soubré Transport {n}", kind="sme", country="CI")
    assert services.search_to_join(session, "soubre transport", "CI", "", 1, 20).suggestions == []


# -- the search name stays right ---------------------------------------------------------

def test_search_name_follows_every_write(client, auth, session):
    make_user(session, email="sec@example.org", role="secretariat")
    target = make_org(session, name="Fédération des Entreprises du Congo", country="CD")
    session.commit()
    auth.login("sec@example.org")
    form = {"name": "Kolwezi Minerais", "kind": "sme", "country": "CD", "sectors": ["mining"], "size_band": "",
            "parent_id": "", "website": ""}
    assert client.post("/organisations/new", data=form).status_code == 302
    session.refresh_all()
    org = session.scalar(select(Organisation).where(Organisation.name == "Kolwezi Minerais"))
    assert org.search_name == "kolwezi minerais"

    # Renamed, it is found by its new name, not its old one.
    assert client.post(f"/organisations/{org.id}/edit", data={**form, "name": "Kolwézi Minérais Logistique"}
                       ).status_code == 302
    session.refresh_all()
    assert org.search_name == "kolwezi minerais logistique"
    assert client.get("/organisations/", query_string={"q": "minerais logistique"}).data.decode().count(
        f'/organisations/{org.id}"') == 1
    org.name = "Kolwezi Cobalt"  # any write through the ORM
    session.commit()
    assert session.scalar(select(Organisation.search_name).where(Organisation.id == org.id)) == "kolwezi cobalt"

    # Merged, the target keeps its name and key and the source leaves the search.
    assert client.post(f"/organisations/{org.id}/merge", data={"target_id": str(target.id), "confirm": "y"}
                       ).status_code == 302
    page = client.get("/organisations/", query_string={"q": "federation congo"}).data.decode()
    assert f'/organisations/{target.id}"' in page
    assert f'/organisations/{org.id}"' not in client.get("/organisations/", query_string={"q": "cobalt"}).data.decode()

    # Importing members touches no name.
    session.refresh_all()
    make_user(session, email="manager@example.org", org=target, manager=True)
    session.commit()
    auth.logout()
    auth.login("manager@example.org")
    assert client.post(f"/organisations/{target.id}/import", data={
        "file": (io.BytesIO(b"email,name\nrosa@example.org,Rosa\n"), "members.csv")},
        content_type="multipart/form-data").status_code == 200

    # A request for a new organisation.
    auth.logout()
    make_user(session, email="owner@example.org", country="PE")
    session.commit()
    auth.login("owner@example.org")
    assert client.post("/organisations/request", data=request_form(
        name="Café de Altura Chanchamayo S.A.C.", kind="ngo", country="PE")).status_code == 302
    session.refresh_all()
    assert session.scalar(select(Organisation.search_name).where(Organisation.status == "pending")) == \
        "cafe de altura chanchamayo sac"
    assert_search_names_right(session)


def test_core_inserts_get_their_search_name(session):
    """Bulk rows written without the ORM (as the large demo writes them) get theirs from
    the column's default, row by row."""
    names = ["Coopérative Ahoutoué", "São Paulo Cafés", "ÉCOT"]
    session.execute(insert(Organisation), [
        {"name": name, "kind": "sme", "country": "CI", "is_alliance_partner": False, "status": "active"}
        for name in names])
    session.execute(insert(Organisation).returning(Organisation.id, sort_by_parameter_order=True), [
        {"name": name.upper(), "kind": "sme", "country": "BR", "is_alliance_partner": False, "status": "active"}
        for name in names])
    session.commit()
    assert sorted(session.scalars(select(Organisation.search_name))) == sorted(
        ["cooperative ahoutoue", "sao paulo cafes", "ecot"] * 2)
    assert_search_names_right(session)
